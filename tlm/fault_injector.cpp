#include "smmuv3tlm/tlm/fault_injector.h"

#include <algorithm>
#include <utility>

namespace smmuv3tlm::tlm_ext {

FaultInjector::FaultInjector(const sc_core::sc_module_name& name) : sc_core::sc_module(name), in("in"), out("out") {
  in.register_b_transport(this, &FaultInjector::b_transport);
  in.register_get_direct_mem_ptr(this, &FaultInjector::get_direct_mem_ptr);
  in.register_transport_dbg(this, &FaultInjector::transport_dbg);
  out.register_invalidate_direct_mem_ptr(this, &FaultInjector::invalidate_direct_mem_ptr);
}

std::size_t FaultInjector::arm(Rule rule) {
  rules_.push_back(RuleState{std::move(rule)});
  if (rules_.back().armed()) {
    ++armed_rules_;
    // Windows granted earlier would let accesses bypass the rule (none can
    // have been granted before the simulation starts, nor can the port be used).
    if (sc_core::sc_start_of_simulation_invoked()) in->invalidate_direct_mem_ptr(0, ~sc_dt::uint64{0});
  }
  return rules_.size() - 1;
}

void FaultInjector::disarm_all() {
  for (RuleState& r : rules_) r.rule.count = r.injected;
  armed_rules_ = 0;
}

bool FaultInjector::armed() const { return armed_rules_ != 0; }

std::uint64_t FaultInjector::injected() const {
  std::uint64_t total = 0;
  for (const RuleState& r : rules_) total += r.injected;
  return total;
}

void FaultInjector::b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
  if (armed_rules_ != 0) {
    for (RuleState& r : rules_) {
      if (!r.armed() || !r.rule.match(trans)) continue;
      if (r.matched++ < r.rule.skip) continue;
      ++r.injected;
      if (!r.armed()) --armed_rules_;
      trans.set_response_status(r.rule.status);  // the target is never reached
      return;
    }
  }
  out->b_transport(trans, delay);
}

bool FaultInjector::get_direct_mem_ptr(tlm::tlm_generic_payload& trans, tlm::tlm_dmi& dmi) {
  if (armed_rules_ != 0) {
    // LRM: a refusal describes the whole address space and grants no access.
    dmi.set_start_address(0);
    dmi.set_end_address(~sc_dt::uint64{0});
    dmi.allow_none();
    return false;
  }
  return out->get_direct_mem_ptr(trans, dmi);
}

unsigned FaultInjector::transport_dbg(tlm::tlm_generic_payload& trans) { return out->transport_dbg(trans); }

void FaultInjector::invalidate_direct_mem_ptr(sc_dt::uint64 start, sc_dt::uint64 end) {
  in->invalidate_direct_mem_ptr(start, end);
}

}  // namespace smmuv3tlm::tlm_ext
