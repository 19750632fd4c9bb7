// Test helper: while a ReportCapture is alive, SystemC warnings and errors are
// collected instead of failing the test, and errors do not throw. Outside one,
// every warning fails the test and every error throws (the SystemC default).
#pragma once

#include <string>
#include <vector>

#include <systemc>

namespace smmuv3tlm::testing {

struct CapturedReport {
  sc_core::sc_severity severity;
  std::string type;
  std::string message;
};

class ReportCapture {
 public:
  ReportCapture();
  ~ReportCapture();
  ReportCapture(const ReportCapture&) = delete;
  ReportCapture& operator=(const ReportCapture&) = delete;

  const std::vector<CapturedReport>& reports() const { return reports_; }
  // Number of captured reports of at least `severity` whose type starts with `type_prefix`.
  std::size_t count(sc_core::sc_severity severity, const std::string& type_prefix = "") const;

 private:
  friend void record_report(const sc_core::sc_report&);
  std::vector<CapturedReport> reports_;
};

// Installed by sc_main.
void install_test_report_handler();

}  // namespace smmuv3tlm::testing
