// A Translation Buffer Unit (IHI 0070 §1.1, "TBU"): one upstream port of the
// SMMU. It takes a master's transactions on its target socket (StreamID from
// the side-band extension, or the port's default), translates them through the
// TCU with its own context memo, splits those that cross a translation
// boundary, forwards the pieces downstream with their side-band, and keeps its
// own DMI grants, each revoked exactly when an invalidation covers it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <functional>
#include <tuple>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/peq_with_get.h>
#include <tlm_utils/simple_target_socket.h>

#include "smmuv3tlm/models/common/statistics.h"
#include "smmuv3tlm/models/smmu/core/translation_engine.h"
#include "smmuv3tlm/models/smmu/slot_pool.h"
#include "smmuv3tlm/models/smmu/timing.h"

namespace smmuv3tlm::smmu {

class Tcu;
class EventQueue;

struct TbuConfig {
  std::uint32_t default_stream_id = 0;
  sc_core::sc_time hit_latency{1, sc_core::SC_NS};  // added to every translated piece
  bool dmi = true;
  unsigned micro_tlb_entries = 1;  // gem5 utlb_entries
  bool attribute_overrides = false;  // IDR1.ATTR_PERMS_OVR: STE/GBPA PRIVCFG/INSTCFG travel downstream
  TimingMode mode = TimingMode::LooselyTimed;
  ApproximateTiming at;  // the approximately-timed pipeline (mode ApproximatelyTimed)
};

// What the approximately-timed TBU adds to the statistics (group "<tbu>.at").
struct TbuTimingStatistics {
  std::uint64_t nb_requests = 0;        // BEGIN_REQs taken
  std::uint64_t blocking_requests = 0;  // b_transport calls
  std::uint64_t deferred_requests = 0;  // BEGIN_REQs whose END_REQ waited for a free slot
  std::uint64_t micro_tlb_hits = 0;     // answered after the micro-TLB lookup alone
  std::uint64_t peak_outstanding = 0;
};
inline auto statistic_fields(const TbuTimingStatistics&) {
  using S = TbuTimingStatistics;
  return std::make_tuple(stats::field("nb_requests", &S::nb_requests),
                         stats::field("blocking_requests", &S::blocking_requests),
                         stats::field("deferred_requests", &S::deferred_requests),
                         stats::field("micro_tlb_hits", &S::micro_tlb_hits),
                         stats::field("peak_outstanding", &S::peak_outstanding));
}

struct TbuStatistics {
  std::uint64_t transactions = 0;
  std::uint64_t translated = 0;
  std::uint64_t bypassed = 0;
  std::uint64_t terminated = 0;
  std::uint64_t split_pieces = 0;
  std::uint64_t dmi_grants = 0;
  std::uint64_t dmi_revocations = 0;
  // Per StreamID: bytes of the transactions the SMMU did not terminate, and
  // the time it added to each translation (walks, events; not the downstream
  // access; a transaction split at a translation boundary counts per piece).
  struct Stream {
    std::uint64_t bytes = 0;
    stats::Histogram latency;
  };
  std::map<std::uint32_t, Stream> streams;
};
// {"0x10": {"bytes": ..., "transactions": ..., "latency": {histogram}}, ...}
nlohmann::json counter_json(const std::map<std::uint32_t, TbuStatistics::Stream>& streams);
inline auto statistic_fields(const TbuStatistics&) {
  using S = TbuStatistics;
  return std::make_tuple(stats::field("transactions", &S::transactions), stats::field("translated", &S::translated),
                         stats::field("bypassed", &S::bypassed), stats::field("terminated", &S::terminated),
                         stats::field("split_pieces", &S::split_pieces), stats::field("dmi_grants", &S::dmi_grants),
                         stats::field("dmi_revocations", &S::dmi_revocations),
                         stats::field("streams", &S::streams));
}

// One upstream transaction as the SMMU served it, for views (a Perfetto
// track per StreamID): simulated times include the initiator's local time.
struct TransactionRecord {
  std::uint32_t stream_id = 0;
  bool ssv = false;
  std::uint32_t substream_id = 0;
  std::uint64_t address = 0;         // as the master sent it (IOVA)
  std::uint64_t output_address = 0;  // where its first byte went downstream (when it went)
  bool forwarded = false;
  unsigned length = 0;
  bool write = false;
  sc_core::sc_time start;
  sc_core::sc_time end;
  tlm::tlm_response_status status = tlm::TLM_INCOMPLETE_RESPONSE;
};
using TransactionObserver = std::function<void(const TransactionRecord&)>;

class Tbu : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<Tbu> upstream;

  Tbu(const sc_core::sc_module_name& name, const TbuConfig& config, Tcu& tcu, EventQueue& events,
      tlm::tlm_initiator_socket<>& downstream);

  // DMI revocation. Each returns how many grants it revoked.
  std::size_t revoke_covered(const Command& invalidation);       // a TLBI/CFGI that was executed
  std::size_t revoke_downstream(std::uint64_t start, std::uint64_t end);  // the target withdrew [start, end]
  std::size_t revoke_all();                                        // control change, reset
  std::size_t dmi_grants() const { return grants_.size(); }

  // Called after every transaction this TBU served (none: no cost on the hit path).
  void add_transaction_observer(TransactionObserver observer) { observers_.push_back(std::move(observer)); }

  // Memo and grants dropped; statistics too when `cold`.
  void reset(bool cold);
  const TbuStatistics& statistics() const {
    flush_latency_run();
    return stats_;
  }
  const TbuConfig& config() const { return config_; }

 private:
  struct Grant {
    std::uint64_t iova_start = 0;
    std::uint64_t iova_end = 0;  // inclusive
    std::uint64_t pa_start = 0;
    std::uint64_t pa_end = 0;
    Boxed<TranslationScope> scope;  // none: every invalidation revokes it
  };

  // The timing policies of transport(): the loosely-timed one annotates, the
  // approximately-timed one waits (and runs only in a thread).
  struct LooselyTimed;
  struct ApproximatelyTimed;

  void b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  bool micro_tlb_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  tlm::tlm_sync_enum nb_transport_fw(tlm::tlm_generic_payload& trans, tlm::tlm_phase& phase, sc_core::sc_time& t);
  // The observers' record around transport().
  template <typename Timing>
  void serve(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay, Timing timing);
  // `first_output`, when given, receives the first downstream address.
  template <typename Timing>
  void transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay, Timing& timing,
                 std::optional<std::uint64_t>* first_output);
  bool get_direct_mem_ptr(tlm::tlm_generic_payload& trans, tlm::tlm_dmi& dmi);
  unsigned transport_dbg(tlm::tlm_generic_payload& trans);
  TranslationRequest request_for(const tlm::tlm_generic_payload& trans) const;
  void forward_piece(tlm::tlm_generic_payload& trans, const TranslationResult& result, unsigned offset,
                     unsigned length, bool streaming, sc_core::sc_time& delay);
  // Approximately timed: a transaction slot per outstanding transaction (each
  // with its own context memo), taken by a BEGIN_REQ or a b_transport call.
  void note_outstanding();  // after a slot was taken: the peak statistic
  void accept_request(tlm::tlm_generic_payload& trans, unsigned slot, const sc_core::sc_time& delay);
  // How long from now until a request arriving after `delay` gets its micro-TLB lookup.
  sc_core::sc_time lookup_turn(const sc_core::sc_time& delay);
  void serve_requests();  // one thread per slot: the accepted BEGIN_REQs
  template <typename Covered>
  std::size_t revoke_if(Covered covered);

  TbuConfig config_;
  Tcu& tcu_;
  EventQueue& events_;
  tlm::tlm_initiator_socket<>& downstream_;
  TranslationEngine::ContextMemo memo_;
  TranslationEngine::MicroTlb micro_tlb_;
  // Keyed by the IOVA window and the stream it was granted to: a master asking
  // again for the same window replaces its grant instead of adding one more.
  using GrantKey = std::tuple<std::uint64_t, std::uint64_t, std::uint32_t, bool, std::uint32_t>;
  std::map<GrantKey, Grant> grants_;
  TbuStatistics stats_;
  std::vector<TransactionObserver> observers_;
  // The statistics of the last StreamID seen (most transactions repeat it),
  // and a run of equal latencies not yet added to its histogram: on the hit
  // path every latency is the same, and counting the run is cheaper than a
  // histogram update per beat. Flushed before anyone reads the statistics.
  std::uint32_t latency_stream_ = 0;
  mutable TbuStatistics::Stream* latency_stream_stats_ = nullptr;
  std::uint64_t latency_run_ps_ = 0;
  mutable std::uint64_t latency_run_length_ = 0;
  void record_stream(std::uint32_t stream_id, const sc_core::sc_time& latency, unsigned bytes);
  void flush_latency_run() const;
  // Every counter and histogram back to zero (a cold reset, a registry reset).
  void clear_statistics();
  stats::Registration registration_;
  // Approximately-timed state (last: the hit path's members stay together).
  std::vector<TranslationEngine::ContextMemo> slot_memos_;
  SlotPool slots_;  // transaction slots, first come first served (BEGIN_REQs and blocking callers alike)
  std::unique_ptr<tlm_utils::peq_with_get<tlm::tlm_generic_payload>> requests_;
  std::map<const tlm::tlm_generic_payload*, unsigned> slot_of_;
  tlm::tlm_generic_payload* deferred_ = nullptr;  // a BEGIN_REQ waiting for its END_REQ
  bool response_in_progress_ = false;             // BEGIN_RESP sent, END_RESP not yet received
  sc_core::sc_event response_ended_;
  sc_core::sc_time next_lookup_;  // when the micro-TLB takes its next lookup
  TbuTimingStatistics timing_stats_;
};

}  // namespace smmuv3tlm::smmu
