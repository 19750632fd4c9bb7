#include "smmuv3tlm/platforms/lib/perfetto_trace.h"

#include <fmt/format.h>

#include "smmuv3tlm/models/smmu/arch/command.h"
#include "smmuv3tlm/models/smmu/arch/event.h"

namespace smmuv3tlm::platform {

namespace {
constexpr std::uint64_t kCommandTrack = 1;
constexpr std::uint64_t kEventTrack = 2;
double us(const sc_core::sc_time& t) { return t.to_seconds() * 1e6; }
std::string hex(std::uint64_t v) { return fmt::format("{:#x}", v); }
}  // namespace

PerfettoTrace::PerfettoTrace(ReferencePlatform& platform) {
  events_.push_back({{"ph", "M"}, {"name", "process_name"}, {"pid", kDmaProcess}, {"args", {{"name", "DMA by StreamID"}}}});
  events_.push_back({{"ph", "M"}, {"name", "process_name"}, {"pid", kSmmuProcess}, {"args", {{"name", "SMMU"}}}});
  events_.push_back({{"ph", "M"}, {"name", "process_name"}, {"pid", kHandoverProcess}, {"args", {{"name", "handover"}}}});
  name_track(kSmmuProcess, kCommandTrack, "commands consumed");
  name_track(kSmmuProcess, kEventTrack, "event records handled");
  name_track(kHandoverProcess, 1, "phases");
  platform.smmu().add_transaction_observer([this](const smmu::TransactionRecord& r) {
    if (streams_.insert(r.stream_id).second) name_track(kDmaProcess, r.stream_id, fmt::format("StreamID {:#x}", r.stream_id));
    nlohmann::json args = {{"iova", hex(r.address)}, {"bytes", r.length}, {"response", pcie::to_string(r.status)}};
    if (r.forwarded) args["pa"] = hex(r.output_address);
    if (r.ssv) args["ssid"] = hex(r.substream_id);
    events_.push_back({{"ph", "X"},
                       {"name", fmt::format("{} {}", r.write ? "write" : "read", hex(r.address))},
                       {"cat", r.status == tlm::TLM_OK_RESPONSE ? "dma" : "dma,error"},
                       {"pid", kDmaProcess},
                       {"tid", r.stream_id},
                       {"ts", us(r.start)},
                       {"dur", us(r.end - r.start)},
                       {"args", args}});
    ++slices_;
  });
  platform.smmu().add_memory_observer([this](const smmu::MemoryAccessRecord& r) {
    if (r.purpose != smmu::AccessPurpose::CommandQueue || r.write || r.data == nullptr || !r.ok) return;
    for (std::uint32_t off = 0; off + smmu::kCommandBytes <= r.size; off += smmu::kCommandBytes) {
      const std::uint8_t opcode = r.data[off];
      const std::string name = smmu::opcode_name(opcode);
      events_.push_back({{"ph", "i"}, {"s", "t"}, {"name", name}, {"cat", "command"}, {"pid", kSmmuProcess},
                         {"tid", kCommandTrack}, {"ts", us(r.time)}});
    }
  });
  platform.add_event_observer([this](const smmu::EventRecord& e) {
    events_.push_back({{"ph", "i"},
                       {"s", "t"},
                       {"name", smmu::to_string(e.id)},
                       {"cat", "event"},
                       {"pid", kSmmuProcess},
                       {"tid", kEventTrack},
                       {"ts", us(sc_core::sc_time_stamp())},
                       {"args", {{"sid", hex(e.stream_id)}, {"input", hex(e.input_addr)}}}});
  });
  // Approximately timed: a track per TCU walk slot, a slice per walk it served.
  platform.smmu().tcu().add_walk_slot_observer([this](const smmu::WalkSlotRecord& w) {
    if (walk_slots_.insert(w.slot).second) {
      if (walk_slots_.size() == 1) {
        events_.push_back({{"ph", "M"}, {"name", "process_name"}, {"pid", kWalkSlotProcess},
                           {"args", {{"name", "TCU walk slots"}}}});
      }
      name_track(kWalkSlotProcess, w.slot, fmt::format("walk slot {}", w.slot));
    }
    events_.push_back({{"ph", "X"},
                       {"name", fmt::format("walk sid={} {}", hex(w.stream_id), hex(w.address))},
                       {"cat", "walk"},
                       {"pid", kWalkSlotProcess},
                       {"tid", w.slot},
                       {"ts", us(w.start)},
                       {"dur", us(w.end - w.start)},
                       {"args", {{"waited_ns", (w.start - w.requested).to_seconds() * 1e9}}}});
    ++slices_;
  });
  platform.add_phase_observer([this](handover::Phase phase) {
    const double now = us(sc_core::sc_time_stamp());
    if (phase_open_) {
      events_.push_back({{"ph", "X"}, {"name", phase_name_}, {"cat", "handover"}, {"pid", kHandoverProcess},
                         {"tid", 1}, {"ts", phase_start_us_}, {"dur", now - phase_start_us_}});
    }
    phase_open_ = true;
    phase_start_us_ = now;
    phase_name_ = handover::to_string(phase);
  });
}

void PerfettoTrace::name_track(int process, std::uint64_t thread, const std::string& name) {
  events_.push_back({{"ph", "M"}, {"name", "thread_name"}, {"pid", process}, {"tid", thread}, {"args", {{"name", name}}}});
}

void PerfettoTrace::write(std::ostream& out) {
  if (phase_open_) {
    const double now = us(sc_core::sc_time_stamp());
    events_.push_back({{"ph", "X"}, {"name", phase_name_}, {"cat", "handover"}, {"pid", kHandoverProcess}, {"tid", 1},
                       {"ts", phase_start_us_}, {"dur", now - phase_start_us_}});
    phase_open_ = false;
  }
  out << nlohmann::json{{"displayTimeUnit", "ns"}, {"traceEvents", events_}}.dump() << "\n";
}

}  // namespace smmuv3tlm::platform
