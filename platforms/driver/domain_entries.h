// The entries a driver domain installs, built as Linux's arm-smmu-v3 builds
// them (arm_smmu_make_cdtable_ste, arm_smmu_make_s2_domain_ste,
// arm_smmu_make_s1_cd, the nested STE of arm-smmu-v3-iommufd), and the ASID
// and VMID allocators (ASIDs and VMIDs from 1: VMID 0 tags stage-1-only
// streams, ASID 0 is never handed out).
#pragma once

#include <cstdint>
#include <optional>
#include <set>

#include "smmuv3tlm/models/smmu/arch/entry_fields.h"
#include "smmuv3tlm/platforms/driver/smmu_driver.h"

namespace smmuv3tlm::driver {

// A stage-1 domain's translation (io-pgtable's arm_lpae_s1_cfg: TCR fields, TTBR, MAIR).
struct Stage1Context {
  std::uint64_t ttb = 0;
  unsigned tsz = 16;      // T0SZ
  unsigned tg = 0;        // TG0 encoding (0 4K, 1 64K, 2 16K)
  unsigned irgn = 1;      // write-back, read/write-allocate
  unsigned orgn = 1;
  unsigned sh = 3;        // inner shareable
  unsigned ips = 5;       // IPS encoding
  std::uint64_t mair = 0;
  bool dirty_tracking = false;  // io-pgtable's ARM_HD quirk: HA and HD set
  std::uint16_t asid = 0;
};

// A stage-2 domain's translation (io-pgtable's arm_lpae_s2_cfg: VTCR fields, VTTBR).
struct Stage2Context {
  std::uint64_t ttb = 0;
  unsigned tsz = 24;
  unsigned sl = 1;
  unsigned irgn = 1;
  unsigned orgn = 1;
  unsigned sh = 3;
  unsigned tg = 0;  // S2TG encoding (0 4K, 1 64K, 2 16K)
  unsigned ps = 5;
  std::uint16_t vmid = 0;
};

// What the master asks of its STE.
struct MasterTraits {
  bool ats = false;    // EATS = translated
  bool stall = false;  // the master can stall (else S1STALLD where stalls exist)
};

// S1DSS values.
inline constexpr unsigned kS1dssTerminate = 0, kS1dssBypass = 1, kS1dssSsid0 = 2;

smmu::EntryWords make_s1_cd(const Stage1Context& s1, const MasterTraits& master);
// `s1fmt`: 0 linear, 2 two-level with 64 KiB leaves; `s1cdmax`: log2 of the CDs.
smmu::EntryWords make_cdtable_ste(std::uint64_t cd_table, unsigned s1fmt, unsigned s1cdmax, unsigned s1dss,
                                  const DriverFeatures& features, const MasterTraits& master);
smmu::EntryWords make_s2_domain_ste(const Stage2Context& s2, const DriverFeatures& features,
                                    const MasterTraits& master);
// A nested STE: the guest's stage-1 CD table (its STE words 0 and 1 as the
// guest wrote them) over a nest-parent stage-2 domain; MEV set.
smmu::EntryWords make_nested_ste(const smmu::EntryWords& guest_ste, const Stage2Context& s2,
                                 const DriverFeatures& features, const MasterTraits& master);

// ASIDs or VMIDs: the lowest free identifier in [first, last].
class IdAllocator {
 public:
  IdAllocator(std::uint32_t first, std::uint32_t last) : first_(first), last_(last) {}
  std::optional<std::uint32_t> allocate();
  // Marks an identifier in use (a handed-over table's ASID/VMID); false if it
  // was already in use or is out of range.
  bool reserve(std::uint32_t id);
  void release(std::uint32_t id) { used_.erase(id); }
  bool in_use(std::uint32_t id) const { return used_.count(id) != 0; }
  std::size_t size() const { return used_.size(); }

 private:
  std::uint32_t first_;
  std::uint32_t last_;
  std::set<std::uint32_t> used_;
};

}  // namespace smmuv3tlm::driver
