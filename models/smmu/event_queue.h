// The event queue side of the SMMU (IHI 0070 §7.2-§7.5, §3.18): event records
// written to the queue in memory, overflow, the wired interrupt outputs
// (eventq, priq, gerror, cmd-sync) and MSIs. A thin SystemC module over the
// ProgrammingInterface, which holds the queue pointers and GERROR.
#pragma once

#include <array>
#include <cstdint>

#include <systemc>

#include "smmuv3tlm/models/common/statistics.h"
#include "smmuv3tlm/models/smmu/arch/event.h"
#include "smmuv3tlm/models/smmu/core/programming_interface.h"

namespace smmuv3tlm::smmu {

// An interrupt output that may stay unbound (a platform that only uses MSIs).
using OptionalIrqOut = sc_core::sc_port<sc_core::sc_signal_inout_if<bool>, 1, sc_core::SC_ZERO_OR_MORE_BOUND>;

struct EventQueueStatistics {
  std::uint64_t events_recorded = 0;
  std::uint64_t events_suppressed = 0;  // not written (queue off, full or aborted)
};
inline auto statistic_fields(const EventQueueStatistics&) {
  using S = EventQueueStatistics;
  return std::make_tuple(stats::field("events_recorded", &S::events_recorded),
                         stats::field("events_suppressed", &S::events_suppressed));
}

class EventQueue : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(EventQueue);

  OptionalIrqOut irq_eventq;
  OptionalIrqOut irq_gerror;
  OptionalIrqOut irq_priq;
  OptionalIrqOut irq_cmd_sync;

  EventQueue(const sc_core::sc_module_name& name, ProgrammingInterface& core);

  // Writes a record; false when it was not written (see ProgrammingInterface::record_event).
  // `context` carries the caller's time accumulator for the write and MSI.
  bool record(const EventRecord& record, const AccessContext& context = {});

  // Every line low, pending pulses dropped; statistics too when `cold`.
  void reset(bool cold);
  const EventQueueStatistics& statistics() const { return stats_; }

 private:
  void line_changed(IrqLine line, bool level);
  void drive_irqs();
  static void drive(OptionalIrqOut& port, bool level) {
    if (port.size() > 0) port->write(level);
  }

  ProgrammingInterface& core_;
  std::array<bool, 4> levels_{};
  unsigned cmd_sync_pulses_ = 0;
  bool cmd_sync_high_ = false;
  sc_core::sc_event irq_changed_;
  EventQueueStatistics stats_;
  stats::Registration registration_;
};

}  // namespace smmuv3tlm::smmu
