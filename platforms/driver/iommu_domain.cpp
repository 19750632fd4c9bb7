#include "smmuv3tlm/platforms/driver/iommu_domain.h"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "smmuv3tlm/models/smmu/arch/bits.h"
#include "smmuv3tlm/models/smmu/arch/context_descriptor.h"
#include "smmuv3tlm/platforms/driver/handover_record.h"
#include "smmuv3tlm/platforms/driver/tlb_invalidation.h"

namespace smmuv3tlm::driver {

namespace {

constexpr unsigned kCdSplit = 10;  // Linux's CTXDESC_SPLIT: 1024 CDs per level-2 table
constexpr unsigned kS1FmtLinear = 0, kS1Fmt64KL2 = 2;

std::uint32_t id_limit(bool sixteen_bits) { return sixteen_bits ? 0xffff : 0xff; }

}  // namespace

const char* to_string(DomainType type) {
  switch (type) {
    case DomainType::Blocked: return "blocked";
    case DomainType::Identity: return "identity";
    case DomainType::Stage1: return "s1";
    case DomainType::Stage2: return "s2";
    case DomainType::Nested: return "nested";
  }
  return "unknown";
}

bool parse_domain_type(const std::string& text, DomainType& type) {
  if (text == "blocked" || text == "abort") type = DomainType::Blocked;
  else if (text == "identity" || text == "bypass") type = DomainType::Identity;
  else if (text == "s1") type = DomainType::Stage1;
  else if (text == "s2") type = DomainType::Stage2;
  else if (text == "nested") type = DomainType::Nested;
  else return false;
  return true;
}

// ---------------------------------------------------------------------------
// Domain

void Domain::map(std::uint64_t iova, std::uint64_t pa, std::uint64_t size, const IoProt& prot) {
  if (!table_) throw DriverError(fmt::format("domain {} ({}) has no page table to map", id_, to_string(type_)));
  table_->map(iova, pa, size, prot);
}

std::uint64_t Domain::unmap(std::uint64_t iova, std::uint64_t size) {
  if (!table_) throw DriverError(fmt::format("domain {} ({}) has no page table to unmap", id_, to_string(type_)));
  // The TLB invalidations the unmap's gather issues (the planted bug may drop one).
  struct Unmapping {
    IommuDomains& owner;
    explicit Unmapping(IommuDomains& o) : owner(o) { owner.unmapping_ = true; }
    ~Unmapping() { owner.unmapping_ = false; }
  } unmapping(owner_);
  return table_->unmap(iova, size);
}

void Domain::flush(const TlbFlush& flush) {
  InvalidationTarget target;
  target.page_log2 = table_->geometry().granule_log2;
  switch (type_) {
    case DomainType::Stage1:
      target.el2 = owner_.driver().features().hyp;
      target.asid = asid_;
      break;
    case DomainType::Stage2:
      target.stage2 = true;
      target.vmid = vmid_;
      break;
    case DomainType::Nested:
      // The guest's TLBI by ASID, which the host runs under the parent's VMID.
      target.asid = asid_;
      target.vmid = vmid_;
      break;
    default:
      return;
  }
  owner_.invalidate(target, flush, nest_parent_);
}

void Domain::invalidate_all() {
  // arm_smmu_tlb_inv_context: the whole ASID (EL2 with HYP), the whole VMID, or
  // the guest's ASID under its VMID.
  smmu::Command tlbi;
  switch (type_) {
    case DomainType::Stage1:
      tlbi.opcode = owner_.driver().features().hyp ? smmu::CommandOpcode::TLBI_EL2_ASID
                                                    : smmu::CommandOpcode::TLBI_NH_ASID;
      tlbi.asid = asid_;
      break;
    case DomainType::Stage2:
      tlbi.opcode = smmu::CommandOpcode::TLBI_S12_VMALL;
      tlbi.vmid = vmid_;
      break;
    case DomainType::Nested:
      tlbi.opcode = smmu::CommandOpcode::TLBI_NH_ASID;
      tlbi.asid = asid_;
      tlbi.vmid = vmid_;
      break;
    default:
      return;
  }
  owner_.driver().issue({tlbi});
}

void Domain::invalidate_range(std::uint64_t iova, std::uint64_t size) {
  if (!table_) return;
  TlbFlush f;
  f.iova = iova;
  f.size = size;
  f.granule = std::uint64_t{1} << table_->geometry().granule_log2;
  f.leaf = false;
  flush(f);
}

// ---------------------------------------------------------------------------
// IommuDomains

IommuDomains::IommuDomains(SmmuDriver& driver)
    : driver_(driver),
      asids_(1, id_limit(driver.features().asid16)),
      vmids_(1, id_limit(driver.features().vmid16)) {}

IommuDomains::~IommuDomains() = default;

void IommuDomains::invalidate(const InvalidationTarget& target, const TlbFlush& flush, bool nest_parent) {
  // The planted bug (skip_next_unmap_tlbi): this invalidation is left out, so
  // the SMMU may go on using the unmapped translation.
  if (skip_next_tlbi_ && unmapping_) {
    skip_next_tlbi_ = false;
    return;
  }
  // arm_smmu_tlb_inv_range_domain.
  driver_.issue(tlb_invalidation(target, flush.iova, flush.size, flush.granule, flush.leaf, driver_.features().ril));
  if (nest_parent) {
    // "When the S2 domain changes all the nested S1 ASIDs have to be flushed too."
    smmu::Command nh_all;
    nh_all.opcode = smmu::CommandOpcode::TLBI_NH_ALL;
    nh_all.vmid = target.vmid;
    driver_.issue({nh_all});
  }
}

Domain& IommuDomains::create(DomainType type, const DomainOptions& options) {
  const DriverFeatures& f = driver_.features();
  if (type == DomainType::Nested) throw DriverError("a nested domain is made with create_nested()");
  // arm_smmu_domain_finalise: without stage 1 a DMA domain is stage 2.
  if (type == DomainType::Stage1 && !f.stage1) type = DomainType::Stage2;
  if (type == DomainType::Stage2 && !f.stage2) throw DriverError("a stage-2 domain needs IDR0.S2P");
  if (options.nest_parent && (type != DomainType::Stage2 || !f.nesting())) {
    throw DriverError("a nest parent is a stage-2 domain on an SMMU with both stages (IDR0.S1P and S2P)");
  }
  std::unique_ptr<Domain> domain(new Domain(*this, type, next_id_));
  domain->nest_parent_ = options.nest_parent;
  IoPageTableConfig table;
  table.granule_log2 = options.granule_log2;
  table.output_bits = f.oas_bits;
  table.coherent_walk = f.coherent;
  if (type == DomainType::Stage1) {
    if (options.forced_asid != 0) {
      asids_.reserve(options.forced_asid);
      domain->asid_ = options.forced_asid;
    } else {
      const auto asid = asids_.allocate();
      if (!asid) throw DriverError("no ASID left");
      domain->asid_ = static_cast<std::uint16_t>(*asid);
    }
    table.stage = tables::Stage::Stage1;
    table.input_bits = 48;  // VA_BITS
  } else if (type == DomainType::Stage2) {
    if (options.forced_vmid != 0) {
      vmids_.reserve(options.forced_vmid);
      domain->vmid_ = options.forced_vmid;
    } else {
      const auto vmid = vmids_.allocate();
      if (!vmid) throw DriverError("no VMID left");
      domain->vmid_ = static_cast<std::uint16_t>(*vmid);
    }
    table.stage = tables::Stage::Stage2;
    table.input_bits = f.oas_bits;  // the IPA size the SMMU takes
  }
  if (type == DomainType::Stage1 || type == DomainType::Stage2) {
    Domain* d = domain.get();
    try {
      domain->table_ = std::make_unique<IoPageTable>(driver_, driver_.memory(), table,
                                                     [d](const TlbFlush& flush) { d->flush(flush); });
    } catch (...) {
      if (type == DomainType::Stage1) asids_.release(domain->asid_);
      if (type == DomainType::Stage2) vmids_.release(domain->vmid_);
      throw;
    }
  }
  ++next_id_;
  domains_.push_back(std::move(domain));
  return *domains_.back();
}

Domain& IommuDomains::create_nested(Domain& parent, DriverMemory& guest_memory, std::uint16_t guest_asid,
                                    unsigned granule_log2) {
  if (parent.type() != DomainType::Stage2 || !parent.nest_parent()) {
    throw DriverError(fmt::format("domain {} is not a nest-parent stage-2 domain", parent.id()));
  }
  std::unique_ptr<Domain> domain(new Domain(*this, DomainType::Nested, next_id_));
  domain->parent_ = &parent;
  domain->asid_ = guest_asid;
  domain->vmid_ = parent.vmid();
  domain->guest_memory_ = &guest_memory;
  IoPageTableConfig table;
  table.stage = tables::Stage::Stage1;
  table.granule_log2 = granule_log2;
  table.input_bits = 48;
  // The guest's stage 1 outputs IPAs: the parent's input size.
  table.output_bits = parent.page_table()->geometry().input_bits;
  table.coherent_walk = driver_.features().coherent;
  Domain* d = domain.get();
  domain->table_ = std::make_unique<IoPageTable>(driver_, guest_memory, table,
                                                 [d](const TlbFlush& flush) { d->flush(flush); });
  // The guest's CD table: one CD (SSID 0), written before any STE points at it.
  domain->guest_cd_table_ = driver_.allocate_table(guest_memory, PageUse::CdTableL1, smmu::kCdBytes, smmu::kCdBytes);
  MasterTraits guest_traits;
  const smmu::EntryWords cd = make_s1_cd(domain->table_->stage1_context(guest_asid), guest_traits);
  for (unsigned q = 0; q < 8; ++q) driver_.store_table_word(domain->guest_cd_table_ + 8 * q, cd[q]);
  // The guest's STE words 0-1, as a vSMMU guest writes them.
  domain->guest_ste_ = make_cdtable_ste(domain->guest_cd_table_, kS1FmtLinear, 0, kS1dssSsid0, driver_.features(),
                                        guest_traits);
  ++next_id_;
  domains_.push_back(std::move(domain));
  return *domains_.back();
}

void IommuDomains::destroy(Domain& domain) {
  if (domain.attachments_ != 0) {
    throw DriverError(fmt::format("domain {} ({}) is still attached to {} master(s)", domain.id(),
                                  to_string(domain.type()), domain.attachments_));
  }
  for (const auto& other : domains_) {
    if (other->parent_ == &domain) {
      throw DriverError(fmt::format("domain {} is the parent of nested domain {}", domain.id(), other->id()));
    }
  }
  domain.invalidate_all();
  switch (domain.type()) {
    case DomainType::Stage1:
      asids_.release(domain.asid());
      break;
    case DomainType::Stage2:
      vmids_.release(domain.vmid());
      break;
    case DomainType::Nested:
      domain.guest_memory_->free(domain.guest_cd_table_);
      break;
    default:
      break;
  }
  domains_.erase(std::find_if(domains_.begin(), domains_.end(), [&](const auto& d) { return d.get() == &domain; }));
}

Master& IommuDomains::add_master(const MasterConfig& config) {
  for (std::uint32_t sid : config.stream_ids) {
    for (const auto& m : masters_) {
      const auto& ids = m->config().stream_ids;
      if (std::find(ids.begin(), ids.end(), sid) != ids.end()) {
        throw DriverError(fmt::format("StreamID {:#x} already belongs to another master", sid));
      }
    }
    (void)driver_.ste_address(sid);  // throws beyond the stream table
  }
  if (config.stream_ids.empty()) throw DriverError("a master needs at least one StreamID");
  MasterConfig c = config;
  c.ssid_bits = std::min(c.ssid_bits, driver_.features().ssid_bits);
  masters_.push_back(std::unique_ptr<Master>(new Master(c)));
  return *masters_.back();
}

smmu::EntryWords IommuDomains::read_entry(std::uint64_t address) {
  smmu::EntryWords words{};
  for (unsigned q = 0; q < 8; ++q) words[q] = driver_.load_table_word(address + 8 * q);
  return words;
}

void IommuDomains::ensure_cd_table(Master& master) {
  if (master.cd_table_ != 0) return;
  // arm_smmu_alloc_cd_tables: linear unless the SMMU has 2-level CD tables and
  // the master needs more CDs than one level-2 table holds.
  const unsigned bits = master.config_.ssid_bits;
  const std::uint64_t contexts = std::uint64_t{1} << bits;
  master.s1cdmax_ = bits;
  if (driver_.features().two_level_cd_table && bits > kCdSplit) {
    const std::uint64_t l1_entries = contexts >> kCdSplit;
    const std::uint64_t bytes = l1_entries * smmu::kL1CdBytes;
    master.cd_table_ = driver_.allocate_table(PageUse::CdTableL1, bytes, std::max<std::uint64_t>(bytes, 64));
    master.cd_two_level_ = true;
    master.cd_l2_.assign(static_cast<std::size_t>(l1_entries), 0);
  } else {
    const std::uint64_t bytes = contexts * smmu::kCdBytes;
    master.cd_table_ = driver_.allocate_table(PageUse::CdTableL1, bytes, std::max<std::uint64_t>(bytes, 64));
  }
}

std::uint64_t IommuDomains::cd_address(Master& master, std::uint32_t ssid) {
  ensure_cd_table(master);
  if (!master.cd_two_level_) return master.cd_table_ + std::uint64_t{ssid} * smmu::kCdBytes;
  const std::uint32_t l1 = ssid >> kCdSplit;
  if (master.cd_l2_[l1] == 0) {
    // arm_smmu_alloc_cd_ptr: a zeroed leaf, its L1 descriptor, and a sync
    // (an invalid L1 descriptor may be cached).
    const std::uint64_t bytes = std::uint64_t{smmu::kCdBytes} << kCdSplit;
    const std::uint64_t l2 = driver_.allocate_table(PageUse::CdTableL2, bytes, 4096);
    driver_.store_table_word(master.cd_table_ + std::uint64_t{l1} * smmu::kL1CdBytes,
                             (l2 & smmu::mask_bits(51, 12)) | 1);
    sync_cd(master, ssid, false);
    master.cd_l2_[l1] = l2;
  }
  return master.cd_l2_[l1] + std::uint64_t{ssid & ((1u << kCdSplit) - 1)} * smmu::kCdBytes;
}

void IommuDomains::sync_cd(const Master& master, std::uint32_t ssid, bool leaf) {
  // arm_smmu_sync_cd: CFGI_CD for every StreamID of the master, then a sync.
  std::vector<smmu::Command> cfgi;
  for (std::uint32_t sid : master.config_.stream_ids) {
    smmu::Command c;
    c.opcode = smmu::CommandOpcode::CFGI_CD;
    c.stream_id = sid;
    c.substream_id = ssid;
    c.leaf = leaf;
    cfgi.push_back(c);
  }
  driver_.issue(cfgi);
}

void IommuDomains::write_cd(Master& master, std::uint32_t ssid, const smmu::EntryWords& target) {
  const std::uint64_t address = cd_address(master, ssid);
  smmu::EntryWords entry = read_entry(address);
  EntryWriter writer(
      EntryKind::Cd, [&](unsigned qword, std::uint64_t value) { driver_.store_table_word(address + 8 * qword, value); },
      [&] { sync_cd(master, ssid, true); });
  master.cd_updates_.push_back(writer.write(entry, target));
}

smmu::EntryWords IommuDomains::ste_for(const Master& master, const Domain* domain) const {
  const DriverFeatures& f = driver_.features();
  const MasterTraits& traits = master.config_.traits;
  const unsigned s1fmt = master.cd_two_level_ ? kS1Fmt64KL2 : kS1FmtLinear;
  if (!master.pasids_.empty()) {
    // PASIDs in use: the CD table stays in the STE; SSID 0 follows the domain.
    const unsigned s1dss = domain == nullptr || domain->type() == DomainType::Blocked ? kS1dssTerminate
                           : domain->type() == DomainType::Identity                   ? kS1dssBypass
                                                                                        : kS1dssSsid0;
    return make_cdtable_ste(master.cd_table_, s1fmt, master.s1cdmax_, s1dss, f, traits);
  }
  if (domain == nullptr) return driver_.options().disable_bypass ? SmmuDriver::abort_ste() : driver_.bypass_ste();
  switch (domain->type()) {
    case DomainType::Blocked: return SmmuDriver::abort_ste();
    case DomainType::Identity: return driver_.bypass_ste();
    case DomainType::Stage1: return make_cdtable_ste(master.cd_table_, s1fmt, master.s1cdmax_, kS1dssSsid0, f, traits);
    case DomainType::Stage2:
      return make_s2_domain_ste(domain->table_->stage2_context(domain->vmid()), f, traits);
    case DomainType::Nested: {
      const Domain& parent = *domain->parent_;
      return make_nested_ste(domain->guest_ste_, parent.table_->stage2_context(parent.vmid()), f, traits);
    }
  }
  return SmmuDriver::abort_ste();
}

void IommuDomains::install_ste(Master& master, const smmu::EntryWords& target) {
  for (std::uint32_t sid : master.config_.stream_ids) master.ste_updates_.push_back(driver_.write_ste(sid, target));
}

void IommuDomains::attach(Master& master, Domain& domain) {
  if (&domain.owner_ != this) throw DriverError("the domain belongs to another SMMU");
  const bool needs_plain_ste = domain.type() == DomainType::Stage2 || domain.type() == DomainType::Nested;
  if (needs_plain_ste && !master.pasids_.empty()) {
    throw DriverError(fmt::format("a {} domain cannot take SSID 0 while PASIDs are attached (EBUSY)",
                                  to_string(domain.type())));
  }
  Domain* old = master.domain_;
  if (old == &domain) return;
  if (domain.type() == DomainType::Stage1) {
    // arm_smmu_attach_dev: the CD first, then the STE that points at its table.
    ensure_cd_table(master);
    write_cd(master, 0, make_s1_cd(domain.table_->stage1_context(domain.asid()), master.config_.traits));
    install_ste(master, ste_for(master, &domain));
  } else {
    install_ste(master, ste_for(master, &domain));
    // arm_smmu_clear_cd(master, IOMMU_NO_PASID): SSID 0 no longer uses stage 1.
    if (old != nullptr && old->type() == DomainType::Stage1) write_cd(master, 0, smmu::EntryWords{});
  }
  if (old != nullptr) --old->attachments_;
  ++domain.attachments_;
  master.domain_ = &domain;
}

void IommuDomains::detach(Master& master) {
  Domain* old = master.domain_;
  if (old == nullptr) return;
  install_ste(master, ste_for(master, nullptr));
  if (old->type() == DomainType::Stage1) write_cd(master, 0, smmu::EntryWords{});
  --old->attachments_;
  master.domain_ = nullptr;
}

void IommuDomains::attach_pasid(Master& master, std::uint32_t ssid, Domain& domain) {
  if (domain.type() != DomainType::Stage1) {
    throw DriverError(fmt::format("PASID {} can only take a stage-1 domain, not {}", ssid, to_string(domain.type())));
  }
  if (ssid == 0 || (ssid >> master.config_.ssid_bits) != 0) {
    throw DriverError(fmt::format("PASID {} is outside the master's {} SubstreamID bits", ssid,
                                  master.config_.ssid_bits));
  }
  if (master.domain_ != nullptr &&
      (master.domain_->type() == DomainType::Stage2 || master.domain_->type() == DomainType::Nested)) {
    throw DriverError(fmt::format("PASID {}: SSID 0 is on a {} domain, which has no CD table",
                                  ssid, to_string(master.domain_->type())));
  }
  auto it = master.pasids_.find(ssid);
  Domain* old = it == master.pasids_.end() ? nullptr : it->second;
  write_cd(master, ssid, make_s1_cd(domain.table_->stage1_context(domain.asid()), master.config_.traits));
  master.pasids_[ssid] = &domain;
  install_ste(master, ste_for(master, master.domain_));
  if (old != nullptr) --old->attachments_;
  ++domain.attachments_;
}

void IommuDomains::detach_pasid(Master& master, std::uint32_t ssid) {
  auto it = master.pasids_.find(ssid);
  if (it == master.pasids_.end()) return;
  Domain* old = it->second;
  write_cd(master, ssid, smmu::EntryWords{});
  master.pasids_.erase(it);
  install_ste(master, ste_for(master, master.domain_));
  --old->attachments_;
}

}  // namespace smmuv3tlm::driver

// ---------------------------------------------------------------------------
// Live update

namespace smmuv3tlm::driver {

namespace {

// One allocation of a preserved structure, into the record's preserved list or
// (coherent-dma: not preservable) its not-preserved list.
void add_page(HandoverRecord& record, const DriverMemory& memory, std::uint64_t pa, PageUse use) {
  const DriverPage* page = memory.page_at(pa);
  if (page == nullptr) throw DriverError(fmt::format("{:#x} ({}) is not a driver allocation", pa, to_string(use)));
  auto& list = page->kind == PageKind::IommuPages ? record.ranges : record.not_preserved;
  for (const PreservedRange& r : list) {
    if (r.pa == page->pa) return;
  }
  list.push_back({page->pa, page->bytes, page->use});
}

}  // namespace

HandoverRecord IommuDomains::preserve(const std::vector<Master*>& masters) const {
  HandoverRecord record;
  record.strtab_base = driver_.strtab_base();
  record.strtab_base_cfg = driver_.strtab_base_cfg();
  std::vector<const Domain*> kept;
  std::set<std::uint32_t> sids;
  const auto keep = [&](const Domain* d) {
    if (std::find(kept.begin(), kept.end(), d) == kept.end()) kept.push_back(d);
  };
  for (const Master* m : masters) {
    const std::uint32_t first = m->config_.stream_ids.front();
    if (!m->pasids_.empty()) {
      throw DriverError(fmt::format("StreamID {:#x}: PASIDs in use cannot be preserved", first));
    }
    if (m->domain_ == nullptr) throw DriverError(fmt::format("StreamID {:#x} is attached to no domain", first));
    if (m->domain_->parent_ != nullptr) keep(m->domain_->parent_);
    keep(m->domain_);
    PreservedMaster pm;
    pm.stream_ids = m->config_.stream_ids;
    pm.ssid_bits = m->config_.ssid_bits;
    pm.traits = m->config_.traits;
    pm.domain = m->domain_->id();
    if (m->domain_->type() == DomainType::Stage1) {
      pm.cd_table = m->cd_table_;
      pm.cd_two_level = m->cd_two_level_;
      pm.cd_l2 = m->cd_l2_;
      add_page(record, driver_.memory(), m->cd_table_, PageUse::CdTableL1);
      for (std::uint64_t l2 : m->cd_l2_) {
        if (l2 != 0) add_page(record, driver_.memory(), l2, PageUse::CdTableL2);
      }
    }
    sids.insert(m->config_.stream_ids.begin(), m->config_.stream_ids.end());
    record.masters.push_back(pm);
  }
  for (const Domain* d : kept) {
    PreservedDomain pd;
    pd.id = d->id();
    pd.type = d->type();
    pd.asid = d->asid();
    pd.vmid = d->vmid();
    pd.nest_parent = d->nest_parent();
    pd.parent = d->parent_ != nullptr ? d->parent_->id() : 0;
    if (d->table_) {
      pd.has_table = true;
      pd.table = d->table_->config();
      pd.root = d->table_->root();
      pd.table_pages = d->table_->table_pages();
    }
    if (d->type() == DomainType::Nested) {
      // The STE only: the guest's CD table and stage 1 live in the guest's RAM,
      // which the VMM preserves as a whole.
      pd.guest_cd_table = d->guest_cd_table_;
      pd.guest_memory_base = d->guest_memory_->base();
      pd.guest_memory_size = d->guest_memory_->size();
      bool listed = false;
      for (const PreservedRange& r : record.ranges) listed |= r.pa == pd.guest_memory_base;
      if (!listed) record.ranges.push_back({pd.guest_memory_base, pd.guest_memory_size, PageUse::GuestMemory});
    } else if (d->table_) {
      for (std::uint64_t page : pd.table_pages) add_page(record, driver_.memory(), page, d->table_->config().stage ==
                                                         tables::Stage::Stage1 ? PageUse::Stage1Table : PageUse::Stage2Table);
    }
    record.domains.push_back(pd);
  }
  for (const DriverPage& page : driver_.stream_table_pages(sids)) add_page(record, driver_.memory(), page.pa, page.use);
  std::sort(record.ranges.begin(), record.ranges.end(), [](const auto& a, const auto& b) { return a.pa < b.pa; });
  return record;
}

void IommuDomains::forget() {
  for (auto& d : domains_) {
    if (d->table_) d->table_->forget();
  }
}

std::vector<std::string> IommuDomains::adopt(const HandoverRecord& record,
                                             const std::function<DriverMemory*(std::uint64_t)>& guest_memory) {
  if (!driver_.adopted()) throw DriverError("IommuDomains::adopt before SmmuDriver::adopt");
  std::vector<std::string> refused;
  std::map<unsigned, Domain*> by_old_id;
  // Parents before the nested domains that sit on them.
  std::vector<const PreservedDomain*> order;
  for (const PreservedDomain& pd : record.domains) {
    if (pd.type != DomainType::Nested) order.push_back(&pd);
  }
  for (const PreservedDomain& pd : record.domains) {
    if (pd.type == DomainType::Nested) order.push_back(&pd);
  }
  for (const PreservedDomain* pd : order) {
    std::unique_ptr<Domain> domain(new Domain(*this, pd->type, next_id_));
    domain->asid_ = pd->asid;
    domain->vmid_ = pd->vmid;
    domain->nest_parent_ = pd->nest_parent;
    if (pd->type == DomainType::Stage1 && !asids_.reserve(pd->asid)) {
      throw DriverError(fmt::format("adoption: ASID {} of domain {} is already in use", pd->asid, pd->id));
    }
    if (pd->type == DomainType::Stage2 && !vmids_.reserve(pd->vmid)) {
      throw DriverError(fmt::format("adoption: VMID {} of domain {} is already in use", pd->vmid, pd->id));
    }
    DriverMemory* memory = &driver_.memory();
    if (pd->type == DomainType::Nested) {
      auto parent = by_old_id.find(pd->parent);
      if (parent == by_old_id.end()) throw DriverError(fmt::format("adoption: nested domain {} lost its parent", pd->id));
      domain->parent_ = parent->second;
      memory = guest_memory ? guest_memory(pd->guest_memory_base) : nullptr;
      if (memory == nullptr) {
        throw DriverError(fmt::format("adoption: no guest RAM at {:#x} for nested domain {}", pd->guest_memory_base, pd->id));
      }
      domain->guest_memory_ = memory;
      domain->guest_cd_table_ = pd->guest_cd_table;
      domain->guest_ste_ = make_cdtable_ste(pd->guest_cd_table, 0, 0, kS1dssSsid0, driver_.features(), MasterTraits{});
    }
    if (pd->has_table) {
      Domain* d = domain.get();
      domain->table_ = std::make_unique<IoPageTable>(driver_, *memory, pd->table, [d](const TlbFlush& f) { d->flush(f); },
                                                     pd->root, pd->table_pages);
    }
    ++next_id_;
    by_old_id[pd->id] = domain.get();
    domains_.push_back(std::move(domain));
  }
  for (const PreservedMaster& pm : record.masters) {
    MasterConfig config;
    config.stream_ids = pm.stream_ids;
    config.ssid_bits = pm.ssid_bits;
    config.traits = pm.traits;
    masters_.push_back(std::unique_ptr<Master>(new Master(config)));
    Master& master = *masters_.back();
    Domain& domain = *by_old_id.at(pm.domain);
    master.cd_table_ = pm.cd_table;
    master.cd_two_level_ = pm.cd_two_level;
    master.cd_l2_ = pm.cd_l2;
    master.s1cdmax_ = pm.ssid_bits;
    // Re-attach only what still matches: the live STE must be what this
    // domain would install, and an S1 master's CD 0 its table and ASID.
    const smmu::EntryWords expected = ste_for(master, &domain);
    std::string mismatch;
    for (std::uint32_t sid : pm.stream_ids) {
      const smmu::EntryWords live = driver_.read_ste(sid);
      if (live != expected) {
        mismatch = fmt::format("StreamID {:#x}: the live STE (Config {}) is not the saved {} domain's", sid,
                               smmu::ste::CONFIG.get(live), to_string(domain.type()));
        break;
      }
    }
    if (mismatch.empty() && domain.type() == DomainType::Stage1) {
      const smmu::EntryWords cd = read_entry(cd_address(master, 0));
      if (smmu::cd::TTB0.get(cd) != domain.table_->root() || smmu::cd::ASID.get(cd) != domain.asid()) {
        mismatch = fmt::format("StreamID {:#x}: CD 0 has TTB0 {:#x} ASID {}, the saved domain {:#x} ASID {}",
                               pm.stream_ids.front(), smmu::cd::TTB0.get(cd), smmu::cd::ASID.get(cd),
                               domain.table_->root(), domain.asid());
      }
    }
    if (!mismatch.empty()) {
      refused.push_back(mismatch);
      install_ste(master, SmmuDriver::abort_ste());
      continue;
    }
    master.domain_ = &domain;
    ++domain.attachments_;
  }
  // Identifiers live in the tables but not in the record stay reserved.
  reserve_live_identifiers();
  return refused;
}

void IommuDomains::reserve_live_identifiers() {
  for (std::uint32_t sid : driver_.live_stream_ids()) {
    const smmu::EntryWords ste = driver_.read_ste(sid);
    const std::uint64_t config = smmu::ste::CONFIG.get(ste);
    if (smmu::ste::V.get(ste) == 0) continue;
    if (config == smmu::ste::kConfigStage2 || config == smmu::ste::kConfigNested) {
      vmids_.reserve(static_cast<std::uint32_t>(smmu::ste::S2VMID.get(ste)));
    }
    if (config == smmu::ste::kConfigStage1 && smmu::ste::S1FMT.get(ste) == 0) {
      const std::uint64_t cds = std::uint64_t{1} << std::min<std::uint64_t>(smmu::ste::S1CDMAX.get(ste), 10);
      const std::uint64_t table = smmu::ste::S1_CONTEXT_PTR.get(ste);
      for (std::uint64_t i = 0; i < cds; ++i) {
        const smmu::EntryWords cd = read_entry(table + i * smmu::kCdBytes);
        if (smmu::cd::V.get(cd) != 0) asids_.reserve(static_cast<std::uint32_t>(smmu::cd::ASID.get(cd)));
      }
    }
  }
}

}  // namespace smmuv3tlm::driver
