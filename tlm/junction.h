// A many-to-one TLM-2.0 junction: any number of initiators reach one target
// through it, e.g. the SMMU's downstream and table-walk sockets and a CPU sharing
// one memory. It forwards b_transport, DMI and debug accesses unchanged, passes
// DMI invalidations back to every initiator, and lets an observer see every
// b_transport with the index of the initiator that sent it (any number of
// observers: tests, checkers, trace recorders).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/multi_passthrough_target_socket.h>
#include <tlm_utils/simple_initiator_socket.h>

namespace smmuv3tlm::tlm_ext {

class Junction : public sc_core::sc_module {
 public:
  using Observer = std::function<void(int initiator, const tlm::tlm_generic_payload& trans)>;

  tlm_utils::multi_passthrough_target_socket<Junction> in;
  tlm_utils::simple_initiator_socket<Junction> out;

  explicit Junction(const sc_core::sc_module_name& name);

  // Called after each forwarded b_transport (the response is already set).
  // set_observer replaces every observer; add_observer adds one.
  void set_observer(Observer observer) {
    observers_.clear();
    observers_.push_back(std::move(observer));
  }
  void add_observer(Observer observer) { observers_.push_back(std::move(observer)); }

 private:
  void b_transport(int initiator, tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  bool get_direct_mem_ptr(int initiator, tlm::tlm_generic_payload& trans, tlm::tlm_dmi& dmi);
  unsigned transport_dbg(int initiator, tlm::tlm_generic_payload& trans);
  void invalidate_direct_mem_ptr(sc_dt::uint64 start, sc_dt::uint64 end);

  std::vector<Observer> observers_;
};

}  // namespace smmuv3tlm::tlm_ext
