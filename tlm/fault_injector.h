// A passthrough that answers chosen transactions with an error instead of
// forwarding them: bus errors on demand, to test how the initiator above
// reports and recovers from them. Each rule matches transactions by a
// predicate, lets `skip` matches pass, then fails the next `count`. While a
// rule still has errors to inject, DMI is refused (and every window granted
// through here withdrawn), so no access can go around the injector.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

namespace smmuv3tlm::tlm_ext {

class FaultInjector : public sc_core::sc_module {
 public:
  using Match = std::function<bool(const tlm::tlm_generic_payload&)>;
  struct Rule {
    std::string name;
    Match match;
    std::uint64_t skip = 0;   // matching transactions forwarded before the first error
    std::uint64_t count = 1;  // errors to inject
    tlm::tlm_response_status status = tlm::TLM_GENERIC_ERROR_RESPONSE;
  };
  struct RuleState {
    Rule rule;
    std::uint64_t matched = 0;   // transactions the predicate accepted
    std::uint64_t injected = 0;  // of those, answered with rule.status
    bool armed() const { return injected < rule.count; }
  };

  tlm_utils::simple_target_socket<FaultInjector> in;
  tlm_utils::simple_initiator_socket<FaultInjector> out;

  explicit FaultInjector(const sc_core::sc_module_name& name);

  // Returns the rule's index for rule(). Withdraws DMI granted through here.
  std::size_t arm(Rule rule);
  void disarm_all();
  const RuleState& rule(std::size_t index) const { return rules_.at(index); }
  const std::vector<RuleState>& rules() const { return rules_; }
  bool armed() const;
  std::uint64_t injected() const;

 private:
  void b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  bool get_direct_mem_ptr(tlm::tlm_generic_payload& trans, tlm::tlm_dmi& dmi);
  unsigned transport_dbg(tlm::tlm_generic_payload& trans);
  void invalidate_direct_mem_ptr(sc_dt::uint64 start, sc_dt::uint64 end);

  std::vector<RuleState> rules_;
  std::size_t armed_rules_ = 0;  // rules with errors left: the pass-through fast path when 0
};

}  // namespace smmuv3tlm::tlm_ext
