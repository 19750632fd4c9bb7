#include "smmuv3tlm/models/smmu/event_queue.h"

namespace smmuv3tlm::smmu {

namespace {
const sc_core::sc_time kIrqPulseWidth(1, sc_core::SC_NS);
}

EventQueue::EventQueue(const sc_core::sc_module_name& name, ProgrammingInterface& core)
    : sc_core::sc_module(name),
      irq_eventq("irq_eventq"),
      irq_gerror("irq_gerror"),
      irq_priq("irq_priq"),
      irq_cmd_sync("irq_cmd_sync"),
      core_(core) {
  core_.set_irq_callback([this](IrqLine line, bool level) { line_changed(line, level); });
  SC_METHOD(drive_irqs);
  sensitive << irq_changed_;
  dont_initialize();
  registration_.add_struct(this->name(), stats_);
}

bool EventQueue::record(const EventRecord& record, const AccessContext& context) {
  const bool written = core_.record_event(record, context);
  ++(written ? stats_.events_recorded : stats_.events_suppressed);
  return written;
}

void EventQueue::reset(bool cold) {
  levels_ = {};
  cmd_sync_pulses_ = 0;
  cmd_sync_high_ = false;
  irq_changed_.notify(sc_core::SC_ZERO_TIME);
  if (cold) stats_ = EventQueueStatistics{};
}

void EventQueue::line_changed(IrqLine line, bool level) {
  // The CMD_SYNC interrupt is a pulse: the core raises and drops it within one
  // call, so it is stretched over one cycle of the output.
  if (line == IrqLine::CommandSync) {
    if (level) ++cmd_sync_pulses_;
  } else {
    levels_[static_cast<unsigned>(line)] = level;
  }
  irq_changed_.notify(sc_core::SC_ZERO_TIME);
}

void EventQueue::drive_irqs() {
  drive(irq_eventq, levels_[static_cast<unsigned>(IrqLine::EventQueue)]);
  drive(irq_priq, levels_[static_cast<unsigned>(IrqLine::PriQueue)]);
  drive(irq_gerror, levels_[static_cast<unsigned>(IrqLine::GlobalError)]);
  // Each pulse holds the line high for kIrqPulseWidth, then low for as long.
  if (cmd_sync_high_) {
    cmd_sync_high_ = false;
  } else if (cmd_sync_pulses_ > 0) {
    --cmd_sync_pulses_;
    cmd_sync_high_ = true;
  }
  drive(irq_cmd_sync, cmd_sync_high_);
  if (cmd_sync_high_ || cmd_sync_pulses_ > 0) irq_changed_.notify(kIrqPulseWidth);
}

}  // namespace smmuv3tlm::smmu
