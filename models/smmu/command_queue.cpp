#include "smmuv3tlm/models/smmu/command_queue.h"


namespace smmuv3tlm::smmu {

CommandQueue::CommandQueue(const sc_core::sc_module_name& name, ProgrammingInterface& core,
                           const sc_core::sc_time& command_latency)
    : sc_core::sc_module(name), core_(core), command_latency_(command_latency) {
  SC_THREAD(run);
}

void CommandQueue::reset(bool cold) {
  if (cold) consumed_ = 0;
}

void CommandQueue::run() {
  while (true) {
    while (!core_.command_ready()) sc_core::wait(work_);
    // A command completes (CONS moves past it) after its own cost; its queue
    // fetch and MSI accesses then take their memory time.
    if (command_latency_ != sc_core::SC_ZERO_TIME) {
      sc_core::wait(command_latency_);
      if (!core_.command_ready()) continue;  // reset or queue disabled meanwhile
    }
    sc_core::sc_time memory_time = sc_core::SC_ZERO_TIME;  // the fetch's and any MSI's
    AccessContext context;
    context.local_time = &memory_time;
    core_.consume_command(context);
    ++consumed_;
    if (memory_time != sc_core::SC_ZERO_TIME) sc_core::wait(memory_time);
  }
}

}  // namespace smmuv3tlm::smmu
