// The translation pipeline (IHI 0070 §3): StreamID -> STE -> CD -> stage-1 walk
// -> stage-2 walk, with a config cache, the IOTLB and the invalidation commands.
// Every step can end the translation with the event the architecture defines.
// Plain C++: the SystemC shell hands it a MemoryPort over TLM, unit tests a map.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "smmuv3tlm/models/smmu/arch/atos.h"
#include "smmuv3tlm/models/smmu/arch/cache_maintenance.h"
#include "smmuv3tlm/models/smmu/arch/capabilities.h"
#include "smmuv3tlm/models/smmu/arch/context_descriptor.h"
#include "smmuv3tlm/models/smmu/arch/event.h"
#include "smmuv3tlm/models/smmu/arch/memory_port.h"
#include "smmuv3tlm/models/smmu/arch/stream_table.h"
#include "smmuv3tlm/models/smmu/arch/translation_table.h"
#include "smmuv3tlm/models/smmu/core/config_cache.h"
#include "smmuv3tlm/models/smmu/core/iotlb.h"
#include "smmuv3tlm/models/smmu/core/translation_control.h"
#include "smmuv3tlm/models/smmu/core/walk_cache.h"

namespace smmuv3tlm::smmu {


struct TranslationRequest {
  std::uint32_t stream_id = 0;
  bool ssv = false;
  std::uint32_t substream_id = 0;
  std::uint64_t address = 0;
  bool read = true;          // RnW
  bool privileged = false;   // PnU
  bool instruction = false;  // InD
  bool secure = false;
  MemoryAttributes incoming;  // as the side-band brought them (defaults: §13.1.3)
  // Fill TranslationResult::readable/writable and scope (for a DMI grant); costs
  // two more permission checks, so plain accesses leave it off.
  bool want_access_rights = false;
  // Handed to the MemoryPort with every access this translation makes
  // (AccessContext::local_time): the caller's time offset, owned by the caller.
  void* local_time = nullptr;
  void* walk_slot = nullptr;  // AccessContext::walk_slot
  bool debug = false;  // AccessContext::debug
  // SMMU_GATOS requests (translate_atos): AccessContext::atos and
  // inhibit_hardware_updates; the fault record is always built, and no fault
  // completes as RAZ/WI.
  bool atos = false;
  bool inhibit_httu = false;
};

// What a translation depended on, so that a DMI grant built from it can be
// revoked by exactly the invalidations that cover it.
struct TranslationScope {
  std::uint32_t stream_id = 0;
  bool ssv = false;
  std::uint32_t substream_id = 0;
  bool cached = false;  // a TLB entry was used (its tag below); false for bypass
  TlbStage stage = TlbStage::Stage1;
  bool el2 = false;
  bool global = false;
  std::uint8_t size_log2 = 0;
  std::uint16_t vmid = 0;
  std::uint16_t asid = 0;
  std::uint64_t input_base = 0;
};

// An optional value kept off the hit path: empty costs one null pointer to
// construct, so the result of every translation stays small; the miss and
// fault paths pay one allocation when they fill it. Copyable like std::optional.
template <typename T>
class Boxed {
 public:
  Boxed() = default;
  Boxed(const Boxed& other) : value_(other.value_ ? std::make_unique<T>(*other.value_) : nullptr) {}
  Boxed(Boxed&&) noexcept = default;
  Boxed& operator=(const Boxed& other) {
    value_ = other.value_ ? std::make_unique<T>(*other.value_) : nullptr;
    return *this;
  }
  Boxed& operator=(Boxed&&) noexcept = default;
  Boxed& operator=(const T& value) {
    value_ = std::make_unique<T>(value);
    return *this;
  }
  explicit operator bool() const { return value_ != nullptr; }
  bool has_value() const { return value_ != nullptr; }
  const T& operator*() const { return *value_; }
  const T* operator->() const { return value_.get(); }

 private:
  std::unique_ptr<T> value_;
};

enum class TranslationOutcome : std::uint8_t {
  Translated,   // output_address is valid
  Bypassed,     // output_address == input (STE/GBPA bypass)
  Terminated,   // abort: error response (an event may have been recorded)
  RazWi,        // terminated with CD.A=0 on a TERM_MODEL=0 SMMU: reads zero, writes ignored
};

struct TranslationResult {
  // Laid out small (64 bytes): every translation, the hit path's too,
  // value-initialises one.
  TranslationOutcome outcome = TranslationOutcome::Terminated;
  bool readable = false;
  bool writable = false;
  bool tlb_hit = false;
  // Attribute overrides from the STE/GBPA carried downstream.
  std::uint8_t privcfg = 0;
  std::uint8_t instcfg = 0;
  std::uint8_t nscfg = 0;
  std::uint8_t stage_walks = 0;  // stage walks this translation ran (nested: the stage-2 walks of its table reads too)
  // The fault that terminated the translation (when Terminated/RazWi).
  std::optional<EventId> fault;
  // What leaves the SMMU (when Translated/Bypassed): the incoming attributes
  // after the STE/GBPA overrides and both stages (IHI 0070 chapter 13).
  MemoryAttributes attributes;
  unsigned walk_accesses = 0;
  std::uint64_t output_address = 0;
  // The translation's extent, for DMI: [input_base, input_base + size) maps
  // linearly to output_base with these permissions (readable, writable) for
  // this request's attributes.
  std::uint64_t input_base = 0;
  std::uint64_t output_base = 0;
  std::uint64_t size = 0;
  // The record to write to the event queue (empty when none is defined or it
  // was suppressed by CD.R / STE.S2R).
  Boxed<EventRecord> event;
  Boxed<TranslationScope> scope;  // with TranslationRequest::want_access_rights

  bool ok() const {
    return outcome == TranslationOutcome::Translated || outcome == TranslationOutcome::Bypassed;
  }
};

struct TranslationConfig {
  TlbGeometry tlb;
  // Walk cache: table descriptors (not leaves) per stage and level, tagged by
  // VMID and ASID; a level with 0 entries is not cached.
  WalkCacheGeometry walk_cache;
  unsigned config_cache_entries = 4096;  // STEs and CDs each
};

struct TranslationStatistics {
  std::uint64_t translations = 0;
  std::uint64_t bypassed = 0;
  std::uint64_t terminated = 0;
  std::uint64_t walks = 0;
  std::array<std::uint64_t, 4> s1_walk_accesses_per_level{};
  std::array<std::uint64_t, 4> s2_walk_accesses_per_level{};
  std::uint64_t ste_fetches = 0;
  std::uint64_t cd_fetches = 0;
  std::uint64_t config_cache_hits = 0;
  std::uint64_t config_cache_misses = 0;
  std::uint64_t hardware_updates = 0;
  std::uint64_t contiguous_runs = 0;  // leaves whose Contiguous bit made one entry cover the run
  std::uint64_t micro_tlb_hits = 0;  // translations a TBU's micro-TLB answered
  std::map<EventId, std::uint64_t> faults;
  // Walk latency: a whole stage's walk, and each level's table read (ns).
  stats::Histogram s1_walk_latency;
  stats::Histogram s2_walk_latency;
  std::array<stats::Histogram, 4> s1_walk_level_latency;
  std::array<stats::Histogram, 4> s2_walk_level_latency;
};
inline auto statistic_fields(const TranslationStatistics&) {
  using S = TranslationStatistics;
  return std::make_tuple(
      stats::field("translations", &S::translations), stats::field("bypassed", &S::bypassed),
      stats::field("terminated", &S::terminated), stats::field("walks", &S::walks),
      stats::field("s1_walk_accesses_per_level", &S::s1_walk_accesses_per_level),
      stats::field("s2_walk_accesses_per_level", &S::s2_walk_accesses_per_level),
      stats::field("ste_fetches", &S::ste_fetches), stats::field("cd_fetches", &S::cd_fetches),
      stats::field("config_cache_hits", &S::config_cache_hits),
      stats::field("config_cache_misses", &S::config_cache_misses),
      stats::field("hardware_updates", &S::hardware_updates),
      stats::field("contiguous_runs", &S::contiguous_runs), stats::field("micro_tlb_hits", &S::micro_tlb_hits),
      stats::field("faults", &S::faults), stats::field("s1_walk_latency", &S::s1_walk_latency),
      stats::field("s2_walk_latency", &S::s2_walk_latency),
      stats::field("s1_walk_level_latency", &S::s1_walk_level_latency),
      stats::field("s2_walk_level_latency", &S::s2_walk_level_latency));
}

class TranslationEngine : public CacheMaintenance {
 public:
  // What a stream's configuration resolves to. It shares the config cache's
  // entries, so a translation suspended in the memory target keeps its STE and
  // CD alive even if an invalidation or eviction drops them meanwhile.
  struct StreamContext {
    std::shared_ptr<const StreamTableEntry> ste;
    std::shared_ptr<const ContextDescriptor> cd;  // when stage 1 applies
    bool abort = false;
    bool stage1 = false;
    bool stage2 = false;
    bool el2 = false;
    bool single_privilege = false;  // EL2 regime without E2H
    bool overrides_attributes = false;  // STE.PRIVCFG/INSTCFG apply (IDR1.ATTR_PERMS_OVR)
    bool overrides_types = false;       // STE.MTCFG/ALLOCCFG/SHCFG apply (IDR1.ATTR_TYPES_OVR)
    AttributeOverrides type_overrides;
    bool stop_at_ipa = false;  // an ATOS stage-1 request on a nested stream: the output is the IPA
    TlbTag tag;
  };
  // The last stream's resolved context, owned by the caller (a TBU keeps one per
  // port: DMA arrives in bursts from one stream). The engine's generation
  // number changes with every CFGI, control change, eviction and reset, and a
  // memo from another generation is resolved again.
  class ContextMemo {
    friend class TranslationEngine;
    std::uint64_t generation_ = 0;  // 0: never valid (the engine starts at 1)
    std::uint32_t stream_id_ = 0;
    bool ssv_ = false;
    std::uint32_t substream_id_ = 0;
    StreamContext context_;
  };

  TranslationEngine(const Capabilities& caps, MemoryPort& tables, const TranslationConfig& config = {});

  void set_control(const TranslationControl& control) {
    control_ = control;
    ++generation_;
    ++invalidations_;
  }
  const TranslationControl& control() const { return control_; }

  // Per-translation state lives in the request, the result, the memo and the
  // call's stack. Outstanding translations may overlap (a memory target that
  // waits): each walk keeps the configuration it resolved alive, and a cache is
  // filled only when no invalidation, control change or reset happened since
  // the walk read the tables, so nothing stale survives a CFGI/TLBI.
  // A TBU's micro-TLB: the last translations it took from the main TLB,
  // answered without looking there again until the engine's next
  // invalidation, control change or reset (gem5's utlb_entries, replaced
  // round robin). Not used for streams whose STE overrides the incoming
  // attributes.
  struct MicroTlbEntry {
    std::uint64_t epoch = ~std::uint64_t{0};  // the engine's invalidation count when filled
    std::uint32_t stream_id = 0;
    // Not beside stream_id as in the request: a compare of both fields merged
    // into one wide load of the just-written request stalls store forwarding
    // (the hit path's costliest instruction, found with perf).
    std::uint32_t substream_id = 0;
    bool ssv = false;
    std::uint8_t size_log2 = 0;
    std::uint8_t allowed_accesses = 0;  // as TlbEntry; writes left out while a DBM page is clean
    std::uint8_t privcfg = 0;
    std::uint8_t instcfg = 0;
    std::uint8_t nscfg = 0;
    MemoryAttributes incoming;    // the entry answers requests with these attributes only
    MemoryAttributes attributes;  // and gives them these
    std::uint64_t input_base = 0;   // in the requests' address space
    std::uint64_t output_base = 0;
  };

  class MicroTlb {
   public:
    explicit MicroTlb(unsigned entries = 1) : entries_(entries == 0 ? 1 : entries), recent_(entries_.data()) {}
    MicroTlb(const MicroTlb&) = delete;  // `recent_` points into `entries_`
    MicroTlb& operator=(const MicroTlb&) = delete;
    unsigned size() const { return static_cast<unsigned>(entries_.size()); }
    void clear() {
      for (MicroTlbEntry& e : entries_) e = MicroTlbEntry{};
    }

   private:
    friend class TranslationEngine;
    std::vector<MicroTlbEntry> entries_;  // never resized
    MicroTlbEntry* recent_;  // the entry that answered or was filled last: looked at first
    unsigned victim_ = 0;    // the next one a fill replaces
  };

  // The micro-TLB entry that answers `request` (no memory access, no main-TLB
  // lookup), now the first one looked at; nullptr: translate() as usual. The
  // TBU's hit path counts an entry it uses with count_micro_tlb_hit().
  const MicroTlbEntry* micro_tlb_lookup(const TranslationRequest& request, MicroTlb& micro) const {
    if (micro_tlb_covers(request, *micro.recent_)) return micro.recent_;  // the hit path: one entry looked at
    for (MicroTlbEntry& entry : micro.entries_) {
      if (&entry != micro.recent_ && micro_tlb_covers(request, entry)) {
        micro.recent_ = &entry;
        return &entry;
      }
    }
    return nullptr;
  }
  void count_micro_tlb_hit() {
    ++stats_.translations;
    ++stats_.micro_tlb_hits;
  }

  bool micro_tlb_covers(const TranslationRequest& request, const MicroTlbEntry& micro) const {
    if (micro.epoch != invalidations_ || request.stream_id != micro.stream_id || request.ssv != micro.ssv ||
        (request.ssv && request.substream_id != micro.substream_id) ||
        ((request.address ^ micro.input_base) >> micro.size_log2) != 0 || request.incoming != micro.incoming) {
      return false;
    }
    // Writes are data (STE.INSTCFG, §7.3).
    const unsigned kind = access_kind(request.read, request.privileged, request.instruction && request.read);
    return ((micro.allowed_accesses >> kind) & 1) != 0 && !request.want_access_rights;
  }

  TranslationResult translate(const TranslationRequest& request, ContextMemo& memo,
                              MicroTlb* micro = nullptr) {
    TranslationResult result;  // one named result: returned without a copy
    if (micro == nullptr || !micro_tlb_hit(request, *micro, result)) translate_into(request, memo, micro, result);
    return result;
  }
  // With the engine's own memo (unit tests, single-threaded callers).
  TranslationResult translate(const TranslationRequest& request) { return translate(request, own_memo_); }

  // SMMU_GATOS_SID/ADDR's request (chapter 9): no event is recorded, no
  // IOTLB entry filled, STE/CD fault configuration and STE attribute overrides
  // do not apply. `local_time` as TranslationRequest::local_time.
  AtosResult translate_atos(const AtosRequest& request, void* local_time = nullptr);

  // Warm or cold reset of every cache: TLB, walk cache, STE and CD caches and
  // every memo. Statistics are kept (reset_statistics() clears them).
  void flush_all();
  void reset_statistics();

  // True when `command`, executed, would remove what a translation with `scope`
  // used (a TLBI matching its TLB entry, a CFGI of its stream or CD).
  bool invalidation_covers(const Command& command, const TranslationScope& scope) const;

  // CacheMaintenance: CFGI_*, TLBI_*, PREFETCH_*, ATC_INV.
  void execute(const Command& command) override;

  // Inspection.
  Iotlb& tlb() { return tlb_; }
  const Iotlb& tlb() const { return tlb_; }
  // Walk-cache entries: size_log2 is the span of the table descriptor, output_base
  // the next-level table, perms.s1_ap / s1_pxn / s1_uxn the accumulated APTable,
  // PXNTable and UXNTable down to that level.
  const WalkCache& walk_cache() const { return walk_cache_; }
  bool ste_cached(std::uint32_t stream_id) const { return ste_cache_.contains(stream_id); }
  bool cd_cached(std::uint32_t stream_id, std::uint32_t substream_id) const;
  std::size_t cached_stes() const { return ste_cache_.size(); }
  std::uint64_t generation() const { return generation_; }
  std::size_t cached_cds() const { return cd_cache_.size(); }
  const TranslationStatistics& statistics() const { return stats_; }
  const Capabilities& capabilities() const { return caps_; }

  // Invalidation entry points (also used by execute()).
  void invalidate_ste_range(std::uint32_t first, std::uint64_t count);
  void invalidate_cds(std::uint32_t stream_id, std::optional<std::uint32_t> substream_id);

  struct Fault;        // a walk's fault, before it becomes an event
  struct StageWalk;    // one stage's walk parameters

 private:
  // Which TLB entries and which configuration a command invalidates.
  struct InvalidationScope {
    bool streams = false;  // CFGI_STE*: STEs (and their CDs) of [first_stream, end_stream)
    bool cds = false;      // CFGI_CD*: CDs of first_stream, one SubstreamID or all
    std::uint64_t first_stream = 0;
    std::uint64_t end_stream = 0;
    std::optional<std::uint32_t> substream_id;
    std::function<bool(const TlbEntry&)> tlb;  // TLBI: the entries it removes
    bool leaf_only = false;                    // by-address TLBI with Leaf=1 spares the walk cache
  };
  InvalidationScope scope_of(const Command& command) const;

  void translate_into(const TranslationRequest& request, ContextMemo& memo, MicroTlb* micro,
                      TranslationResult& result);
  bool micro_tlb_hit(const TranslationRequest& request, MicroTlb& tlb, TranslationResult& result) {
    const MicroTlbEntry* entry = micro_tlb_lookup(request, tlb);
    if (entry == nullptr) return false;
    count_micro_tlb_hit();
    const MicroTlbEntry& micro = *entry;
    result.outcome = TranslationOutcome::Translated;
    result.output_address = micro.output_base + (request.address - micro.input_base);
    result.size = std::uint64_t{1} << micro.size_log2;
    result.input_base = micro.input_base;
    result.output_base = micro.output_base;
    result.tlb_hit = true;
    result.privcfg = micro.privcfg;
    result.instcfg = micro.instcfg;
    result.nscfg = micro.nscfg;
    result.attributes = micro.attributes;
    return true;
  }
  bool resolve_context(const TranslationRequest& request, StreamContext& ctx, TranslationResult& result);
  void translate_in_context(const TranslationRequest& request, const StreamContext& ctx, MicroTlb* micro,
                            TranslationResult& result);
  void complete_translation(const TranslationRequest& request, const StreamContext& ctx, const ContextDescriptor& cd,
                            std::uint64_t key, const TlbEntry& entry, MicroTlb* micro,
                            TranslationResult& result);
  // Untranslated pass-through (STE bypass, GBPA) with the attribute overrides that apply.
  void bypass(const TranslationRequest& request, unsigned privcfg, unsigned instcfg, unsigned nscfg,
              const MemoryAttributes& attributes, TranslationResult& result);
  // The attributes a translation outputs (§13.4.4): the incoming ones with the
  // STE's overrides, replaced by stage 1's, combined with stage 2's.
  static MemoryAttributes output_attributes(const MemoryAttributes& incoming, const StreamContext& ctx,
                                            const TlbEntry* entry);
  // `input` through the entry's stages, made consistent.
  static MemoryAttributes table_attributes(MemoryAttributes input, const TlbEntry* entry);
  // Fills entry.attributes.default_output once its stages are final.
  static void settle_attributes(TlbEntry& entry) {
    entry.attributes.default_output = table_attributes(MemoryAttributes{}, &entry);
  }
  // The TLB-miss path: walks (stage 1, stage 2 or both), checks stage-1
  // permissions before stage 2, fills the TLB. nullptr when a fault ended it.
  bool walk_for(const TranslationRequest& request, const StreamContext& ctx, const ContextDescriptor& cd,
                std::uint64_t key, unsigned range_index, TlbEntry& walked, TranslationResult& result);
  void permission_fault(const TranslationRequest& request, const StreamContext& ctx, bool stage2, std::uint64_t ipa,
                        TranslationResult& result);
  // Both return a pointer into the config cache, or nullptr with `fault` set.
  std::shared_ptr<const StreamTableEntry> lookup_ste(std::uint32_t stream_id, const AccessContext& access,
                                                     Fault& fault);
  std::shared_ptr<const ContextDescriptor> lookup_cd(const StreamTableEntry& ste, std::uint32_t stream_id,
                                                     std::uint32_t substream_id, const AccessContext& access,
                                                     Fault& fault, TranslationResult& result);
  bool fetch_words(std::uint64_t pa, std::uint64_t* words, unsigned count, AccessPurpose purpose,
                   const AccessContext& access);
  bool walk_stage(const StageWalk& walk, std::uint64_t input, TlbEntry& out, Fault& fault,
                  TranslationResult& result);
  bool translate_stage2(const Stage2Config& s2, std::uint64_t ipa, FaultClass fault_class,
                        const AccessContext& access, TlbEntry& out, Fault& fault, TranslationResult& result,
                        bool lookup_tlb = true, bool write = false);
  // Ends the translation with `fault`, deciding (from the STE/CD, either may be
  // null) whether a record is written and whether the termination is RAZ/WI.
  // A CD or stage-1 table read in a nested configuration: `ipa` through stage 2.
  // `s2_perms`, when given, receives the stage-2 permissions of the table's page.
  bool translate_table_read(const Stage2Config& s2, std::uint64_t ipa, FaultClass fault_class,
                            const AccessContext& access, std::uint64_t& pa, Fault& fault, TranslationResult& result,
                            TlbPermissions* s2_perms = nullptr);
  void finish_fault(const TranslationRequest& request, const Fault& fault, const StreamTableEntry* ste,
                    const ContextDescriptor* cd, TranslationResult& result);

  Capabilities caps_;
  MemoryPort& tables_;
  TranslationConfig config_;
  TranslationControl control_;
  Iotlb tlb_;
  WalkCache walk_cache_;
  ConfigCache<std::uint32_t, std::shared_ptr<const StreamTableEntry>> ste_cache_;
  ConfigCache<std::uint64_t, std::shared_ptr<const ContextDescriptor>> cd_cache_;  // key: sid << 20 | ssid
  TranslationStatistics stats_;
  std::uint64_t generation_ = 1;  // see ContextMemo
  // Bumped by every invalidation command, control change and flush: a walk that
  // read the tables before a bump does not fill any cache with what it read.
  std::uint64_t invalidations_ = 0;
  ContextMemo own_memo_;
  const ContextDescriptor no_cd_{};  // stands in for the CD of a stage-2-only stream
};

}  // namespace smmuv3tlm::smmu
