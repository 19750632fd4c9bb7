#include "smmuv3tlm/platforms/driver/smmu_driver.h"

#include <algorithm>

#include <fmt/format.h>

#include "smmuv3tlm/models/smmu/arch/bits.h"
#include "smmuv3tlm/models/smmu/arch/registers.h"
#include "smmuv3tlm/models/smmu/arch/stream_table.h"
#include "smmuv3tlm/platforms/driver/handover_record.h"

namespace smmuv3tlm::driver {

namespace {

namespace reg = smmu::reg;
constexpr unsigned kBatchEntries = 64;   // Linux's CMDQ_BATCH_ENTRIES (BITS_PER_LONG)
constexpr std::uint32_t kCr1 = 0xD75;    // tables and queues: inner shareable, write-back (CR1 fields)
constexpr std::uint32_t kCmdqErrIllegal = 1;

// IDR5.OAS encodings -> bits (reserved encodings: none).
unsigned oas_bits_of(unsigned encoding) {
  static constexpr unsigned kBits[] = {32, 36, 40, 42, 44, 48, 52};
  return encoding < 7 ? kBits[encoding] : 0;
}

}  // namespace

SmmuDriver::SmmuDriver(DriverBus& bus, DriverMemory& memory, const DriverOptions& options)
    : bus_(bus), memory_(memory), options_(options) {}

template <typename Done>
bool SmmuDriver::poll_until(Done done) {
  for (unsigned i = 0; i < options_.poll_limit; ++i) {
    if (done()) return true;
    bus_.relax();
  }
  return false;
}

template <typename Done>
void SmmuDriver::poll(const char* what, Done done) {
  if (!poll_until(std::move(done))) throw DriverError(fmt::format("timed out waiting for {}", what));
}

const DriverFeatures& SmmuDriver::probe() {
  const std::uint32_t idr0 = read32(reg::IDR0);
  const std::uint32_t idr1 = read32(reg::IDR1);
  const std::uint32_t idr3 = read32(reg::IDR3);
  const std::uint32_t idr5 = read32(reg::IDR5);
  namespace i0 = reg::idr0;
  namespace i1 = reg::idr1;
  DriverFeatures f;
  f.stage1 = i0::S1P.get(idr0) != 0 && !options_.disable_s1;
  f.stage2 = i0::S2P.get(idr0) != 0;
  if (!f.stage1 && !f.stage2) {
    throw DriverError(options_.disable_s1 && i0::S1P.get(idr0) != 0
                          ? "IDR0.S2P = 0 and disable_s1 hides IDR0.S1P: no translation left"
                          : "IDR0.S1P = 0 and IDR0.S2P = 0: no translation support");
  }
  if ((i0::TTF.get(idr0) & 0b10) == 0) throw DriverError("IDR0.TTF: the AArch64 table format is not supported");
  // Little-endian tables (TTENDIAN 0b00 mixed, 0b10 little).
  const std::uint64_t endian = i0::TTENDIAN.get(idr0);
  if (endian != 0b00 && endian != 0b10) throw DriverError("IDR0.TTENDIAN: little-endian tables are not supported");
  f.two_level_stream_table = i0::ST_LEVEL.get(idr0) == 0b01;
  f.two_level_cd_table = i0::CD2L.get(idr0) != 0;
  f.asid16 = i0::ASID16.get(idr0) != 0;
  f.vmid16 = i0::VMID16.get(idr0) != 0;
  f.hyp = i0::HYP.get(idr0) != 0;
  f.msi = i0::MSI.get(idr0) != 0;
  f.coherent = i0::COHACC.get(idr0) != 0 && !options_.force_non_coherent;
  f.sev = i0::SEV.get(idr0) != 0;
  const std::uint64_t httu = i0::HTTU.get(idr0);
  f.httu_access = httu >= 1;
  f.httu_dirty = httu == 2;
  f.stall_model = static_cast<unsigned>(i0::STALL_MODEL.get(idr0));
  if (f.stall_model == 0b11) throw DriverError("IDR0.STALL_MODEL = 0b11 is reserved");
  if (i1::TABLES_PRESET.get(idr1) != 0 || i1::QUEUES_PRESET.get(idr1) != 0 || i1::REL.get(idr1) != 0) {
    throw DriverError("IDR1.TABLES_PRESET/QUEUES_PRESET/REL: embedded implementations are not supported");
  }
  f.attr_types_override = i1::ATTR_TYPES_OVR.get(idr1) != 0;
  f.cmdq_log2 = static_cast<unsigned>(i1::CMDQS.get(idr1));
  if (f.cmdq_log2 <= 6) {
    throw DriverError(fmt::format("IDR1.CMDQS = {}: command queues of at most {} entries are not supported",
                                  f.cmdq_log2, kBatchEntries));
  }
  f.eventq_log2 = static_cast<unsigned>(i1::EVENTQS.get(idr1));
  f.sid_bits = static_cast<unsigned>(i1::SIDSIZE.get(idr1));
  f.ssid_bits = static_cast<unsigned>(i1::SSIDSIZE.get(idr1));
  f.ril = reg::idr3::RIL.get(idr3) != 0;
  f.oas_bits = oas_bits_of(static_cast<unsigned>(reg::idr5::OAS.get(idr5)));
  if (f.oas_bits == 0) throw DriverError("IDR5.OAS holds a reserved encoding");
  f.granule_4k = reg::idr5::GRAN4K.get(idr5) != 0;
  f.granule_16k = reg::idr5::GRAN16K.get(idr5) != 0;
  f.granule_64k = reg::idr5::GRAN64K.get(idr5) != 0;
  if (!f.granule_4k && !f.granule_16k && !f.granule_64k) throw DriverError("IDR5.GRAN*: no translation granule");
  features_ = f;
  probed_ = true;
  return features_;
}

void SmmuDriver::store_table_word(std::uint64_t pa, std::uint64_t value) {
  bus_.store64(pa, value);
  ++stats_.table_stores;
  if (!features_.coherent) {
    bus_.clean_to_poc(pa, 8);
    ++stats_.cleans;
  }
}

std::uint64_t SmmuDriver::allocate_table(PageUse use, std::uint64_t bytes, std::uint64_t alignment) {
  return allocate_table(memory_, use, bytes, alignment);
}

std::uint64_t SmmuDriver::allocate_table(DriverMemory& memory, PageUse use, std::uint64_t bytes,
                                         std::uint64_t alignment) {
  const std::uint64_t pa = memory.allocate(use, bytes, alignment);
  bus_.zero(pa, bytes);
  if (!features_.coherent) {
    // iommu_alloc_pages / dma_alloc_coherent hand the SMMU a clean zeroed page.
    bus_.clean_to_poc(pa, bytes);
    ++stats_.cleans;
  }
  return pa;
}

void SmmuDriver::store_pte(std::uint64_t pa, std::uint64_t value) {
  if (!options_.skip_pte_clean) {
    store_table_word(pa, value);
    return;
  }
  bus_.store64(pa, value);
  ++stats_.table_stores;
}

smmu::EntryWords SmmuDriver::abort_ste() {
  smmu::EntryWords w{};
  smmu::ste::V.set(w, 1);
  smmu::ste::CONFIG.set(w, smmu::ste::kConfigAbort);
  return w;
}

smmu::EntryWords SmmuDriver::bypass_ste() const {
  smmu::EntryWords w{};
  smmu::ste::V.set(w, 1);
  smmu::ste::CONFIG.set(w, smmu::ste::kConfigBypass);
  // With attribute-type overrides, take the incoming shareability (SHCFG=0b01).
  if (features_.attr_types_override) smmu::ste::SHCFG.set(w, 0b01);
  return w;
}

void SmmuDriver::initialise_stes(std::uint64_t first_ste, std::uint64_t count) {
  // Before the table (or L2 table) is reachable by the SMMU: plain stores, no sync.
  const smmu::EntryWords initial = options_.disable_bypass ? abort_ste() : bypass_ste();
  for (std::uint64_t i = 0; i < count; ++i) {
    for (unsigned q = 0; q < 8; ++q) store_table_word(first_ste + i * smmu::kSteBytes + 8 * q, initial[q]);
  }
}

void SmmuDriver::build_stream_table() {
  if (strtab_ != 0) return;
  constexpr unsigned kL1MaxLog2 = 17;  // STRTAB_L1_SZ_SHIFT 20 less 8-byte descriptors
  two_level_ = features_.two_level_stream_table && features_.sid_bits > kSplit;
  if (two_level_) {
    const unsigned l1_log2 = std::min(kL1MaxLog2, features_.sid_bits - kSplit);
    strtab_log2size_ = l1_log2 + kSplit;
    const std::uint64_t bytes = std::uint64_t{smmu::kL1StdBytes} << l1_log2;
    strtab_ = memory_.allocate(PageUse::StreamTableL1, bytes, std::max<std::uint64_t>(bytes, 64));
    for (std::uint64_t i = 0; i < (std::uint64_t{1} << l1_log2); ++i) {
      store_table_word(strtab_ + i * smmu::kL1StdBytes, 0);  // Span 0: no L2 table yet
    }
    l2_tables_.assign(std::size_t{1} << l1_log2, 0);
  } else {
    strtab_log2size_ = features_.sid_bits;
    const std::uint64_t entries = std::uint64_t{1} << strtab_log2size_;
    const std::uint64_t bytes = entries * smmu::kSteBytes;
    strtab_ = memory_.allocate(PageUse::StreamTableL1, bytes, std::max<std::uint64_t>(bytes, 64));
    initialise_stes(strtab_, entries);
  }
  strtab_base_ = reg::strtab_base::RA | strtab_;
  strtab_base_cfg_ = static_cast<std::uint32_t>(
      reg::strtab_base_cfg::LOG2SIZE.set(0, strtab_log2size_) |
      reg::strtab_base_cfg::SPLIT.set(0, two_level_ ? kSplit : 0) |
      reg::strtab_base_cfg::FMT.set(0, two_level_ ? reg::strtab_base_cfg::kFmt2Level : reg::strtab_base_cfg::kFmtLinear));
}

void SmmuDriver::reset() {
  if (!probed_) probe();
  build_stream_table();
  reset(strtab_base_, strtab_base_cfg_);
}

std::uint64_t SmmuDriver::ste_address(std::uint32_t sid) {
  if (strtab_ == 0) throw DriverError("the stream table is used before reset()");
  if ((std::uint64_t{sid} >> strtab_log2size_) != 0) {
    throw DriverError(fmt::format("StreamID {:#x} is beyond the stream table's {} bits", sid, strtab_log2size_));
  }
  if (!two_level_) return strtab_ + std::uint64_t{sid} * smmu::kSteBytes;
  const std::uint32_t l1 = sid >> kSplit;
  if (l2_tables_[l1] == 0) {
    // Linux's arm_smmu_init_l2_strtab: fill the L2 table, then install it with
    // one 64-bit store of its L1 descriptor (Span = SPLIT + 1).
    const std::uint64_t bytes = std::uint64_t{smmu::kSteBytes} << kSplit;
    const std::uint64_t l2 = memory_.allocate(PageUse::StreamTableL2, bytes, bytes);
    initialise_stes(l2, std::uint64_t{1} << kSplit);
    store_table_word(strtab_ + std::uint64_t{l1} * smmu::kL1StdBytes, (l2 & smmu::mask_bits(51, 6)) | (kSplit + 1));
    l2_tables_[l1] = l2;
  }
  return l2_tables_[l1] + std::uint64_t{sid & ((1u << kSplit) - 1)} * smmu::kSteBytes;
}

smmu::EntryWords SmmuDriver::read_ste(std::uint32_t sid) {
  const std::uint64_t address = ste_address(sid);
  smmu::EntryWords words{};
  for (unsigned q = 0; q < 8; ++q) words[q] = bus_.load64(address + 8 * q);
  return words;
}

EntryUpdate SmmuDriver::write_ste(std::uint32_t sid, const smmu::EntryWords& target) {
  const std::uint64_t address = ste_address(sid);
  smmu::EntryWords entry = read_ste(sid);
  EntryWriter writer(
      EntryKind::Ste, [&](unsigned qword, std::uint64_t value) { store_table_word(address + 8 * qword, value); },
      [&] {
        smmu::Command cfgi;
        cfgi.opcode = smmu::CommandOpcode::CFGI_STE;
        cfgi.stream_id = sid;
        cfgi.leaf = true;
        issue({cfgi});
      });
  const EntryUpdate update = writer.write(entry, target);
  ++stats_.ste_updates;
  if (update.hitless) ++stats_.hitless_ste_updates;
  // "It's likely that we'll want to use the new STE soon" (arm_smmu_write_ste).
  smmu::Command prefetch;
  prefetch.opcode = smmu::CommandOpcode::PREFETCH_CONFIG;
  prefetch.stream_id = sid;
  issue({prefetch}, false);
  return update;
}

void SmmuDriver::write_cr0(std::uint32_t value) {
  write32(reg::CR0, value);
  poll("CR0ACK", [&] { return read32(reg::CR0ACK) == value; });
}

void SmmuDriver::reset(std::uint64_t strtab_base, std::uint32_t strtab_base_cfg) {
  if (!probed_) probe();
  namespace cr0 = reg::cr0;
  // An enabled SMMU is first made to abort, then disabled (arm_smmu_device_reset).
  if ((read32(reg::CR0) & cr0::SMMUEN) != 0) {
    write32(reg::GBPA, reg::gbpa::UPDATE | reg::gbpa::ABORT);
    poll("GBPA.UPDATE", [&] { return (read32(reg::GBPA) & reg::gbpa::UPDATE) == 0; });
  }
  write_cr0(0);
  write32(reg::CR1, kCr1);
  std::uint32_t cr2 = reg::cr2::PTM | reg::cr2::RECINVSID;
  if (features_.hyp) cr2 |= reg::cr2::E2H;
  write32(reg::CR2, cr2);
  bus_.write_register(reg::STRTAB_BASE, strtab_base, 8);
  write32(reg::STRTAB_BASE_CFG, strtab_base_cfg);
  const std::uint32_t enables = start_queues(0);
  if (!options_.disable_bypass) {
    // Unattached streams bypass: GBPA without ABORT (the stream table decides
    // once SMMUEN is set; this only matters while it is not).
    write32(reg::GBPA, reg::gbpa::UPDATE);
    poll("GBPA.UPDATE", [&] { return (read32(reg::GBPA) & reg::gbpa::UPDATE) == 0; });
  }
  write_cr0(enables | cr0::SMMUEN);
}

std::uint32_t SmmuDriver::start_queues(std::uint32_t kept) {
  namespace cr0 = reg::cr0;
  // The queues: sized by the options, capped by the IDR1 maxima.
  cmdq_log2_ = std::min(options_.cmdq_log2, features_.cmdq_log2);
  eventq_log2_ = std::min(options_.eventq_log2, features_.eventq_log2);
  if (cmdq_base_ == 0) {
    const std::uint64_t bytes = std::uint64_t{smmu::kCommandBytes} << cmdq_log2_;
    cmdq_base_ = memory_.allocate(PageUse::CommandQueue, bytes, std::max<std::uint64_t>(bytes, 32));
    const std::uint64_t events = std::uint64_t{smmu::kEventRecordBytes} << eventq_log2_;
    eventq_base_ = memory_.allocate(PageUse::EventQueue, events, std::max<std::uint64_t>(events, 32));
  }
  prod_ = 0;
  // The queue as the SMMU walks it (one definition: reg::queue_geometry).
  cmdq_ = reg::queue_geometry(cmdq_base_ | cmdq_log2_, features_.cmdq_log2, smmu::kCommandBytes);
  bus_.write_register(reg::CMDQ_BASE, reg::queue_base::RA_WA | cmdq_base_ | cmdq_log2_, 8);
  write32(reg::CMDQ_PROD, 0);
  write32(reg::CMDQ_CONS, 0);
  std::uint32_t enables = kept | cr0::CMDQEN;
  write_cr0(enables);

  invalidate_all();

  bus_.write_register(reg::EVENTQ_BASE, reg::queue_base::RA_WA | eventq_base_ | eventq_log2_, 8);
  write32(reg::EVENTQ_PROD, 0);
  write32(reg::EVENTQ_CONS, 0);
  eventq_cons_ = 0;
  enables |= cr0::EVENTQEN;
  write_cr0(enables);

  // Interrupts: acknowledge what is latched, then enable the event queue and GERROR.
  write32(reg::IRQ_CTRL, 0);
  poll("IRQ_CTRLACK", [&] { return read32(reg::IRQ_CTRLACK) == 0; });
  write32(reg::GERRORN, read32(reg::GERROR));
  const std::uint32_t irqs = reg::irq_ctrl::EVENTQ_IRQEN | reg::irq_ctrl::GERROR_IRQEN;
  write32(reg::IRQ_CTRL, irqs);
  poll("IRQ_CTRLACK", [&] { return read32(reg::IRQ_CTRLACK) == irqs; });
  return enables;
}

void SmmuDriver::invalidate_all() {
  // Every cached configuration and TLB entry (arm_smmu_device_reset): CFGI_ALL,
  // TLBI_EL2_ALL under HYP, TLBI_NSNH_ALL, each synced.
  smmu::Command cfgi_all;
  cfgi_all.opcode = smmu::CommandOpcode::CFGI_STE_RANGE;
  cfgi_all.range = 31;
  issue({cfgi_all});
  if (features_.hyp) {
    smmu::Command tlbi_el2;
    tlbi_el2.opcode = smmu::CommandOpcode::TLBI_EL2_ALL;
    issue({tlbi_el2});
  }
  smmu::Command tlbi_nsnh;
  tlbi_nsnh.opcode = smmu::CommandOpcode::TLBI_NSNH_ALL;
  issue({tlbi_nsnh});
}

void SmmuDriver::abort_if_live(std::uint32_t sid) {
  if (read_ste(sid) != abort_ste()) write_ste(sid, abort_ste());
}

void SmmuDriver::shutdown_for_live_update(const std::set<std::uint32_t>& preserved) {
  if (strtab_ == 0) throw DriverError("live update before the stream table exists");
  namespace cr0 = reg::cr0;
  write32(reg::IRQ_CTRL, 0);
  poll("IRQ_CTRLACK", [&] { return read32(reg::IRQ_CTRLACK) == 0; });
  if (!two_level_) {
    for (std::uint64_t sid = 0; sid < (std::uint64_t{1} << strtab_log2size_); ++sid) {
      if (preserved.count(static_cast<std::uint32_t>(sid)) == 0) abort_if_live(static_cast<std::uint32_t>(sid));
    }
  } else {
    for (std::uint32_t l1 = 0; l1 < l2_tables_.size(); ++l1) {
      if (l2_tables_[l1] == 0) continue;
      const std::uint32_t first = l1 << kSplit;
      const std::uint32_t last = first + (1u << kSplit);
      const bool holds_preserved = preserved.lower_bound(first) != preserved.lower_bound(last);
      if (holds_preserved) {
        for (std::uint32_t sid = first; sid < last; ++sid) {
          if (preserved.count(sid) == 0) abort_if_live(sid);
        }
      } else {
        // No preserved stream here: the L1 descriptor goes, the L2 table is not handed over.
        store_table_word(strtab_ + std::uint64_t{l1} * smmu::kL1StdBytes, 0);
      }
    }
  }
  invalidate_all();
  write_cr0(read32(reg::CR0) & cr0::SMMUEN);
}

std::vector<DriverPage> SmmuDriver::stream_table_pages(const std::set<std::uint32_t>& sids) const {
  std::vector<DriverPage> pages;
  const auto add = [&](std::uint64_t pa) {
    const DriverPage* page = memory_.page_at(pa);
    if (page != nullptr && std::none_of(pages.begin(), pages.end(), [&](const DriverPage& p) { return p.pa == page->pa; })) {
      pages.push_back(*page);
    }
  };
  if (strtab_ == 0) return pages;
  add(strtab_);
  if (two_level_) {
    for (std::uint32_t sid : sids) {
      const std::size_t l1 = sid >> kSplit;
      if (l1 < l2_tables_.size() && l2_tables_[l1] != 0) add(l2_tables_[l1]);
    }
  }
  return pages;
}

std::vector<std::uint32_t> SmmuDriver::live_stream_ids() const {
  std::vector<std::uint32_t> sids;
  if (strtab_ == 0) return sids;
  if (!two_level_) {
    for (std::uint64_t sid = 0; sid < (std::uint64_t{1} << strtab_log2size_); ++sid) sids.push_back(static_cast<std::uint32_t>(sid));
    return sids;
  }
  for (std::uint32_t l1 = 0; l1 < l2_tables_.size(); ++l1) {
    if (l2_tables_[l1] == 0) continue;
    for (std::uint32_t i = 0; i < (1u << kSplit); ++i) sids.push_back((l1 << kSplit) | i);
  }
  return sids;
}

void SmmuDriver::refuse(const std::string& reason) const { throw DriverError("adoption refused: " + reason); }

void SmmuDriver::adopt(const HandoverRecord& record) {
  if (!probed_) probe();
  namespace cr0 = reg::cr0;
  const std::uint32_t control = read32(reg::CR0);
  if ((control & cr0::SMMUEN) == 0) refuse("SMMUEN is clear: there is no live stream table");
  adopt_stream_table(&record);
  restart_adopted(control);
}

KdumpAdoption SmmuDriver::adopt_after_crash() {
  if (!probed_) probe();
  namespace cr0 = reg::cr0;
  KdumpAdoption outcome;
  const std::uint32_t control = read32(reg::CR0);
  const std::uint32_t active = (read32(reg::GERROR) ^ read32(reg::GERRORN)) & reg::gerror::kDefinedBits;
  if ((control & cr0::SMMUEN) == 0) {
    outcome.reason = "SMMUEN is clear";
  } else if (!features_.coherent) {
    outcome.reason = "the SMMU is not coherent (IDR0.COHACC = 0): the crashed kernel's tables may be stale in its caches";
  } else if ((active & reg::gerror::SFM_ERR) != 0) {
    outcome.reason = "GERROR.SFM_ERR is pending: the SMMU entered service failure mode";
  } else {
    try {
      adopt_stream_table(nullptr);
    } catch (const DriverError& e) {
      outcome.reason = e.what();
    }
  }
  if (!outcome.reason.empty()) {
    // Full reset: a fresh stream table (the old one may be anywhere).
    strtab_ = 0;
    l2_tables_.clear();
    reset();
    return outcome;
  }
  restart_adopted(control);
  outcome.adopted = true;
  for (std::uint32_t sid : live_stream_ids()) {
    const smmu::EntryWords ste = read_ste(sid);
    if (smmu::ste::V.get(ste) != 0 && ste != abort_ste()) outcome.live_streams.push_back(sid);
  }
  return outcome;
}

void SmmuDriver::restart_adopted(std::uint32_t control) {
  namespace cr0 = reg::cr0;
  // Queues off with the handshake (a kdump kernel finds them on), then a latched
  // GERROR acknowledged before the command queue restarts: a stale CMDQ_ERR
  // would halt it. SMMUEN (and ATSCHK) stay as they are.
  const std::uint32_t kept = control & (cr0::SMMUEN | cr0::ATSCHK);
  if ((control & (cr0::CMDQEN | cr0::EVENTQEN | cr0::PRIQEN)) != 0) write_cr0(kept);
  if (!options_.skip_gerror_ack_on_adopt) write32(reg::GERRORN, read32(reg::GERROR));
  start_queues(kept);
  adopted_ = true;
}

void SmmuDriver::adopt_stream_table(const HandoverRecord* record) {
  namespace cfgr = reg::strtab_base_cfg;
  const std::uint64_t base = bus_.read_register(reg::STRTAB_BASE, 8);
  const std::uint32_t cfg = read32(reg::STRTAB_BASE_CFG);
  if (record != nullptr && cfg != record->strtab_base_cfg) {
    refuse(fmt::format("STRTAB_BASE_CFG reads {:#x}, the saved configuration is {:#x}", cfg, record->strtab_base_cfg));
  }
  if (record != nullptr && base != record->strtab_base) {
    refuse(fmt::format("STRTAB_BASE reads {:#x}, the saved base is {:#x}", base, record->strtab_base));
  }
  // The geometry (the adoption series' checks).
  const unsigned log2size = static_cast<unsigned>(cfgr::LOG2SIZE.get(cfg));
  const unsigned split = static_cast<unsigned>(cfgr::SPLIT.get(cfg));
  const bool two_level = cfgr::FMT.get(cfg) == cfgr::kFmt2Level;
  if (log2size > features_.sid_bits) {
    refuse(fmt::format("STRTAB_BASE_CFG.LOG2SIZE {} exceeds IDR1.SIDSIZE {}", log2size, features_.sid_bits));
  }
  const std::uint64_t table = base & smmu::mask_bits(51, 6);
  std::uint64_t table_bytes = 0;
  if (two_level) {
    if (split != kSplit || log2size < split) {
      refuse(fmt::format("STRTAB_BASE_CFG.SPLIT {} with LOG2SIZE {} (this driver uses SPLIT {})", split, log2size, kSplit));
    }
    table_bytes = std::max<std::uint64_t>(std::uint64_t{smmu::kL1StdBytes} << (log2size - split), 64);
  } else {
    table_bytes = std::uint64_t{smmu::kSteBytes} << log2size;
  }
  if ((table & (table_bytes - 1)) != 0) {
    refuse(fmt::format("STRTAB_BASE {:#x} is not aligned to the table's {:#x} bytes", table, table_bytes));
  }
  if (record != nullptr && !record->preserves(table)) {
    refuse(fmt::format("the stream table at {:#x} is not in the record", table));
  }
  std::vector<std::uint64_t> l2_tables;
  const std::uint64_t l2_bytes = std::uint64_t{smmu::kSteBytes} << split;
  if (two_level) {
    l2_tables.assign(std::size_t{1} << (log2size - split), 0);
    for (std::size_t l1 = 0; l1 < l2_tables.size(); ++l1) {
      const std::uint64_t desc = bus_.load64(table + l1 * smmu::kL1StdBytes);
      const unsigned span = static_cast<unsigned>(desc & 0x1f);
      if (span == 0) continue;
      const std::uint64_t l2 = desc & smmu::mask_bits(51, 6);
      if (span != split + 1) refuse(fmt::format("L1 descriptor {} has span {}, expected {}", l1, span, split + 1));
      if ((l2 & (l2_bytes - 1)) != 0) refuse(fmt::format("L1 descriptor {}: L2 table {:#x} is misaligned", l1, l2));
      if (record != nullptr && !record->preserves(l2)) {
        refuse(fmt::format("L1 descriptor {}: L2 table {:#x} was not preserved", l1, l2));
      }
      l2_tables[l1] = l2;
    }
  }
  // The adopted pages are this kernel's now (the guest's RAM is the VMM's).
  try {
    if (record != nullptr) {
      for (const PreservedRange& r : record->ranges) {
        if (memory_.contains(r.pa)) memory_.reserve(r.use, r.pa, r.bytes);
      }
    } else {
      if (memory_.contains(table)) memory_.reserve(PageUse::StreamTableL1, table, table_bytes);
      for (std::uint64_t l2 : l2_tables) {
        if (l2 != 0 && memory_.contains(l2)) memory_.reserve(PageUse::StreamTableL2, l2, l2_bytes);
      }
    }
  } catch (const std::invalid_argument& e) {
    refuse(std::string("adopted memory: ") + e.what());
  }
  strtab_ = table;
  two_level_ = two_level;
  strtab_log2size_ = log2size;
  l2_tables_ = std::move(l2_tables);
  strtab_base_ = base;
  strtab_base_cfg_ = cfg;
}

std::size_t SmmuDriver::drain_events(EventListener& listener) {
  if (eventq_base_ == 0) throw DriverError("the event queue is used before reset()");
  namespace qp = reg::queue_pointer;
  const std::uint32_t mask = (2u << eventq_log2_) - 1;
  const std::uint32_t prod = read32(reg::EVENTQ_PROD);
  std::size_t drained = 0;
  std::uint32_t cons = eventq_cons_ & mask;
  while (cons != (prod & mask)) {
    const std::uint64_t slot = eventq_base_ + std::uint64_t{cons & ((1u << eventq_log2_) - 1)} * smmu::kEventRecordBytes;
    std::array<std::uint64_t, 4> words{};
    for (unsigned i = 0; i < 4; ++i) words[i] = bus_.load64(slot + 8 * i);
    listener.on_event(smmu::EventRecord::decode(words));
    ++stats_.events;
    ++drained;
    cons = (cons + 1) & mask;
  }
  // OVFLG differing from OVACKFLG: records were lost; the new CONS acknowledges it.
  const bool overflow = ((prod ^ eventq_cons_) & qp::OVFLG) != 0;
  if (overflow) {
    ++stats_.event_overflows;
    listener.on_overflow();
  }
  eventq_cons_ = cons | (prod & qp::OVACKFLG);
  write32(reg::EVENTQ_CONS, eventq_cons_);
  return drained;
}

std::uint32_t SmmuDriver::handle_global_errors(EventListener& listener) {
  const std::uint32_t gerror = read32(reg::GERROR);
  const std::uint32_t gerrorn = read32(reg::GERRORN);
  const std::uint32_t active = (gerror ^ gerrorn) & reg::gerror::kDefinedBits;
  if (active == 0) return 0;
  ++stats_.global_errors;
  listener.on_global_errors(active);
  if ((active & reg::gerror::CMDQ_ERR) != 0) {
    recover_from_error(read32(reg::CMDQ_CONS));  // acknowledges CMDQ_ERR too
  }
  write32(reg::GERRORN, gerror);
  return active;
}

std::uint32_t SmmuDriver::free_slots(std::uint32_t cons) const {
  return cmdq_.entries() - cmdq_.occupancy(prod_, cons);
}

void SmmuDriver::write_command(const std::array<std::uint64_t, 2>& words) {
  const std::uint64_t slot = cmdq_.entry_address(prod_);
  bus_.store64(slot, words[0]);
  bus_.store64(slot + 8, words[1]);
  prod_ = cmdq_.next(prod_);
}

void SmmuDriver::recover_from_error(std::uint32_t cons) {
  // Linux's arm_smmu_cmdq_skip_err: an illegal command is replaced by a
  // CMD_SYNC, and CMDQ_ERR is acknowledged so the queue resumes at CONS.
  const std::uint32_t error = static_cast<std::uint32_t>(reg::queue_pointer::CMDQ_CONS_ERR.get(cons));
  const std::uint64_t slot = cmdq_.entry_address(cons);
  if (error == kCmdqErrIllegal) {
    ++stats_.illegal_commands;
    smmu::Command replacement;
    replacement.opcode = smmu::CommandOpcode::CMD_SYNC;
    const auto words = smmu::encode_command(replacement);
    bus_.store64(slot, words[0]);
    bus_.store64(slot + 8, words[1]);
  }
  const std::uint32_t gerror = read32(reg::GERROR);
  const std::uint32_t gerrorn = read32(reg::GERRORN);
  if (((gerror ^ gerrorn) & reg::gerror::CMDQ_ERR) != 0) write32(reg::GERRORN, gerrorn ^ reg::gerror::CMDQ_ERR);
}

void SmmuDriver::wait_for_sync(std::uint32_t sync_prod, std::uint32_t msi_value) {
  const bool msi_polling = features_.msi && features_.coherent && !options_.disable_msipolling;
  const std::uint64_t slot = cmdq_.entry_address(sync_prod);
  // CONS has moved past the sync: (cons - sync_prod) within the queue, non-zero.
  auto consumed = [&](std::uint32_t cons) {
    const std::uint32_t past = cmdq_.occupancy(cons, sync_prod);
    return past != 0 && past <= cmdq_.entries();
  };
  const bool completed = poll_until([&] {
    const std::uint32_t cons = read32(reg::CMDQ_CONS);
    if (reg::queue_pointer::CMDQ_CONS_ERR.get(cons) != 0) {
      recover_from_error(cons);
      return false;
    }
    if (msi_polling) return static_cast<std::uint32_t>(bus_.load64(slot)) == msi_value;
    return consumed(cons);
  });
  if (completed) return;
  // Linux (arm_smmu_cmdq_issue_cmdlist) reports "CMD_SYNC timeout" and goes
  // on. The model does so only when the SMMU did consume the SYNC (its MSI
  // aborted: GERROR.MSI_CMDQ_ABT_ERR); a queue that never got there is stuck.
  if (!consumed(read32(reg::CMDQ_CONS))) throw DriverError("timed out waiting for CMD_SYNC");
  ++stats_.sync_timeouts;
}

void SmmuDriver::issue(const std::vector<smmu::Command>& commands, bool sync) {
  if (cmdq_base_ == 0) throw DriverError("the command queue is used before reset()");
  const unsigned capacity = std::min<unsigned>(kBatchEntries, cmdq_.entries() - 1);
  std::size_t next = 0;
  do {
    const std::size_t remaining = commands.size() - next;
    const bool last = remaining <= capacity - (sync ? 1 : 0);
    const std::size_t count = last ? remaining : capacity;
    const unsigned slots = static_cast<unsigned>(count) + (last && sync ? 1 : 0);
    // Wait for room (arm_smmu_cmdq_poll_until_not_full).
    for (unsigned i = 0; free_slots(read32(reg::CMDQ_CONS)) < slots; ++i) {
      if (i >= options_.poll_limit) throw DriverError("timed out waiting for command queue space");
      const std::uint32_t cons = read32(reg::CMDQ_CONS);
      if (reg::queue_pointer::CMDQ_CONS_ERR.get(cons) != 0) recover_from_error(cons);
      ++stats_.queue_full_waits;
      bus_.relax();
    }
    for (std::size_t i = 0; i < count; ++i) write_command(smmu::encode_command(commands[next + i]));
    stats_.commands += count;
    next += count;
    std::uint32_t sync_prod = 0;
    if (last && sync) {
      // With MSI polling the sync's MSI writes 0 over its own first word
      // (Linux's ARM_SMMU_OPT_MSIPOLL), which the driver then polls.
      sync_prod = prod_;
      smmu::Command cmd_sync;
      cmd_sync.opcode = smmu::CommandOpcode::CMD_SYNC;
      if (features_.msi && features_.coherent && !options_.disable_msipolling) {
        cmd_sync.sync_signal = smmu::SyncSignal::Irq;
        cmd_sync.msi_address = cmdq_.entry_address(sync_prod);
        cmd_sync.msi_data = 0;
      }
      write_command(smmu::encode_command(cmd_sync));
      ++stats_.syncs;
    }
    write32(reg::CMDQ_PROD, prod_);
    ++stats_.batches;
    if (last && sync) wait_for_sync(sync_prod, 0);
    if (last) break;
  } while (true);
}

}  // namespace smmuv3tlm::driver
