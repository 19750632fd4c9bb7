// The TLB invalidation commands the driver issues for a range, as Linux's
// __arm_smmu_tlb_inv_range builds them: with range invalidation (IDR3.RIL),
// commands of up to 32 * 2^SCALE pages (NUM, SCALE, TG, and the TTL level
// hint for leaf-only invalidation); without it one command per granule, and
// the whole ASID or VMID once that would take more than 512 commands
// (CMDQ_MAX_TLBI_OPS for 4 KiB pages).
#pragma once

#include <cstdint>
#include <vector>

#include "smmuv3tlm/models/smmu/arch/command.h"

namespace smmuv3tlm::driver {

struct InvalidationTarget {
  bool stage2 = false;      // TLBI_S2_IPA by VMID, else TLBI_NH_VA / TLBI_EL2_VA by ASID
  bool el2 = false;         // an E2H hypervisor domain: TLBI_EL2_*
  std::uint16_t asid = 0;
  std::uint16_t vmid = 0;
  unsigned page_log2 = 12;  // the domain's smallest page (its TG)
};

inline constexpr unsigned kMaxTlbiOps = 512;

// The commands that invalidate [iova, iova + size): `granule` is the size of
// the mappings removed (a leaf level's block or page size), `leaf` when only
// last-level entries changed.
std::vector<smmu::Command> tlb_invalidation(const InvalidationTarget& target, std::uint64_t iova, std::uint64_t size,
                                            std::uint64_t granule, bool leaf, bool range_invalidation);

}  // namespace smmuv3tlm::driver
