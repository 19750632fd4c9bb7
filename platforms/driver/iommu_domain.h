// The driver's domains and masters, as Linux's arm-smmu-v3 keeps them
// (struct arm_smmu_domain, struct arm_smmu_master, arm_smmu_attach_dev,
// arm_smmu_set_pasid):
//   - blocked (abort STE), identity (bypass STE), stage 1 (an ASID, an
//     io-pgtable, the master's CD table), stage 2 (a VMID, an io-pgtable), and
//     nested: a guest-owned stage-1 CD table and tables (in guest memory, IPA)
//     over a nest-parent stage-2 domain;
//   - each master has its StreamIDs and, on first stage-1 use, a CD table
//     (linear, or 2-level with 1024-CD leaves when the SMMU allows and the
//     master's SubstreamIDs need it, level-2 tables allocated on first use);
//   - attach moves a live master between domains with the hitless writer:
//     a stage-1 attach writes CD 0, then the STE; leaving stage 1 installs
//     the STE, then clears CD 0; PASIDs are CDs of their own;
//   - map/unmap go through the domain's io-pgtable and invalidate the TLB as
//     arm_smmu_tlb_inv_range_domain does (by ASID at stage 1, by VMID at stage
//     2, NH_ALL too for a nest parent); freeing a domain invalidates its ASID
//     or VMID and returns the identifier.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "smmuv3tlm/platforms/driver/domain_entries.h"
#include "smmuv3tlm/platforms/driver/io_page_table.h"
#include "smmuv3tlm/platforms/driver/smmu_driver.h"
#include "smmuv3tlm/platforms/driver/tlb_invalidation.h"

namespace smmuv3tlm::driver {

enum class DomainType : std::uint8_t { Blocked, Identity, Stage1, Stage2, Nested };
const char* to_string(DomainType type);
// "blocked"/"abort", "identity"/"bypass", "s1", "s2", "nested".
bool parse_domain_type(const std::string& text, DomainType& type);

class IommuDomains;

class Domain {
 public:
  DomainType type() const { return type_; }
  unsigned id() const { return id_; }
  // The ASID of a stage-1 domain (the guest's for a nested one), the VMID of a
  // stage-2 domain (the parent's for a nested one); 0 otherwise.
  std::uint16_t asid() const { return asid_; }
  std::uint16_t vmid() const { return vmid_; }
  bool nest_parent() const { return nest_parent_; }
  Domain* parent() const { return parent_; }
  // The table map/unmap change (the guest's stage 1 for a nested domain);
  // nullptr for blocked and identity.
  IoPageTable* page_table() { return table_.get(); }
  std::size_t attachments() const { return attachments_; }

  // iommu_map / iommu_unmap on this domain (the guest's stage 1 for a nested
  // domain, invalidated with the guest's ASID under the parent's VMID).
  // Throws DriverError for blocked and identity domains.
  void map(std::uint64_t iova, std::uint64_t pa, std::uint64_t size, const IoProt& prot = {});
  std::uint64_t unmap(std::uint64_t iova, std::uint64_t size);
  // The TLB invalidations the driver issues on its own: the whole domain (its
  // ASID, its VMID, or the guest's ASID under its VMID), and a range as
  // arm_smmu_tlb_inv_range_domain builds it (non-leaf, by the domain's page).
  // Nothing for blocked and identity domains.
  void invalidate_all();
  void invalidate_range(std::uint64_t iova, std::uint64_t size);

 private:
  friend class IommuDomains;
  Domain(IommuDomains& owner, DomainType type, unsigned id) : owner_(owner), type_(type), id_(id) {}
  void flush(const TlbFlush& flush);

  IommuDomains& owner_;
  DomainType type_;
  unsigned id_;
  std::uint16_t asid_ = 0;
  std::uint16_t vmid_ = 0;
  bool nest_parent_ = false;
  Domain* parent_ = nullptr;
  std::unique_ptr<IoPageTable> table_;
  // Nested: the guest's CD table (one CD, in guest memory) and its STE words.
  std::uint64_t guest_cd_table_ = 0;
  smmu::EntryWords guest_ste_{};
  DriverMemory* guest_memory_ = nullptr;
  std::size_t attachments_ = 0;
};

struct MasterConfig {
  std::vector<std::uint32_t> stream_ids;
  unsigned ssid_bits = 0;  // the master's SubstreamID width (PASIDs); capped by IDR1.SSIDSIZE
  MasterTraits traits;
};

class Master {
 public:
  const MasterConfig& config() const { return config_; }
  Domain* domain() const { return domain_; }
  const std::map<std::uint32_t, Domain*>& pasids() const { return pasids_; }
  // The CD table (0 until first stage-1 use), its STE format and size.
  std::uint64_t cd_table() const { return cd_table_; }
  bool two_level_cd_table() const { return cd_two_level_; }
  // Every STE update this master took, in order.
  const std::vector<EntryUpdate>& ste_updates() const { return ste_updates_; }
  const std::vector<EntryUpdate>& cd_updates() const { return cd_updates_; }

 private:
  friend class IommuDomains;
  explicit Master(const MasterConfig& config) : config_(config) {}

  MasterConfig config_;
  Domain* domain_ = nullptr;
  std::map<std::uint32_t, Domain*> pasids_;
  std::uint64_t cd_table_ = 0;
  bool cd_two_level_ = false;
  unsigned s1cdmax_ = 0;
  std::vector<std::uint64_t> cd_l2_;  // 2-level: per L1 index, 0 until allocated
  std::vector<EntryUpdate> ste_updates_;
  std::vector<EntryUpdate> cd_updates_;
};

struct DomainOptions {
  unsigned granule_log2 = 12;
  bool nest_parent = false;  // a stage-2 domain nested domains may sit on
  // A stage-1 domain's ASID chosen instead of allocated, even if in use: the
  // ASID-reuse bug a checker must catch (0: allocate, as the driver does).
  std::uint16_t forced_asid = 0;
  // The same for a stage-2 domain's VMID (a trace replaying a recorded run).
  std::uint16_t forced_vmid = 0;
};

class IommuDomains {
 public:
  explicit IommuDomains(SmmuDriver& driver);
  ~IommuDomains();

  // Domains. A stage-1 domain on an SMMU without stage 1 (or with disable_s1)
  // becomes stage 2, as Linux's arm_smmu_domain_finalise does. Throws
  // DriverError when ASIDs or VMIDs run out or the type is unsupported.
  Domain& create(DomainType type, const DomainOptions& options = {});
  // A nested domain over `parent` (a nest-parent stage-2 domain): the guest
  // builds its CD table and stage-1 tables in `guest_memory`, whose range the
  // parent must map at IPA = PA (the guest's RAM), with ASID `guest_asid`.
  Domain& create_nested(Domain& parent, DriverMemory& guest_memory, std::uint16_t guest_asid,
                        unsigned granule_log2 = 12);
  // Frees a domain no master uses: TLBI by ASID or VMID, then the identifier
  // and the tables are released. Throws DriverError while it is attached.
  void destroy(Domain& domain);

  // A planted bug for the isolation monitor: the next TLB invalidation an
  // unmap needs (arm_smmu_tlb_inv_range_domain) is left out, once.
  void skip_next_unmap_tlbi() { skip_next_tlbi_ = true; }

  // Masters (their StreamIDs must fit the stream table).
  Master& add_master(const MasterConfig& config);
  // Attaches the master (SubstreamID 0 and no-SubstreamID traffic) to
  // `domain`, moving it from wherever it was.
  void attach(Master& master, Domain& domain);
  // Back to the default: blocked when disable_bypass, else identity.
  void detach(Master& master);
  // A PASID (SubstreamID != 0) to a stage-1 domain, and its removal.
  void attach_pasid(Master& master, std::uint32_t ssid, Domain& domain);
  void detach_pasid(Master& master, std::uint32_t ssid);

  // Live update, outgoing: the record of `masters` (their domains, nest
  // parents, CD tables and page tables, the stream-table pages holding them,
  // and for nested domains the guest's RAM). Only iommu-pages allocations are
  // preserved; what a preserved domain uses from coherent-dma memory is listed
  // as not preserved (the incoming kernel will find it scrubbed). Throws
  // DriverError for a master with PASIDs in use or no domain.
  HandoverRecord preserve(const std::vector<Master*>& masters) const;
  // Live update, incoming (after SmmuDriver::adopt): every preserved domain
  // rebuilt on its live tables with its ASID/VMID reserved, then each master
  // re-attached only if its live STE (and CD 0) still carries the saved
  // table and identifiers; a master that does not is refused: its streams are
  // made abort and the reason returned. Every ASID/VMID found in a valid STE or
  // CD is reserved too. `guest_memory` finds a nested guest's RAM by base.
  std::vector<std::string> adopt(const HandoverRecord& record,
                                 const std::function<DriverMemory*(std::uint64_t base)>& guest_memory = {});
  // Reserves every VMID in a valid S2/nested STE and every ASID in a valid CD
  // of a linear stage-1 CD table, so new domains never collide with tables a
  // previous kernel left live (kdump adoption; adopt() calls it).
  void reserve_live_identifiers();
  // kexec: this kernel stops existing. Nothing is stored or freed; its
  // objects merely forget the memory they held.
  void forget();

  SmmuDriver& driver() { return driver_; }
  const std::vector<std::unique_ptr<Domain>>& domains() const { return domains_; }
  const std::vector<std::unique_ptr<Master>>& masters() const { return masters_; }

 private:
  friend class Domain;
  std::uint64_t cd_address(Master& master, std::uint32_t ssid);
  void ensure_cd_table(Master& master);
  void write_cd(Master& master, std::uint32_t ssid, const smmu::EntryWords& target);
  // CFGI_CD (leaf: the CD only; else its L1 descriptor too) for every StreamID, synced.
  void sync_cd(const Master& master, std::uint32_t ssid, bool leaf);
  smmu::EntryWords read_entry(std::uint64_t address);
  // The STE the master's SSID-0 domain and PASIDs call for.
  smmu::EntryWords ste_for(const Master& master, const Domain* domain) const;
  void install_ste(Master& master, const smmu::EntryWords& target);
  void invalidate(const InvalidationTarget& target, const TlbFlush& flush, bool nest_parent);

  SmmuDriver& driver_;
  bool skip_next_tlbi_ = false;  // the planted bug, armed by skip_next_unmap_tlbi()
  bool unmapping_ = false;       // inside Domain::unmap: its invalidations are the unmap's
  friend class Domain;
  IdAllocator asids_;
  IdAllocator vmids_;
  unsigned next_id_ = 0;
  std::vector<std::unique_ptr<Domain>> domains_;
  std::vector<std::unique_ptr<Master>> masters_;
};

}  // namespace smmuv3tlm::driver
