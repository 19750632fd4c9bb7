#include "platforms/driver/iommu_domain.h"

#include <algorithm>

#include <fmt/format.h>

#include "models/smmu/arch/bits.h"
#include "models/smmu/arch/context_descriptor.h"
#include "platforms/driver/tlb_invalidation.h"

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

// ---------------------------------------------------------------------------
// IommuDomains

IommuDomains::IommuDomains(SmmuDriver& driver)
    : driver_(driver),
      asids_(1, id_limit(driver.features().asid16)),
      vmids_(1, id_limit(driver.features().vmid16)) {}

IommuDomains::~IommuDomains() = default;

void IommuDomains::invalidate(const InvalidationTarget& target, const TlbFlush& flush, bool nest_parent) {
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
    const auto asid = asids_.allocate();
    if (!asid) throw DriverError("no ASID left");
    domain->asid_ = static_cast<std::uint16_t>(*asid);
    table.stage = tables::Stage::Stage1;
    table.input_bits = 48;  // VA_BITS
  } else if (type == DomainType::Stage2) {
    const auto vmid = vmids_.allocate();
    if (!vmid) throw DriverError("no VMID left");
    domain->vmid_ = static_cast<std::uint16_t>(*vmid);
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
  smmu::Command tlbi;
  switch (domain.type()) {
    case DomainType::Stage1:
      // arm_smmu_domain_free_paging -> arm_smmu_tlb_inv_asid.
      tlbi.opcode = driver_.features().hyp ? smmu::CommandOpcode::TLBI_EL2_ASID : smmu::CommandOpcode::TLBI_NH_ASID;
      tlbi.asid = domain.asid();
      driver_.issue({tlbi});
      asids_.release(domain.asid());
      break;
    case DomainType::Stage2:
      tlbi.opcode = smmu::CommandOpcode::TLBI_S12_VMALL;
      tlbi.vmid = domain.vmid();
      driver_.issue({tlbi});
      vmids_.release(domain.vmid());
      break;
    case DomainType::Nested:
      tlbi.opcode = smmu::CommandOpcode::TLBI_NH_ASID;
      tlbi.asid = domain.asid();
      tlbi.vmid = domain.vmid();
      driver_.issue({tlbi});
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
    std::vector<smmu::Command> cfgi;
    for (std::uint32_t sid : master.config_.stream_ids) {
      smmu::Command c;
      c.opcode = smmu::CommandOpcode::CFGI_CD;
      c.stream_id = sid;
      c.substream_id = ssid;
      c.leaf = false;
      cfgi.push_back(c);
    }
    driver_.issue(cfgi);
    master.cd_l2_[l1] = l2;
  }
  return master.cd_l2_[l1] + std::uint64_t{ssid & ((1u << kCdSplit) - 1)} * smmu::kCdBytes;
}

void IommuDomains::write_cd(Master& master, std::uint32_t ssid, const smmu::EntryWords& target) {
  const std::uint64_t address = cd_address(master, ssid);
  smmu::EntryWords entry = read_entry(address);
  EntryWriter writer(
      EntryKind::Cd, [&](unsigned qword, std::uint64_t value) { driver_.store_table_word(address + 8 * qword, value); },
      [&] {
        // arm_smmu_sync_cd: CFGI_CD for every StreamID of the master, then a sync.
        std::vector<smmu::Command> cfgi;
        for (std::uint32_t sid : master.config_.stream_ids) {
          smmu::Command c;
          c.opcode = smmu::CommandOpcode::CFGI_CD;
          c.stream_id = sid;
          c.substream_id = ssid;
          c.leaf = true;
          cfgi.push_back(c);
        }
        driver_.issue(cfgi);
      });
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
