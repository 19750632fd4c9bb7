// The command queue engine (IHI 0070 §4) as a SystemC thread: a register write
// that makes commands available only wakes it, and it consumes them one at a
// time, each taking the configured latency plus the time of its memory accesses
// (queue fetch, MSI). Software polling CMDQ_CONS therefore sees commands that
// are not yet consumed, and a queue it fills faster than that becomes full.
#pragma once

#include <cstdint>

#include <systemc>

#include "smmuv3tlm/models/smmu/core/programming_interface.h"

namespace smmuv3tlm::smmu {


class CommandQueue : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(CommandQueue);

  CommandQueue(const sc_core::sc_module_name& name, ProgrammingInterface& core,
               const sc_core::sc_time& command_latency);

  // A register write may have made a command ready.
  void wake() { work_.notify(sc_core::SC_ZERO_TIME); }
  // The programming interface's reset disables the queue (a command whose
  // fetch was waiting is discarded); this clears the count when `cold`.
  void reset(bool cold);
  std::uint64_t commands_consumed() const { return consumed_; }

 private:
  void run();

  ProgrammingInterface& core_;
  sc_core::sc_time command_latency_;
  sc_core::sc_event work_;
  std::uint64_t consumed_ = 0;
};

}  // namespace smmuv3tlm::smmu
