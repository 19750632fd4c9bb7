#include "smmuv3tlm/tests/integration/report_capture.h"

#include <gtest/gtest.h>

namespace smmuv3tlm::testing {

void record_report(const sc_core::sc_report& report);

namespace {
ReportCapture* active_capture = nullptr;

void test_report_handler(const sc_core::sc_report& report, const sc_core::sc_actions& actions) {
  if (report.get_severity() == sc_core::SC_INFO) {
    sc_core::sc_report_handler::default_handler(report, actions);
    return;
  }
  if (active_capture != nullptr) {
    record_report(report);
    return;
  }
  if (report.get_severity() == sc_core::SC_WARNING) {
    ADD_FAILURE() << "SystemC warning [" << report.get_msg_type() << "] " << report.get_msg();
  }
  sc_core::sc_report_handler::default_handler(report, actions);
}
}  // namespace

void record_report(const sc_core::sc_report& report) {
  active_capture->reports_.push_back(
      CapturedReport{report.get_severity(), report.get_msg_type(), report.get_msg()});
}

ReportCapture::ReportCapture() { active_capture = this; }
ReportCapture::~ReportCapture() { active_capture = nullptr; }

std::size_t ReportCapture::count(sc_core::sc_severity severity, const std::string& type_prefix) const {
  std::size_t n = 0;
  for (const auto& r : reports_) {
    if (r.severity >= severity && r.type.rfind(type_prefix, 0) == 0) ++n;
  }
  return n;
}

void install_test_report_handler() { sc_core::sc_report_handler::set_handler(test_report_handler); }

}  // namespace smmuv3tlm::testing
