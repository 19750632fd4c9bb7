// The SMMU's register file (IHI 0070 §6): the 128 KiB target socket for page 0
// and page 1, and the acknowledge timing of CR0, GBPA and IRQ_CTRL. A thin
// SystemC module over ProgrammingInterface, which it owns (the queue engines
// and the TCU reach the registers' state through it).
#pragma once

#include <cstdint>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_target_socket.h>

#include "smmuv3tlm/models/smmu/core/programming_interface.h"

namespace smmuv3tlm::smmu {

class Tcu;

class RegisterFile : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(RegisterFile);

  tlm_utils::simple_target_socket<RegisterFile> socket;

  RegisterFile(const sc_core::sc_module_name& name, const Capabilities& caps, Tcu& tcu, CacheMaintenance& caches,
               const ProgrammingInterfaceConfig& config, const sc_core::sc_time& access_latency,
               const sc_core::sc_time& ack_delay);

  ProgrammingInterface& core() { return core_; }
  const ProgrammingInterface& core() const { return core_; }
  // Every register to its reset value (pending acknowledgements dropped);
  // statistics too when `cold`.
  void reset(bool cold);

 private:
  void b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  unsigned transport_dbg(tlm::tlm_generic_payload& trans);
  bool access(tlm::tlm_generic_payload& trans);
  void complete_acks();

  Tcu& tcu_;
  ProgrammingInterface core_;
  sc_core::sc_time access_latency_;
  sc_core::sc_time ack_delay_;
  sc_core::sc_event ack_due_;
  stats::Registration registration_;
};

}  // namespace smmuv3tlm::smmu
