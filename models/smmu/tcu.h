// The Translation Control Unit (IHI 0070 §1.1, "TCU"): the stream table and
// CD fetches with the configuration cache, the table walker, the main TLB and
// the walk caches. A thin SystemC module over TranslationEngine: it owns the
// table-walk initiator socket (walks, queue accesses, MSIs and HTTU updates all
// leave through it) and the observers that see every one of those accesses.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <tuple>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include "smmuv3tlm/models/common/statistics.h"
#include "smmuv3tlm/models/smmu/arch/capabilities.h"
#include "smmuv3tlm/models/smmu/arch/memory_port.h"
#include "smmuv3tlm/models/smmu/core/translation_engine.h"
#include "smmuv3tlm/models/smmu/slot_pool.h"
#include "smmuv3tlm/models/smmu/timing.h"

namespace smmuv3tlm::smmu {

// One memory access the SMMU made, as a checker sees it.
struct MemoryAccessRecord {
  sc_core::sc_time time;  // simulated time of the access (sc_time_stamp() + the caller's local offset)
  std::uint64_t pa = 0;
  std::uint32_t size = 0;
  bool write = false;
  AccessPurpose purpose = AccessPurpose::StreamTableEntry;
  // The transaction served, when there is one (AccessContext::kNoStream for
  // queues, MSIs and commands).
  std::uint32_t stream_id = AccessContext::kNoStream;
  bool ssv = false;
  std::uint32_t substream_id = 0;
  const std::uint8_t* data = nullptr;  // the bytes read or written (valid during the callback)
  bool ok = false;
};
using MemoryAccessObserver = std::function<void(const MemoryAccessRecord&)>;

// One walk as a TCU walk slot served it (approximately-timed mode), for views:
// the slot is held from the walk's first table access to its last.
struct WalkSlotRecord {
  unsigned slot = 0;
  std::uint32_t stream_id = 0;
  std::uint64_t address = 0;  // the input address that missed
  sc_core::sc_time requested;  // when the walk asked for a slot
  sc_core::sc_time start;      // when it got one
  sc_core::sc_time end;        // when it gave it back
};
using WalkSlotObserver = std::function<void(const WalkSlotRecord&)>;

// What the approximately-timed TCU adds to the statistics (group "<tcu>.at").
struct TcuTimingStatistics {
  std::uint64_t walks = 0;             // translations that held a walk slot
  std::uint64_t merged_requests = 0;   // waited for a walk of the same page already in flight
  std::uint64_t slot_waits = 0;        // walks that found every slot busy
  std::uint64_t peak_busy_slots = 0;
  stats::Histogram slot_wait_latency;  // time a walk waited for a slot
};
inline auto statistic_fields(const TcuTimingStatistics&) {
  using S = TcuTimingStatistics;
  return std::make_tuple(stats::field("walks", &S::walks), stats::field("merged_requests", &S::merged_requests),
                         stats::field("slot_waits", &S::slot_waits),
                         stats::field("peak_busy_slots", &S::peak_busy_slots),
                         stats::field("slot_wait_latency", &S::slot_wait_latency));
}

class Tcu : public sc_core::sc_module {
 public:
  tlm_utils::simple_initiator_socket<Tcu> table_walk;

  Tcu(const sc_core::sc_module_name& name, const Capabilities& caps, const TranslationConfig& config);
  ~Tcu() override;

  // A translation for a TBU: `request.local_time` must point at the caller's
  // sc_time offset; walk accesses add their latency to it.
  TranslationResult translate(const TranslationRequest& request, TranslationEngine::ContextMemo& memo,
                              TranslationEngine::MicroTlb* micro = nullptr) {
    return engine_.translate(request, memo, micro);
  }
  // The approximately-timed translation, for a TBU's thread that has waited
  // out its micro-TLB lookup and the hop to the TCU: waits for the main TLB
  // lookup, then for a walk of the same 4 KiB page already in flight (the
  // request is merged with it: it finds the walk's TLB entry), then translates;
  // a translation that touches memory first takes one of the walk slots (the
  // port waits for a free one) and holds it until its last table access has
  // completed. `delay` is the caller's local time: zero on entry and on return.
  TranslationResult translate_timed(TranslationRequest request, TranslationEngine::ContextMemo& memo,
                                    TranslationEngine::MicroTlb* micro, sc_core::sc_time& delay);
  // Called by the SMMU before simulation starts; in the approximately-timed
  // mode the walk slots and their statistics ("<tcu>.at") exist.
  void configure_timing(TimingMode mode, const ApproximateTiming& timing);
  // Busy walk slots now (a reference: sc_trace follows it in a VCD).
  const unsigned& busy_walk_slots() const { return walk_slots_.busy(); }
  void add_walk_slot_observer(WalkSlotObserver observer) { walk_slot_observers_.push_back(std::move(observer)); }
  const TcuTimingStatistics& timing_statistics() const { return timing_stats_; }

  // A debugger's translation: reads tables with transport_dbg, writes nothing,
  // fills no cache, changes no statistic and reports to no observer.
  TranslationResult translate_debug(TranslationRequest request);

  // The memory port the queue engines use (its accesses have no local time of
  // their own: take_unowned_delay() returns what they accumulated).
  MemoryPort& memory();
  sc_core::sc_time take_unowned_delay();

  void set_control(const TranslationControl& control);
  const TranslationControl& control() const { return engine_.control(); }

  // Observers of every access through `table_walk`; ids stay valid until removed.
  unsigned add_observer(MemoryAccessObserver observer);
  void remove_observer(unsigned id);

  // Flushes every cache (reset); statistics too when `cold`.
  void reset(bool cold);

  TranslationEngine& engine() { return engine_; }
  const TranslationEngine& engine() const { return engine_; }

 private:
  class TableWalkPort;
  class DebugPort;
  friend class TableWalkPort;
  friend class DebugPort;

  // A translation's hold on a walk slot (AccessContext::walk_slot).
  struct WalkClaim {
    std::uint32_t stream_id = 0;
    std::uint64_t address = 0;
    bool held = false;
    unsigned slot = 0;
    sc_core::sc_time requested;
    sc_core::sc_time start;
  };
  // Requests for one 4 KiB page of one context, merged while its walk is in flight.
  using PageKey = std::tuple<std::uint32_t, bool, std::uint32_t, std::uint64_t>;

  void claim_walk_slot(WalkClaim& claim, sc_core::sc_time& delay);  // from the port, at a walk's first access
  void release_walk_slot(const WalkClaim& claim);
  void table_walk_invalidate(sc_dt::uint64 start, sc_dt::uint64 end);
  static TranslationConfig debug_engine_config();

  std::unique_ptr<TableWalkPort> port_;
  std::unique_ptr<DebugPort> debug_port_;
  TranslationEngine engine_;
  // The debugger's engine: caches flushed before every use, so it always walks
  // the tables in memory and leaves the real engine untouched.
  TranslationEngine debug_engine_;
  std::map<unsigned, MemoryAccessObserver> observers_;
  // Approximately-timed state.
  TimingMode mode_ = TimingMode::LooselyTimed;
  ApproximateTiming timing_;
  SlotPool walk_slots_;
  std::set<PageKey> pages_in_flight_;
  sc_core::sc_event walk_finished_;
  TcuTimingStatistics timing_stats_;
  std::vector<WalkSlotObserver> walk_slot_observers_;
  unsigned next_observer_ = 0;
  stats::Registration registration_;
};

}  // namespace smmuv3tlm::smmu
