#include "smmuv3tlm/models/handover/dma_monitor.h"

#include <algorithm>

namespace smmuv3tlm::handover {

DmaMonitor::DmaMonitor(const sc_core::sc_module_name& name, const HandoverController* controller)
    : sc_core::sc_module(name), upstream("upstream"), downstream("downstream"), controller_(controller) {
  upstream.register_b_transport(this, &DmaMonitor::b_transport);
  upstream.register_transport_dbg(this, &DmaMonitor::transport_dbg);
  // No DMI: every access goes through b_transport, so none escapes the count.
}

void DmaMonitor::b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
  downstream->b_transport(trans, delay);
  trans.set_dmi_allowed(false);
  PhaseDma& p = phases_[static_cast<std::size_t>(controller_ != nullptr ? controller_->phase() : Phase::Running)];
  const sc_core::sc_time at = sc_core::sc_time_stamp() + delay;  // the master's local time at completion
  if (trans.is_response_ok()) {
    ++p.completed;
    if (seen_ok_ && at > last_ok_) p.longest_gap = std::max(p.longest_gap, at - last_ok_);
    seen_ok_ = true;
    last_ok_ = at;
  } else {
    ++p.failed;
  }
}

std::uint64_t DmaMonitor::completed() const {
  std::uint64_t n = 0;
  for (const PhaseDma& p : phases_) n += p.completed;
  return n;
}

std::uint64_t DmaMonitor::failed() const {
  std::uint64_t n = 0;
  for (const PhaseDma& p : phases_) n += p.failed;
  return n;
}

sc_core::sc_time DmaMonitor::longest_gap() const {
  sc_core::sc_time g;
  for (const PhaseDma& p : phases_) g = std::max(g, p.longest_gap);
  return g;
}

}  // namespace smmuv3tlm::handover
