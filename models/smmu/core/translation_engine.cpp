#include "smmuv3tlm/models/smmu/core/translation_engine.h"

#include "smmuv3tlm/models/smmu/arch/registers.h"

#include <algorithm>
#include <utility>

#include "smmuv3tlm/models/smmu/arch/bits.h"

namespace smmuv3tlm::smmu {

struct TranslationEngine::Fault {
  EventId id = EventId::F_TRANSLATION;
  bool stage2 = false;
  FaultClass fault_class = FaultClass::IN;
  std::uint64_t ipa = 0;
  std::uint64_t fetch_addr = 0;
  int level = 0;
  // Configuration errors (C_BAD_*, F_*_FETCH, F_STREAM_DISABLED) are always
  // recorded; translation faults only when CD.R / STE.S2R allow it.
  bool configuration = false;
  // A stage-2 permission fault on a stage-1 descriptor update (HTTU), not a
  // table read: TTRnW = 0.
  bool table_write = false;
  std::string why;

  static Fault configuration_error(EventId id, std::string reason, std::uint64_t fetch_address = 0) {
    Fault f;
    f.id = id;
    f.configuration = true;
    f.fetch_addr = fetch_address;
    f.why = std::move(reason);
    return f;
  }
};

struct TranslationEngine::StageWalk {
  bool stage2 = false;
  unsigned granule_log2 = 12;
  int start_level = 0;
  unsigned input_bits = 48;
  std::uint64_t table_base = 0;
  unsigned output_bits = 48;
  bool hierarchical_disabled = false;
  bool affd = false;
  bool ha = false;
  bool hd = false;
  bool write = false;  // the access is a write: HTTU may set dirty state
  FaultClass fault_class = FaultClass::IN;  // for stage-2 faults
  const Stage2Config* nested_s2 = nullptr;  // table addresses are IPAs translated by this
  const AccessContext* access = nullptr;    // the translation's, for every table access
  TlbTag cache_tag;                         // walk-cache tag (stage, EL2, VMID, ASID)
  // Stage 1: what the dirty-state update checks first (HTTU marks a page dirty
  // only for a write that its other permissions allow).
  const TranslationRequest* request = nullptr;
  bool single_privilege = false;
  bool pan = false;
  bool wxn = false;
  std::uint64_t mair = 0;  // stage 1: CD.MAIR, read by the leaf's AttrIndx
};

namespace {

constexpr unsigned kStrwEl2 = 0b10;

// The context of every memory access a translation makes (built on the miss
// path only: the hit path touches no memory).
AccessContext access_for(const TranslationRequest& request) {
  AccessContext access;
  access.stream_id = request.stream_id;
  access.ssv = request.ssv;
  access.substream_id = request.substream_id;
  access.local_time = request.local_time;
  access.walk_slot = request.walk_slot;
  access.debug = request.debug;
  access.atos = request.atos;
  access.inhibit_hardware_updates = request.inhibit_httu;
  return access;
}

std::uint64_t cd_cache_key(std::uint32_t stream_id, std::uint32_t substream_id) {
  return (static_cast<std::uint64_t>(stream_id) << 20) | (substream_id & 0xfffff);
}

// Stage-1 permission check (VMSAv8-64 EL1&0 regime, AP[2:1], PAN, XN, WXN).
// `single_privilege`: the EL2 regime without E2H, where AP[1] is ignored and bit 54
// (with XNTable, bit 60) is the only execute-never control.
bool stage1_permits(const TlbPermissions& p, const TranslationRequest& req, bool single_privilege, bool pan,
                    bool wxn) {
  const bool privileged = req.privileged || single_privilege;
  const bool el0_access = (p.s1_ap & 1) != 0 && !single_privilege;
  const bool read_only = (p.s1_ap & 2) != 0;
  if (!privileged && !el0_access) return false;
  if (!req.read && read_only) return false;
  if (req.instruction) {
    const bool writable = !read_only;
    if (single_privilege ? p.s1_uxn : (privileged ? p.s1_pxn : p.s1_uxn)) return false;
    if (wxn && writable) return false;
    // Privileged execution of EL0-writable memory is never allowed.
    if (privileged && el0_access && writable) return false;
  } else if (privileged && pan && el0_access && !req.secure) {
    return false;
  }
  return true;
}

// Stage-2 permission check (S2AP, XN[1:0]). Reads of tables count as reads.
bool stage2_permits(const TlbPermissions& p, bool read, bool instruction, bool privileged, bool xnx) {
  if (read && (p.s2_ap & 1) == 0) return false;
  if (!read && (p.s2_ap & 2) == 0) return false;
  if (instruction) {
    if (!xnx) return (p.s2_xn & 2) == 0;
    switch (p.s2_xn) {
      case 0b00: return true;
      case 0b01: return !privileged;
      case 0b10: return false;
      default: return privileged;
    }
  }
  return true;
}

// The set of access kinds (see access_kind()) an entry's permissions allow.
std::uint8_t allowed_accesses(const TlbPermissions& p, bool el2, bool pan, bool wxn, bool xnx) {
  std::uint8_t mask = 0;
  for (unsigned kind = 0; kind < 8; ++kind) {
    TranslationRequest req;
    req.read = kind & 1;
    req.privileged = kind & 2;
    req.instruction = kind & 4;
    const bool s1_ok = !p.s1 || stage1_permits(p, req, el2, pan, wxn);
    const bool s2_ok = !p.s2 || stage2_permits(p, req.read, req.instruction, req.privileged, xnx);
    if (s1_ok && s2_ok) mask = static_cast<std::uint8_t>(mask | (1u << kind));
  }
  return mask;
}

}  // namespace

TranslationEngine::TranslationEngine(const Capabilities& caps, MemoryPort& tables,
                                     const TranslationConfig& config)
    : caps_(caps),
      tables_(tables),
      config_(config),
      tlb_(config.tlb),
      walk_cache_(config.walk_cache),
      ste_cache_(config.config_cache_entries),
      cd_cache_(config.config_cache_entries) {}

bool TranslationEngine::cd_cached(std::uint32_t stream_id, std::uint32_t substream_id) const {
  return cd_cache_.contains(cd_cache_key(stream_id, substream_id));
}

void TranslationEngine::flush_all() {
  tlb_.reset();
  walk_cache_.reset();
  ste_cache_.clear();
  cd_cache_.clear();
  ++generation_;
  ++invalidations_;
}

void TranslationEngine::reset_statistics() {
  stats_ = TranslationStatistics{};
  tlb_.reset_statistics();
  walk_cache_.reset_statistics();
}

bool TranslationEngine::fetch_words(std::uint64_t pa, std::uint64_t* words, unsigned count,
                                    AccessPurpose purpose, const AccessContext& access) {
  for (unsigned i = 0; i < count; ++i) {
    if (!tables_.read64(pa + 8ull * i, words[i], purpose, access)) return false;
  }
  return true;
}

std::shared_ptr<const StreamTableEntry> TranslationEngine::lookup_ste(std::uint32_t stream_id,
                                                                      const AccessContext& access, Fault& fault) {
  fault.configuration = true;
  const StreamTableConfig cfg =
      StreamTableConfig::decode(control_.strtab_base, control_.strtab_base_cfg, caps_);
  if (static_cast<std::uint64_t>(stream_id) >= (1ull << cfg.log2size)) {
    fault.id = EventId::C_BAD_STREAMID;
    fault.why = "StreamID is outside STRTAB_BASE_CFG.LOG2SIZE";
    return nullptr;
  }
  if (const auto* cached = ste_cache_.find(stream_id)) {
    ++stats_.config_cache_hits;
    return *cached;
  }
  ++stats_.config_cache_misses;
  const std::uint64_t epoch = invalidations_;
  std::uint64_t ste_addr = cfg.base + static_cast<std::uint64_t>(stream_id) * kSteBytes;
  if (cfg.format == StreamTableFormat::TwoLevel) {
    const std::uint64_t l1_addr = cfg.base + static_cast<std::uint64_t>(stream_id >> cfg.split) * kL1StdBytes;
    std::uint64_t word = 0;
    if (!tables_.read64(l1_addr, word, AccessPurpose::StreamTableL1, access)) {
      fault.id = EventId::F_STE_FETCH;
      fault.fetch_addr = l1_addr;
      fault.why = "level-1 stream table descriptor fetch aborted";
      return nullptr;
    }
    const L1StreamDescriptor l1 = L1StreamDescriptor::decode(word);
    // Span 0 marks the L2 pointer invalid; Span above SPLIT+1 is reserved.
    if (l1.span == 0 || l1.span > cfg.split + 1) {
      fault.id = EventId::C_BAD_STREAMID;
      fault.why = "L1STD.Span=" + std::to_string(l1.span) + " does not cover the StreamID";
      return nullptr;
    }
    const std::uint64_t index = stream_id & ((1u << cfg.split) - 1);
    if (index >= (1ull << (l1.span - 1))) {
      fault.id = EventId::C_BAD_STREAMID;
      fault.why = "StreamID is beyond the level-2 table's Span";
      return nullptr;
    }
    ste_addr = l1.l2_table + index * kSteBytes;
  }
  std::array<std::uint64_t, 8> words{};
  ++stats_.ste_fetches;
  if (!fetch_words(ste_addr, words.data(), 8, AccessPurpose::StreamTableEntry, access)) {
    // FetchAddr names the structure being fetched (§7.3), not the failing word.
    fault.id = EventId::F_STE_FETCH;
    fault.fetch_addr = ste_addr;
    fault.why = "STE fetch aborted";
    return nullptr;
  }
  auto ste = std::make_shared<StreamTableEntry>();
  if (!decode_ste(words, caps_, *ste, fault.why)) {
    fault.id = EventId::C_BAD_STE;
    return nullptr;
  }
  // Cached only if no invalidation came while the STE was being read.
  if (epoch == invalidations_ && ste_cache_.insert(stream_id, ste).second) {
    ++generation_;  // a memo may hold the evicted entry
  }
  return ste;
}

std::shared_ptr<const ContextDescriptor> TranslationEngine::lookup_cd(const StreamTableEntry& ste,
                                                                      std::uint32_t stream_id,
                                                                      std::uint32_t substream_id,
                                                                      const AccessContext& access, Fault& fault,
                                                                      TranslationResult& result) {
  const std::uint64_t key = cd_cache_key(stream_id, substream_id);
  if (const auto* cached = cd_cache_.find(key)) {
    ++stats_.config_cache_hits;
    return *cached;
  }
  ++stats_.config_cache_misses;
  const std::uint64_t epoch = invalidations_;
  const Stage2Config* s2 = ste.config == SteConfig::Nested ? &ste.s2 : nullptr;
  // In a nested configuration the CD table lives in IPA space: every CD-table
  // access is translated by stage 2, and a stage-2 fault there has CLASS=CD.
  auto to_pa = [&](std::uint64_t address, std::uint64_t& pa) {
    if (s2 == nullptr) {
      pa = address;
      return true;
    }
    return translate_table_read(*s2, address, FaultClass::CD, access, pa, fault, result);
  };

  std::uint64_t cd_addr = ste.s1_context_ptr;
  if (ste.s1_cdmax != 0) {
    if (ste.s1_format == 0) {
      cd_addr += static_cast<std::uint64_t>(substream_id) * kCdBytes;
    } else {
      // 2-level: 4KB leaf tables hold 64 CDs (S1FMT=0b01), 64KB ones 1024 (0b10).
      const unsigned split = ste.s1_format == 1 ? 6 : 10;
      const std::uint64_t l1_ipa = ste.s1_context_ptr + static_cast<std::uint64_t>(substream_id >> split) * kL1CdBytes;
      std::uint64_t l1_pa = 0;
      if (!to_pa(l1_ipa, l1_pa)) return nullptr;
      std::uint64_t word = 0;
      if (!tables_.read64(l1_pa, word, AccessPurpose::ContextDescL1, access)) {
        fault = Fault::configuration_error(EventId::F_CD_FETCH, "level-1 CD descriptor fetch aborted", l1_pa);
        return nullptr;
      }
      const L1ContextDescriptor l1 = L1ContextDescriptor::decode(word);
      // §3.4.3: an L2Ptr beyond the OAS is C_BAD_SUBSTREAMID (SMMUv3.1 and later).
      if (!l1.valid || (l1.l2_table & ~mask_bits(caps_.oas_bits - 1, 0)) != 0) {
        fault = Fault::configuration_error(EventId::C_BAD_SUBSTREAMID,
                                           "L1CD.V=0, or its L2Ptr is beyond the OAS, for this SubstreamID");
        return nullptr;
      }
      cd_addr = l1.l2_table + static_cast<std::uint64_t>(substream_id & ((1u << split) - 1)) * kCdBytes;
    }
  }
  std::uint64_t cd_pa = 0;
  if (!to_pa(cd_addr, cd_pa)) return nullptr;
  std::array<std::uint64_t, 8> words{};
  ++stats_.cd_fetches;
  if (!fetch_words(cd_pa, words.data(), 8, AccessPurpose::ContextDesc, access)) {
    fault = Fault::configuration_error(EventId::F_CD_FETCH, "CD fetch aborted", cd_pa);
    return nullptr;
  }
  auto cd = std::make_shared<ContextDescriptor>();
  if (!decode_cd(words, caps_, *cd, fault.why)) {
    fault.id = EventId::C_BAD_CD;
    fault.configuration = true;
    return nullptr;
  }
  if (epoch == invalidations_ && cd_cache_.insert(key, cd).second) ++generation_;
  return cd;
}

bool TranslationEngine::walk_stage(const StageWalk& walk, std::uint64_t input, TlbEntry& out,
                                   Fault& fault, TranslationResult& result) {
  ++stats_.walks;
  if (result.stage_walks < 255) ++result.stage_walks;
  // The walk's latency, however it ends.
  struct WalkTimer {
    const MemoryPort& port;
    const AccessContext& access;
    stats::Histogram& histogram;
    std::uint64_t start;
    ~WalkTimer() { histogram.add(port.local_time_ps(access) - start); }
  } timer{tables_, *walk.access, walk.stage2 ? stats_.s2_walk_latency : stats_.s1_walk_latency,
          tables_.local_time_ps(*walk.access)};
  const std::uint64_t epoch = invalidations_;  // see invalidations_
  const unsigned granule = walk.granule_log2;
  const unsigned stride = granule - 3;
  auto fail = [&](EventId id, int level, const char* why) {
    fault = Fault{};
    fault.id = id;
    fault.level = level;
    fault.stage2 = walk.stage2;
    fault.fault_class = walk.stage2 ? walk.fault_class : FaultClass::IN;
    fault.why = why;
    return false;
  };
  int level = walk.start_level;
  std::uint64_t table = walk.table_base;
  if ((table & ~mask_bits(walk.output_bits - 1, 0)) != 0) {
    return fail(EventId::F_ADDR_SIZE, level, "translation table base is beyond the output size");
  }
  unsigned ap_table = 0;
  bool pxn_table = false;
  bool uxn_table = false;
  if (walk_cache_.enabled()) {
    // Resume from the deepest cached table descriptor for this input.
    for (int cached = 2; cached >= walk.start_level; --cached) {
      const TlbEntry* hit = walk_cache_.lookup(walk.stage2, cached, walk.cache_tag, input, level_shift(cached, granule));
      if (hit != nullptr) {
        level = cached + 1;
        table = hit->output_base;
        ap_table = hit->perms.s1_ap;
        pxn_table = hit->perms.s1_pxn;
        uxn_table = hit->perms.s1_uxn;
        break;
      }
    }
  }
  while (true) {
    const unsigned shift = level_shift(level, granule);
    const unsigned index_bits = level == walk.start_level ? walk.input_bits - shift : stride;
    const std::uint64_t index = (input >> shift) & ((1ull << index_bits) - 1);
    // A table is aligned to its own size; lower base bits are treated as zero.
    const std::uint64_t table_bytes = 8ull << index_bits;
    const std::uint64_t desc_addr = (table & ~(table_bytes - 1)) + index * 8;
    std::uint64_t desc_pa = desc_addr;
    TlbPermissions table_s2;  // nested: stage 2's permissions on this descriptor's page
    if (walk.nested_s2 != nullptr) {
      if (!translate_table_read(*walk.nested_s2, desc_addr, FaultClass::TT, *walk.access, desc_pa, fault, result,
                                &table_s2)) {
        return false;
      }
    }
    std::uint64_t raw = 0;
    ++result.walk_accesses;
    ++(walk.stage2 ? stats_.s2_walk_accesses_per_level : stats_.s1_walk_accesses_per_level)[static_cast<unsigned>(level)];
    const std::uint64_t read_start = tables_.local_time_ps(*walk.access);
    const bool read_ok = tables_.read64(desc_pa, raw, walk.stage2 ? AccessPurpose::Stage2Walk : AccessPurpose::Stage1Walk,
                                        *walk.access);
    (walk.stage2 ? stats_.s2_walk_level_latency : stats_.s1_walk_level_latency)[static_cast<unsigned>(level)].add(
        tables_.local_time_ps(*walk.access) - read_start);
    if (!read_ok) {
      fail(EventId::F_WALK_EABT, level, "translation table fetch aborted");
      fault.fetch_addr = desc_pa;
      // A stage-1 table fetch is CLASS=TT; a stage-2 one keeps the class of what
      // stage 2 was translating.
      fault.fault_class = walk.stage2 ? walk.fault_class : FaultClass::TT;
      return false;
    }
    const Descriptor d = decode_descriptor(raw, level, granule);
    if (d.kind == DescriptorKind::Invalid) {
      return fail(EventId::F_TRANSLATION, level, "invalid or reserved descriptor");
    }
    if (d.kind == DescriptorKind::Table) {
      if ((d.output_address & ~mask_bits(walk.output_bits - 1, 0)) != 0) {
        return fail(EventId::F_ADDR_SIZE, level, "next-level table address is beyond the output size");
      }
      if (!walk.stage2 && !walk.hierarchical_disabled) {
        ap_table |= d.ap_table;
        pxn_table |= d.pxn_table;
        uxn_table |= d.uxn_table;
      }
      if (walk_cache_.enabled() && epoch == invalidations_) {
        TlbEntry cached;
        cached.stage = walk.cache_tag.stage;
        cached.el2 = walk.cache_tag.el2;
        cached.vmid = walk.cache_tag.vmid;
        cached.asid = walk.cache_tag.asid;
        cached.size_log2 = static_cast<std::uint8_t>(shift);
        cached.input_base = input & ~((1ull << shift) - 1);
        cached.output_base = d.output_address;
        cached.perms.s1_ap = ap_table;
        cached.perms.s1_pxn = pxn_table;
        cached.perms.s1_uxn = uxn_table;
        walk_cache_.insert(walk.stage2, level, cached);
      }
      table = d.output_address;
      ++level;
      continue;
    }
    // Block or page.
    const std::uint64_t output = d.output_address & mask_bits(47, shift);
    if ((output & ~mask_bits(walk.output_bits - 1, 0)) != 0) {
      return fail(EventId::F_ADDR_SIZE, level, "output address is beyond the output size");
    }
    std::uint64_t updated = raw;
    const bool inhibit_updates = walk.access->inhibit_hardware_updates;
    if (!d.af) {
      if (walk.ha) {
        if (!inhibit_updates) updated |= 1ull << 10;  // HTTU: hardware sets the Access flag
      } else if (!walk.affd) {
        return fail(EventId::F_ACCESS, level, "Access flag is 0");
      }
    }
    TlbPermissions perms;
    if (walk.stage2) {
      perms.s2 = true;
      perms.s2_ap = d.ap;
      perms.s2_xn = (d.xn1 ? 2u : 0u) | (d.xn0 ? 1u : 0u);
      if (walk.hd && d.dbm && (d.ap & 2) == 0) {
        if (walk.write) {
          if (!inhibit_updates) updated |= 1ull << 7;  // HTTU dirty state: S2AP[1] set on the first write
          perms.s2_ap |= 2;
        } else {
          perms.s2_dirty_clean = true;
        }
      }
    } else {
      perms.s1 = true;
      perms.s1_ap = d.ap;
      if (ap_table & 2) perms.s1_ap |= 2;   // APTable[1]: no writes below
      if (ap_table & 1) perms.s1_ap &= ~1u; // APTable[0]: no EL0 access below
      perms.s1_pxn = d.xn0 || pxn_table;
      perms.s1_uxn = d.xn1 || uxn_table;
      if (walk.hd && d.dbm && (d.ap & 2) != 0 && (ap_table & 2) == 0) {
        TlbPermissions dirty = perms;
        dirty.s1_ap &= ~2u;
        if (walk.write && (walk.request == nullptr ||
                           stage1_permits(dirty, *walk.request, walk.single_privilege, walk.pan, walk.wxn))) {
          if (!inhibit_updates) updated &= ~(1ull << 7);  // HTTU dirty state: AP[2] cleared on the first permitted write
          perms = dirty;
        } else {
          perms.s1_dirty_clean = true;  // stays clean: a write walks again (and faults if refused)
        }
      }
    }
    if (updated != raw) {
      // Nested: the update is a write to the descriptor's IPA, so stage 2 must
      // allow writes there (a clean DBM page is marked dirty by stage 2's own
      // HTTU); otherwise a stage-2 Permission fault, CLASS = TT, TTRnW = 0.
      if (walk.nested_s2 != nullptr && !walk.stage2 && !stage2_permits(table_s2, false, false, false, caps_.xnx)) {
        bool writable = false;
        if (table_s2.s2_dirty_clean) {
          TlbEntry marked;
          // Its own fault (a walk abort, say) stands as it is.
          if (!translate_stage2(*walk.nested_s2, desc_addr, FaultClass::TT, *walk.access, marked, fault, result,
                                /*lookup_tlb=*/false, /*write=*/true)) {
            return false;
          }
          writable = stage2_permits(marked.perms, false, false, false, caps_.xnx);
        }
        if (!writable) {
          fault = Fault{};
          fault.id = EventId::F_PERMISSION;
          fault.stage2 = true;
          fault.fault_class = FaultClass::TT;
          fault.ipa = desc_addr;
          fault.table_write = true;
          fault.why = "stage 2 forbids the hardware update of a stage-1 descriptor";
          return false;
        }
      }
      ++stats_.hardware_updates;
      tables_.write64(desc_pa, updated, AccessPurpose::HardwareUpdate, *walk.access);
    }
    out = TlbEntry{};
    out.size_log2 = static_cast<std::uint8_t>(shift);
    out.input_base = input & ~((1ull << shift) - 1);
    out.output_base = output;
    if (d.contiguous && updated == raw) {
      // The Contiguous hint (Arm ARM D8.6.1): one entry for the whole run. Only
      // where the hint is consistent with this descriptor (the run lies in this
      // table, the output is aligned like the input); ignoring a hint is always
      // allowed. A walk that updated the descriptor (AF, dirty) keeps its page:
      // the run's other descriptors were not updated.
      const unsigned run_log2 = contiguous_run_log2(level, granule);
      const unsigned run_shift = shift + run_log2;
      const std::uint64_t run_mask = (1ull << run_shift) - 1;
      if (run_log2 <= index_bits && (output & run_mask) == (out.input_base & run_mask)) {
        out.size_log2 = static_cast<std::uint8_t>(run_shift);
        out.input_base = input & ~run_mask;
        out.output_base = output & ~run_mask;
        if (!walk.access->atos) ++stats_.contiguous_runs;
      }
    }
    out.global = walk.stage2 || !d.ng;
    out.perms = perms;
    const Shareability sh = shareability_from_sh(static_cast<unsigned>(extract(raw, 9, 8)));
    if (walk.stage2) {
      out.attributes.s2_memattr = static_cast<std::uint8_t>(extract(raw, 5, 2));
      out.attributes.s2_sh = sh;
    } else {
      out.attributes.s1_type = static_cast<std::uint8_t>(walk.mair >> (8 * extract(raw, 4, 2)));
      out.attributes.s1_sh = sh;
    }
    return true;
  }
}

bool TranslationEngine::translate_table_read(const Stage2Config& s2, std::uint64_t ipa, FaultClass fault_class,
                                             const AccessContext& access, std::uint64_t& pa, Fault& fault,
                                             TranslationResult& result, TlbPermissions* s2_perms) {
  TlbEntry entry;
  if (!translate_stage2(s2, ipa, fault_class, access, entry, fault, result)) return false;
  if (s2_perms != nullptr) *s2_perms = entry.perms;
  // A CD or stage-1 table read needs stage-2 read permission and, with S2PTW,
  // must not reach a Device page (STE.S2PTW).
  if (!stage2_permits(entry.perms, true, false, false, caps_.xnx) || (s2.ptw && is_device(mair_type_from_stage2(entry.attributes.s2_memattr)))) {
    fault = Fault{};
    fault.id = EventId::F_PERMISSION;
    fault.stage2 = true;
    fault.fault_class = fault_class;
    fault.ipa = ipa;
    fault.why = "stage 2 forbids this table read";
    return false;
  }
  pa = entry.output_base + (ipa - entry.input_base);
  return true;
}

bool TranslationEngine::translate_stage2(const Stage2Config& s2, std::uint64_t ipa, FaultClass fault_class,
                                         const AccessContext& access, TlbEntry& out, Fault& fault,
                                         TranslationResult& result, bool lookup_tlb, bool write) {
  const std::uint64_t epoch = invalidations_;  // see invalidations_
  const TlbTag tag{TlbStage::Stage2, false, s2.vmid, 0};
  if (lookup_tlb) {
    // A write to a clean (DBM) page must walk so that HTTU marks it dirty.
    const TlbEntry* hit = tlb_.lookup(tag, ipa);
    if (hit != nullptr && !(write && hit->perms.s2_dirty_clean)) {
      out = *hit;
      return true;
    }
  }
  if ((ipa >> s2.input_bits) != 0) {
    fault = Fault{};
    fault.id = EventId::F_TRANSLATION;
    fault.stage2 = true;
    fault.fault_class = fault_class;
    fault.level = s2.start_level;
    fault.ipa = ipa;
    fault.why = "IPA is beyond S2T0SZ";
    return false;
  }
  StageWalk walk;
  walk.stage2 = true;
  walk.granule_log2 = s2.granule_log2;
  walk.start_level = s2.start_level;
  walk.input_bits = s2.input_bits;
  walk.table_base = s2.ttb;
  walk.output_bits = s2.output_bits;
  walk.affd = s2.affd;
  walk.ha = s2.ha;
  walk.hd = s2.hd;
  walk.write = write;
  walk.fault_class = fault_class;
  walk.cache_tag = TlbTag{TlbStage::Stage2, false, s2.vmid, 0};
  walk.access = &access;
  if (!walk_stage(walk, ipa, out, fault, result)) {
    fault.ipa = ipa;
    return false;
  }
  out.stage = TlbStage::Stage2;
  out.vmid = s2.vmid;
  out.allowed_accesses = allowed_accesses(out.perms, false, false, false, caps_.xnx);
  settle_attributes(out);
  if (epoch == invalidations_ && !access.atos) tlb_.insert(out);
  return true;
}

void TranslationEngine::finish_fault(const TranslationRequest& request, const Fault& fault,
                                     const StreamTableEntry* ste, const ContextDescriptor* cd,
                                     TranslationResult& result) {
  result.outcome = TranslationOutcome::Terminated;
  result.fault = fault.id;
  if (!request.atos) {  // ATOS results are counted by the programming interface
    ++stats_.terminated;
    ++stats_.faults[fault.id];
  }
  // A stage-1 translation-related fault on a CD with A=0 completes as RAZ/WI
  // (only possible with TERM_MODEL=0); every other fault aborts (§5.5).
  if (!fault.configuration && !fault.stage2 && fault.id != EventId::F_WALK_EABT && cd != nullptr &&
      !caps_.term_model && !cd->abort && !request.atos) {
    result.outcome = TranslationOutcome::RazWi;
  }
  // Which faults are recorded (§5.4 CD.R, §5.2 STE.S2R, §7.3.3): configuration
  // errors always, C_BAD_STREAMID only with CR2.RECINVSID; walk external aborts
  // always; the translation-related faults as CD.R / STE.S2R say.
  bool record = true;
  if (request.atos) {
    // An ATOS result reports every fault (chapter 9: fault configuration does not apply).
  } else if (fault.id == EventId::C_BAD_STREAMID) {
    record = bit(control_.cr2, 1);
  } else if (!fault.configuration && fault.id != EventId::F_WALK_EABT) {
    // A stage-1 fault without a CD (stage 1 bypassed) is always recorded.
    record = fault.stage2 ? (ste != nullptr && ste->s2.record_faults) : (cd == nullptr || cd->record_faults);
  }
  if (!record) return;
  EventRecord e;
  e.id = fault.id;
  e.stream_id = request.stream_id;
  // F_STREAM_DISABLED defines only the StreamID; the other records carry the SubstreamID.
  e.ssv = request.ssv && fault.id != EventId::F_STREAM_DISABLED;
  e.substream_id = e.ssv ? request.substream_id : 0;
  if (!fault.configuration) {
    e.input_addr = request.address;
    e.rnw = request.read;
    e.pnu = request.privileged;
    e.ind = request.instruction && request.read;  // InD is 0 for writes (§7.3.13)
    e.s2 = fault.stage2;
    e.fault_class = fault.fault_class;
    e.ipa = fault.stage2 ? fault.ipa : 0;
    // TTRnW (F_PERMISSION, CLASS=TT): the stage-1 table access was a read.
    e.ttrnw = fault.id == EventId::F_PERMISSION && fault.stage2 && fault.fault_class == FaultClass::TT &&
              !fault.table_write;
  }
  e.fetch_addr = fault.fetch_addr;
  result.event = e;
}

bool TranslationEngine::resolve_context(const TranslationRequest& request, StreamContext& ctx,
                                        TranslationResult& result) {
  const AccessContext access = access_for(request);
  Fault fault;
  const std::shared_ptr<const StreamTableEntry> shared_ste = lookup_ste(request.stream_id, access, fault);
  if (shared_ste == nullptr) {
    finish_fault(request, fault, nullptr, nullptr, result);
    return false;
  }
  const StreamTableEntry* ste = shared_ste.get();
  ctx = StreamContext{};
  ctx.ste = shared_ste;
  auto config_fault = [&](EventId id, const char* why) {
    fault = Fault::configuration_error(id, why);
    finish_fault(request, fault, ste, nullptr, result);
    return false;
  };
  if (ste->config == SteConfig::Abort) {
    ctx.abort = true;
    return true;
  }
  bool stage1 = ste->stage1_enabled();
  std::uint32_t substream = 0;
  if (!stage1) {
    if (request.ssv) return config_fault(EventId::C_BAD_SUBSTREAMID, "SubstreamID on a stream without stage 1");
  } else if (ste->substreams_enabled()) {
    if (request.ssv) {
      if (request.substream_id >= (1u << ste->s1_cdmax)) {
        return config_fault(EventId::C_BAD_SUBSTREAMID, "SubstreamID is beyond S1CDMAX");
      }
      if (ste->s1dss == S1DefaultSubstream::Substream0 && request.substream_id == 0) {
        // CD 0 is reserved for traffic without a SubstreamID (§7.3.7).
        return config_fault(EventId::F_STREAM_DISABLED, "SubstreamID 0 is reserved by S1DSS=0b10");
      }
      substream = request.substream_id;
    } else if (ste->s1dss == S1DefaultSubstream::Terminate) {
      return config_fault(EventId::F_STREAM_DISABLED, "no SubstreamID and S1DSS=terminate");
    } else if (ste->s1dss == S1DefaultSubstream::Bypass) {
      stage1 = false;
    }
  } else if (request.ssv) {
    return config_fault(EventId::C_BAD_SUBSTREAMID, "SubstreamID on a stream with S1CDMAX=0");
  }
  ctx.stage1 = stage1;
  ctx.stage2 = ste->stage2_enabled();
  ctx.tag.vmid = ste->s2.vmid;
  ctx.overrides_attributes = caps_.attr_perms_override && (ste->privcfg >= 2 || ste->instcfg >= 2);
  ctx.type_overrides = AttributeOverrides{ste->mtcfg, ste->memattr, ste->alloccfg, ste->shcfg};
  ctx.overrides_types = caps_.attr_types_override && ctx.type_overrides.any();
  if (!stage1) {
    ctx.tag.stage = TlbStage::Stage2;
    return true;
  }
  ctx.cd = lookup_cd(*ste, request.stream_id, substream, access, fault, result);
  if (ctx.cd == nullptr) {
    finish_fault(request, fault, ste, nullptr, result);
    return false;
  }
  ctx.el2 = ste->strw == kStrwEl2;
  ctx.single_privilege = ctx.el2 && !bit(control_.cr2, 0);  // EL2 without E2H
  ctx.tag.el2 = ctx.el2;
  ctx.tag.stage = ctx.stage2 ? TlbStage::Nested : TlbStage::Stage1;
  // Without E2H the EL2 regime has no ASIDs: CD.ASID is IGNORED and every entry is global.
  ctx.tag.asid = ctx.single_privilege ? 0 : ctx.cd->asid;
  return true;
}

bool TranslationEngine::walk_for(const TranslationRequest& request, const StreamContext& ctx,
                                 const ContextDescriptor& cd, std::uint64_t key, unsigned range_index,
                                 TlbEntry& walked, TranslationResult& result) {
  const AccessContext access = access_for(request);
  const std::uint64_t epoch = invalidations_;  // see invalidations_
  const StreamTableEntry& ste = *ctx.ste;
  const bool write = !request.read;
  Fault fault;
  auto stage1_fault = [&](EventId id, const char* why) {
    fault = Fault{};
    fault.id = id;
    fault.why = why;
    finish_fault(request, fault, &ste, &cd, result);
    return false;
  };
  if (ctx.stage1) {
    TlbEntry& entry = walked;
    const Stage1Range& range = cd.range[range_index];
    if (range.disabled) return stage1_fault(EventId::F_TRANSLATION, "EPDx=1 for the selected range");
    const unsigned ia = range.input_bits();
    const std::uint64_t upper = range.tbi ? mask_bits(55, ia) : mask_bits(63, ia);
    const bool in_range = (request.address & upper) == (range_index ? upper : 0);
    // Without E2H an EL2 regime has only the TTB0 range.
    const bool range_exists = range_index == 0 || !ctx.single_privilege;
    if (!in_range || !range_exists) return stage1_fault(EventId::F_TRANSLATION, "address outside the TTBx range");
    StageWalk walk;
    walk.granule_log2 = range.granule_log2;
    walk.input_bits = ia;
    walk.start_level = stage1_start_level(ia, range.granule_log2);
    walk.table_base = range.ttb;
    walk.output_bits = cd.output_bits;
    walk.hierarchical_disabled = range.had;
    walk.affd = cd.affd;
    walk.ha = cd.ha;
    walk.hd = cd.hd;
    walk.write = write;
    walk.nested_s2 = ctx.stage2 ? &ste.s2 : nullptr;
    walk.cache_tag = ctx.tag;
    walk.request = &request;
    walk.single_privilege = ctx.single_privilege;
    walk.pan = cd.pan;
    walk.wxn = cd.wxn;
    walk.mair = cd.mair;
    walk.access = &access;
    if (!walk_stage(walk, key, entry, fault, result)) {
      finish_fault(request, fault, &ste, &cd, result);
      return false;
    }
    // Stage-1 permissions are checked before the output goes to stage 2.
    if (!stage1_permits(entry.perms, request, ctx.single_privilege, cd.pan, cd.wxn)) {
      return stage1_fault(EventId::F_PERMISSION, "stage-1 permissions forbid the access");
    }
    entry.stage = ctx.tag.stage;
    entry.el2 = ctx.el2;
    entry.vmid = ctx.tag.vmid;
    entry.asid = ctx.tag.asid;
    if (ctx.single_privilege) entry.global = true;
    if (ctx.stage2 && !ctx.stop_at_ipa) {
      const std::uint64_t ipa = entry.output_base + (key - entry.input_base);
      TlbEntry s2_entry;
      if (!translate_stage2(ste.s2, ipa, FaultClass::IN, access, s2_entry, fault, result, true, write)) {
        finish_fault(request, fault, &ste, &cd, result);
        return false;
      }
      // The combined entry covers the smaller of the two mappings.
      const std::uint8_t size = std::min(entry.size_log2, s2_entry.size_log2);
      const std::uint64_t size_mask = (1ull << size) - 1;
      const std::uint64_t pa = s2_entry.output_base + (ipa - s2_entry.input_base);
      entry.size_log2 = size;
      entry.input_base = key & ~size_mask;
      entry.ipa_base = ipa & ~size_mask;
      entry.output_base = pa & ~size_mask;
      entry.perms.s2 = true;
      entry.perms.s2_ap = s2_entry.perms.s2_ap;
      entry.perms.s2_xn = s2_entry.perms.s2_xn;
      entry.perms.s2_dirty_clean = s2_entry.perms.s2_dirty_clean;
      entry.attributes.s2_memattr = s2_entry.attributes.s2_memattr;
      entry.attributes.s2_sh = s2_entry.attributes.s2_sh;
    }
    entry.allowed_accesses = allowed_accesses(entry.perms, ctx.single_privilege, cd.pan, cd.wxn, caps_.xnx);
    settle_attributes(entry);
    if (epoch == invalidations_ && !access.atos) tlb_.insert(entry);
    return true;
  }
  // Stage 1 bypassed: the address goes to stage 2 as the IPA, and one beyond
  // the IAS (= OAS, no AArch32 tables) is a stage-1 Address Size fault (§3.4).
  if ((key >> caps_.oas_bits) != 0) {
    fault.id = EventId::F_ADDR_SIZE;
    fault.why = "stage-1-bypassed address is beyond the IAS";
    finish_fault(request, fault, &ste, nullptr, result);
    return false;
  }
  if (!translate_stage2(ste.s2, key, FaultClass::IN, access, walked, fault, result, false, write)) {
    finish_fault(request, fault, &ste, nullptr, result);
    return false;
  }
  return true;
}

void TranslationEngine::permission_fault(const TranslationRequest& request, const StreamContext& ctx, bool stage2,
                                         std::uint64_t ipa,
                                         TranslationResult& result) {
  Fault fault;
  fault.id = EventId::F_PERMISSION;
  fault.stage2 = stage2;
  fault.fault_class = FaultClass::IN;
  fault.ipa = ipa;
  fault.why = stage2 ? "stage-2 permissions forbid the access" : "stage-1 permissions forbid the access";
  finish_fault(request, fault, ctx.ste.get(), ctx.cd.get(), result);
}

MemoryAttributes TranslationEngine::output_attributes(const MemoryAttributes& incoming, const StreamContext& ctx,
                                                     const TlbEntry* entry) {
  if (entry != nullptr && !ctx.overrides_types && incoming == MemoryAttributes{}) {
    return entry->attributes.default_output;  // the hit path's usual case
  }
  return table_attributes(ctx.overrides_types ? apply_overrides(incoming, ctx.type_overrides) : incoming, entry);
}

MemoryAttributes TranslationEngine::table_attributes(MemoryAttributes attributes, const TlbEntry* entry) {
  if (entry != nullptr) {
    if (entry->perms.s1) {
      attributes = stage1_attributes(attributes, entry->attributes.s1_type, entry->attributes.s1_sh);
    }
    if (entry->perms.s2) {
      attributes = combine_stage2(attributes, entry->attributes.s2_memattr, entry->attributes.s2_sh);
    }
  }
  return consistent(attributes);
}

void TranslationEngine::bypass(const TranslationRequest& request, unsigned privcfg, unsigned instcfg,
                               unsigned nscfg, const MemoryAttributes& attributes, TranslationResult& result) {
  result.outcome = TranslationOutcome::Bypassed;
  result.attributes = attributes;
  result.output_address = request.address;
  result.input_base = request.address & ~0xfffull;
  result.output_base = result.input_base;
  result.size = 0x1000;
  result.readable = result.writable = true;
  result.privcfg = static_cast<std::uint8_t>(privcfg);
  result.instcfg = static_cast<std::uint8_t>(instcfg);
  result.nscfg = static_cast<std::uint8_t>(nscfg);
  ++stats_.bypassed;
}

void TranslationEngine::translate_into(const TranslationRequest& request, ContextMemo& memo, MicroTlb* micro,
                                       TranslationResult& result) {
  if (request.instruction && !request.read) {
    // Writes are data whatever the incoming InD says (STE.INSTCFG, §7.3).
    TranslationRequest data_write = request;
    data_write.instruction = false;
    translate_into(data_write, memo, micro, result);
    return;
  }
  ++stats_.translations;
  // SMMUEN=0: GBPA decides (§6.3.14); terminated traffic records nothing.
  if (!control_.smmu_enabled) {
    // §3.4: bypassed addresses beyond the OAS are terminated without an event.
    if ((control_.gbpa & reg::gbpa::ABORT) || (request.address >> caps_.oas_bits) != 0) {
      result.outcome = TranslationOutcome::Terminated;
      ++stats_.terminated;
      return;
    }
    // §13.2: the GBPA fields replace the incoming attributes; its type fields
    // are "use incoming" without IDR1.ATTR_TYPES_OVR. NSCFG (15:14) is in
    // SMMU_S_GBPA only: no effect on Non-secure streams.
    const std::uint64_t g = control_.gbpa;
    const AttributeOverrides overrides{(g & reg::gbpa::MTCFG) != 0, static_cast<unsigned>(reg::gbpa::MEMATTR.get(g)),
                                       static_cast<unsigned>(reg::gbpa::ALLOCCFG.get(g)),
                                       static_cast<unsigned>(reg::gbpa::SHCFG.get(g))};
    bypass(request, static_cast<unsigned>(reg::gbpa::PRIVCFG.get(g)), static_cast<unsigned>(reg::gbpa::INSTCFG.get(g)),
           static_cast<unsigned>(extract(g, 15, 14)),
           consistent(caps_.attr_types_override ? apply_overrides(request.incoming, overrides) : request.incoming),
           result);
    // No cached structure is used: a GBPA or CR0 change (control) ends this
    // bypass; a CFGI of the stream revokes a grant built on it, conservatively.
    if (request.want_access_rights) result.scope = TranslationScope{request.stream_id};
    return;
  }

  // The stream's context (STE, CD, TLB tag) is memoised for the last stream seen:
  // DMA arrives in bursts from one stream, and every CFGI drops the memo.
  if (!(memo.generation_ == generation_ && memo.stream_id_ == request.stream_id && memo.ssv_ == request.ssv &&
        memo.substream_id_ == request.substream_id)) {
    memo.generation_ = 0;
    // Stamped with the generation from before the (possibly waiting) fetches,
    // so a change meanwhile makes the memo stale at its next use.
    const std::uint64_t generation = generation_;
    StreamContext resolved;
    if (!resolve_context(request, resolved, result)) return;
    memo.context_ = std::move(resolved);
    memo.generation_ = generation;
    memo.stream_id_ = request.stream_id;
    memo.ssv_ = request.ssv;
    memo.substream_id_ = request.substream_id;
  } else {
    ++stats_.config_cache_hits;
  }
  const StreamContext& ctx = memo.context_;
  if (ctx.overrides_attributes) {
    // STE.PRIVCFG / INSTCFG replace the incoming attributes (IDR1.ATTR_PERMS_OVR);
    // permissions and records then use the overridden values.
    TranslationRequest overridden = request;
    if (ctx.ste->privcfg >= 2) overridden.privileged = ctx.ste->privcfg == 3;
    if (ctx.ste->instcfg >= 2) overridden.instruction = ctx.ste->instcfg == 3 && overridden.read;
    translate_in_context(overridden, ctx, nullptr, result);
  } else {
    translate_in_context(request, ctx, micro, result);
  }
  return;
}

// The hit path runs through here on every DMA beat: inlined into its caller.
[[gnu::always_inline]] inline void TranslationEngine::complete_translation(const TranslationRequest& request, const StreamContext& ctx,
                                             const ContextDescriptor& cd, std::uint64_t key, const TlbEntry& entry,
                                             MicroTlb* micro, TranslationResult& result) {
  if (((entry.allowed_accesses >> access_kind(request.read, request.privileged, request.instruction)) & 1) == 0) {
    // Which stage refuses decides the record: stage 1 is checked first.
    const bool stage1_refuses = entry.perms.s1 && !stage1_permits(entry.perms, request, ctx.single_privilege, cd.pan, cd.wxn);
    permission_fault(request, ctx, !stage1_refuses,
                     stage1_refuses ? 0 : (ctx.stage1 ? entry.ipa_base + (key - entry.input_base) : key), result);
    return;
  }

  result.outcome = TranslationOutcome::Translated;
  result.attributes = output_attributes(request.incoming, ctx, &entry);
  result.output_address = entry.output_base + (key - entry.input_base);
  result.size = 1ull << entry.size_log2;
  result.input_base = request.address & ~(result.size - 1);
  result.output_base = entry.output_base;
  if (micro != nullptr) {
    // Writes to a clean DBM page walk (HTTU marks it dirty): reads only then.
    const bool clean = entry.perms.s1_dirty_clean || entry.perms.s2_dirty_clean;
    MicroTlbEntry& fill = micro->entries_[micro->victim_];
    micro->recent_ = &fill;
    micro->victim_ = (micro->victim_ + 1) % micro->size();
    fill.epoch = invalidations_;
    fill.stream_id = request.stream_id;
    fill.ssv = request.ssv;
    fill.substream_id = request.substream_id;
    fill.size_log2 = entry.size_log2;
    fill.allowed_accesses = static_cast<std::uint8_t>(entry.allowed_accesses & (clean ? 0xAA : 0xFF));
    fill.privcfg = result.privcfg;
    fill.instcfg = result.instcfg;
    fill.nscfg = result.nscfg;
    fill.incoming = request.incoming;
    fill.attributes = result.attributes;
    fill.input_base = result.input_base;
    fill.output_base = result.output_address - (request.address - result.input_base);
  }
  if (request.want_access_rights) {
    // What a DMI grant for this window may allow.
    result.readable = (entry.allowed_accesses >> access_kind(true, request.privileged, request.instruction)) & 1;
    result.writable = !entry.perms.s1_dirty_clean && !entry.perms.s2_dirty_clean &&
                      ((entry.allowed_accesses >> access_kind(false, request.privileged, request.instruction)) & 1);
    result.scope = TranslationScope{request.stream_id, request.ssv, request.substream_id, true, entry.stage,
                                    entry.el2,         entry.global, entry.size_log2,    entry.vmid,
                                    entry.asid,        entry.input_base};
  }
}

void TranslationEngine::translate_in_context(const TranslationRequest& request, const StreamContext& ctx,
                                             MicroTlb* micro, TranslationResult& result) {
  const StreamTableEntry& ste = *ctx.ste;
  result.privcfg = static_cast<std::uint8_t>(ste.privcfg);
  result.instcfg = static_cast<std::uint8_t>(ste.instcfg);
  result.nscfg = static_cast<std::uint8_t>(ste.nscfg);
  if (ctx.abort) {
    result.outcome = TranslationOutcome::Terminated;
    ++stats_.terminated;
    return;
  }
  if (!ctx.stage1 && !ctx.stage2) {
    // §3.4: a bypassed address beyond the OAS is a stage-1 Address Size fault.
    if ((request.address >> caps_.oas_bits) != 0) {
      Fault fault;
      fault.id = EventId::F_ADDR_SIZE;
      fault.why = "bypassed address is beyond the OAS";
      finish_fault(request, fault, &ste, nullptr, result);
      return;
    }
    bypass(request, ste.privcfg, ste.instcfg, ste.nscfg, output_attributes(request.incoming, ctx, nullptr), result);
    // STE bypass: only the stream's configuration (a CFGI) covers it.
    if (request.want_access_rights) result.scope = TranslationScope{request.stream_id, request.ssv, request.substream_id};
    return;
  }

  const ContextDescriptor& cd = ctx.cd != nullptr ? *ctx.cd : no_cd_;
  std::uint64_t key = request.address;
  unsigned range_index = 0;
  if (ctx.stage1) {
    // TTB0 for addresses with bit 55 clear, TTB1 otherwise; with TBI the top byte
    // is ignored, so the TLB is indexed by the address with it sign-extended.
    range_index = bit(request.address, 55) ? 1 : 0;
    if (cd.range[range_index].tbi) {
      key = range_index ? (key | mask_bits(63, 56)) : (key & ~mask_bits(63, 56));
    }
  }

  // The hit path: one TLB lookup and the permission checks. Everything that can
  // fault or walk lives in walk_for() and permission_fault().
  const TlbEntry* hit = request.atos ? nullptr : tlb_.lookup(ctx.tag, key);
  if (hit != nullptr && (request.read || !(hit->perms.s1_dirty_clean || hit->perms.s2_dirty_clean))) {
    result.tlb_hit = true;
    complete_translation(request, ctx, cd, key, *hit, micro, result);
    return;
  }
  // The walk may wait in the memory target, and the memo it came from may be
  // replaced meanwhile: the walk keeps its own copy of the context.
  const StreamContext pinned = ctx;
  const ContextDescriptor& pinned_cd = pinned.cd != nullptr ? *pinned.cd : no_cd_;
  TlbEntry walked;
  if (walk_for(request, pinned, pinned_cd, key, range_index, walked, result)) {
    // Filled from the TLB on the next access, not from a walk that may have
    // overlapped an invalidation.
    complete_translation(request, pinned, pinned_cd, key, walked, nullptr, result);
  }
}


AtosResult TranslationEngine::translate_atos(const AtosRequest& atos, void* local_time) {
  namespace g = reg::gatos;
  const bool want_stage1 = atos.stages == AtosStages::Stage1 || atos.stages == AtosStages::Both;
  const bool want_stage2 = atos.stages == AtosStages::Stage2 || atos.stages == AtosStages::Both;
  // §9.1.3 INV_REQ: a request this interface cannot make.
  if (atos.stages == AtosStages::Reserved || (want_stage1 && !caps_.stage1) || (want_stage2 && !caps_.stage2) ||
      (atos.stages == AtosStages::Stage2 && atos.ssv)) {
    return AtosResult::error(g::kInvReq);
  }
  TranslationRequest request;
  request.stream_id = atos.stream_id;
  request.ssv = atos.ssv;
  request.substream_id = atos.substream_id;
  request.address = atos.address;
  request.read = atos.read;
  request.privileged = atos.privileged;
  request.instruction = atos.instruction;
  request.local_time = local_time;
  request.atos = true;
  request.inhibit_httu = atos.inhibit_httu;
  TranslationResult result;

  // The fault as GATOS_PAR reports it (§6.3.40, §9.1.4).
  auto fault_result = [&]() {
    AtosResult r = AtosResult::error(result.fault ? static_cast<unsigned>(*result.fault) : g::kInternalError);
    if (!result.event || !result.event->s2) return r;
    const EventRecord& e = *result.event;
    if (atos.stages == AtosStages::Stage1) {
      // A stage-1 request on a nested stream sees stage 2's failures as the
      // fetch that failed (§9.1.4).
      if (e.fault_class != FaultClass::IN) {
        r.fault_code = static_cast<unsigned>(e.fault_class == FaultClass::CD ? EventId::F_CD_FETCH : EventId::F_WALK_EABT);
      }
      return r;
    }
    switch (e.fault_class) {
      case FaultClass::CD: r.reason = AtosFaultReason::Stage2OnCdFetch; break;
      case FaultClass::TT: r.reason = AtosFaultReason::Stage2OnTableWalk; break;
      case FaultClass::IN: r.reason = AtosFaultReason::Stage2OnInput; break;
    }
    // A stage-2-only request's IPA is its input: FADDR stays zero.
    r.fault_address = atos.stages == AtosStages::Stage2 ? 0 : e.ipa;
    return r;
  };

  // §9.1.5 priority: the StreamID and STE errors, then INV_STAGE, then the rest.
  Fault fault;
  const std::shared_ptr<const StreamTableEntry> ste = lookup_ste(request.stream_id, access_for(request), fault);
  if (ste == nullptr) {
    finish_fault(request, fault, nullptr, nullptr, result);
    return fault_result();
  }
  if (ste->config == SteConfig::Abort || ste->config == SteConfig::Bypass ||
      (want_stage1 && !ste->stage1_enabled()) || (want_stage2 && !ste->stage2_enabled())) {
    return AtosResult::error(g::kInvStage);
  }
  StreamContext ctx;
  if (atos.stages == AtosStages::Stage2) {
    // The input is an IPA: no CD is involved.
    ctx.ste = ste;
    ctx.stage2 = true;
    ctx.tag.stage = TlbStage::Stage2;
    ctx.tag.vmid = ste->s2.vmid;
  } else if (!resolve_context(request, ctx, result)) {
    return fault_result();
  }
  // Neither the STE's attribute overrides nor PRIVCFG/INSTCFG apply (§9.1.4).
  ctx.overrides_types = false;
  if (atos.stages == AtosStages::Stage1) {
    if (!ctx.stage1) {
      // S1DSS bypass without a SubstreamID: stage 1 passes the address through.
      AtosResult r;
      r.output_address = atos.address;
      r.attributes = consistent(MemoryAttributes{});
      return r;
    }
    ctx.stop_at_ipa = true;
  }
  translate_in_context(request, ctx, nullptr, result);
  if (!result.ok()) return fault_result();
  AtosResult r;
  r.output_address = result.output_address;
  r.size_log2 = static_cast<unsigned>(__builtin_ctzll(result.size));  // a power of two
  r.attributes = result.attributes;
  return r;
}

void TranslationEngine::invalidate_ste_range(std::uint32_t first, std::uint64_t count) {
  ++generation_;
  const std::uint64_t last = static_cast<std::uint64_t>(first) + count;
  ste_cache_.erase_if([&](std::uint32_t sid) { return sid >= first && sid < last; });
  // CDs are reached through the STE: invalidating an STE also drops them.
  cd_cache_.erase_if([&](std::uint64_t key) {
    const std::uint64_t sid = key >> 20;
    return sid >= first && sid < last;
  });
}

void TranslationEngine::invalidate_cds(std::uint32_t stream_id, std::optional<std::uint32_t> substream_id) {
  ++generation_;
  if (substream_id) {
    cd_cache_.erase(cd_cache_key(stream_id, *substream_id));
    return;
  }
  cd_cache_.erase_if([&](std::uint64_t key) { return (key >> 20) == stream_id; });
}

namespace {

// The input range a TLBI by address covers: one address, or a range of
// (NUM+1) * 2^SCALE translation granules when TG != 0 (range invalidation).
struct AddressScope {
  std::uint64_t start = 0;
  std::uint64_t end = 0;  // exclusive; 0 with start 0 means "everything"
  bool overlaps(const TlbEntry& e, std::uint64_t base) const {
    const std::uint64_t entry_end = base + (1ull << e.size_log2);
    return base < end && start < entry_end;
  }
};

AddressScope address_scope(const Command& cmd) {
  AddressScope scope;
  scope.start = cmd.address & ~0xfffull;
  if (cmd.tg == 0) {
    scope.end = scope.start + 1;
  } else {
    const unsigned granule = cmd.tg == 1 ? 12 : cmd.tg == 2 ? 14 : 16;
    // SMMU range invalidation (§4.4.1.1): (NUM+1) * 2^SCALE granules.
    const std::uint64_t pages = static_cast<std::uint64_t>(cmd.num + 1) << cmd.scale;
    scope.end = scope.start + (pages << granule);
    if (scope.end < scope.start) scope.end = ~0ull;
  }
  return scope;
}

// TLBI VA addresses are compared with the TLB's sign-extended keys.
std::uint64_t canonical_va(std::uint64_t va) {
  return bit(va, 55) ? (va | mask_bits(63, 56)) : (va & ~mask_bits(63, 56));
}

}  // namespace

TranslationEngine::InvalidationScope TranslationEngine::scope_of(const Command& cmd) const {
  const bool stage2_vmid = caps_.stage2;  // without stage 2, VMID is not a tag
  const std::uint16_t vmid = cmd.vmid;
  const std::uint16_t asid = cmd.asid;
  auto vmid_matches = [stage2_vmid, vmid](const TlbEntry& e) { return !stage2_vmid || e.vmid == vmid; };
  auto is_s1 = [](const TlbEntry& e) { return e.stage != TlbStage::Stage2; };
  InvalidationScope scope;
  switch (cmd.opcode) {
    case CommandOpcode::CFGI_STE:
      scope.streams = true;
      scope.first_stream = cmd.stream_id;
      scope.end_stream = scope.first_stream + 1;
      break;
    case CommandOpcode::CFGI_STE_RANGE: {
      const unsigned range = std::min<unsigned>(cmd.range, 31);
      const std::uint64_t count = 1ull << (range + 1);
      scope.streams = true;
      scope.first_stream = cmd.stream_id & ~(count - 1);
      scope.end_stream = scope.first_stream + count;
      break;
    }
    case CommandOpcode::CFGI_CD:
    case CommandOpcode::CFGI_CD_ALL:
      scope.cds = true;
      scope.first_stream = cmd.stream_id;
      scope.end_stream = scope.first_stream + 1;
      if (cmd.opcode == CommandOpcode::CFGI_CD) scope.substream_id = cmd.substream_id;
      break;
    case CommandOpcode::TLBI_NH_ALL:
      scope.tlb = [=](const TlbEntry& e) { return is_s1(e) && !e.el2 && vmid_matches(e); };
      break;
    case CommandOpcode::TLBI_NH_ASID:
      scope.tlb = [=](const TlbEntry& e) {
        return is_s1(e) && !e.el2 && vmid_matches(e) && !e.global && e.asid == asid;
      };
      break;
    case CommandOpcode::TLBI_NH_VA:
    case CommandOpcode::TLBI_NH_VAA:
    case CommandOpcode::TLBI_EL2_VA:
    case CommandOpcode::TLBI_EL2_VAA: {
      const bool el2 = cmd.opcode == CommandOpcode::TLBI_EL2_VA || cmd.opcode == CommandOpcode::TLBI_EL2_VAA;
      // Without E2H, TLBI_EL2_VA has no ASID to match (§4.4.2).
      const bool all_asids = cmd.opcode == CommandOpcode::TLBI_NH_VAA || cmd.opcode == CommandOpcode::TLBI_EL2_VAA ||
                             (el2 && !bit(control_.cr2, 0));
      Command c = cmd;
      c.address = canonical_va(cmd.address);
      const AddressScope addresses = address_scope(c);
      scope.leaf_only = cmd.leaf;
      scope.tlb = [=](const TlbEntry& e) {
        return is_s1(e) && e.el2 == el2 && (el2 || vmid_matches(e)) && (all_asids || e.global || e.asid == asid) &&
               addresses.overlaps(e, e.input_base);
      };
      break;
    }
    case CommandOpcode::TLBI_EL2_ALL:
      scope.tlb = [](const TlbEntry& e) { return e.el2; };
      break;
    case CommandOpcode::TLBI_EL2_ASID:
      scope.tlb = [=](const TlbEntry& e) { return e.el2 && !e.global && e.asid == asid; };
      break;
    case CommandOpcode::TLBI_S12_VMALL:
      scope.tlb = [=](const TlbEntry& e) { return !e.el2 && vmid_matches(e); };
      break;
    case CommandOpcode::TLBI_S2_IPA: {
      // Only stage-2 entries are tagged by IPA; combined stage 1+2 entries are
      // removed by the TLBI_NH_* / TLBI_S12_VMALL that software must follow with.
      const AddressScope addresses = address_scope(cmd);
      scope.leaf_only = cmd.leaf;
      scope.tlb = [=](const TlbEntry& e) {
        return e.stage == TlbStage::Stage2 && vmid_matches(e) && addresses.overlaps(e, e.input_base);
      };
      break;
    }
    case CommandOpcode::TLBI_NSNH_ALL:
      scope.tlb = [](const TlbEntry& e) { return !e.el2; };
      break;
    case CommandOpcode::TLBI_EL3_ALL:
    case CommandOpcode::TLBI_EL3_VA:
      // Secure EL3 entries never exist in this non-secure model.
    case CommandOpcode::PREFETCH_CONFIG:
    case CommandOpcode::PREFETCH_ADDR:
    case CommandOpcode::ATC_INV:
    case CommandOpcode::PRI_RESP:
    case CommandOpcode::RESUME:
    case CommandOpcode::STALL_TERM:
    case CommandOpcode::CMD_SYNC:
      // Prefetches are hints the model may ignore; there is no ATC behind this
      // SMMU; stall/PRI commands are handled by the command queue engine.
      break;
  }
  return scope;
}

void TranslationEngine::execute(const Command& cmd) {
  ++invalidations_;  // walks in flight must not cache what this removes
  const InvalidationScope scope = scope_of(cmd);
  if (scope.streams) invalidate_ste_range(static_cast<std::uint32_t>(scope.first_stream),
                                          scope.end_stream - scope.first_stream);
  if (scope.cds) invalidate_cds(static_cast<std::uint32_t>(scope.first_stream), scope.substream_id);
  if (scope.tlb) {
    // Every TLBI also removes the walk-cache entries in its scope, except that a
    // by-address TLBI with Leaf=1 only needs to reach last-level entries.
    tlb_.invalidate_if(scope.tlb);
    if (!scope.leaf_only) walk_cache_.invalidate_if(scope.tlb);
  }
}

bool TranslationEngine::invalidation_covers(const Command& command, const TranslationScope& used) const {
  const InvalidationScope scope = scope_of(command);
  const bool stream_in_range = used.stream_id >= scope.first_stream && used.stream_id < scope.end_stream;
  if (scope.streams && stream_in_range) return true;
  if (scope.cds && stream_in_range) {
    // CFGI_CD names a SubstreamID; traffic without one uses CD 0.
    const std::uint32_t ssid = used.ssv ? used.substream_id : 0;
    return !scope.substream_id || *scope.substream_id == ssid;
  }
  if (!scope.tlb || !used.cached) return false;
  TlbEntry entry;
  entry.valid = true;
  entry.stage = used.stage;
  entry.el2 = used.el2;
  entry.global = used.global;
  entry.size_log2 = used.size_log2;
  entry.vmid = used.vmid;
  entry.asid = used.asid;
  entry.input_base = used.input_base;
  return scope.tlb(entry);
}

}  // namespace smmuv3tlm::smmu
