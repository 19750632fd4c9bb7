// The handover record: what an outgoing kernel hands the incoming one across
// a live update besides the registers and memory (Linux's KHO/LUO state for
// arm-smmu-v3). The preserved physical ranges tagged by what they hold, the
// stream table's registers, every preserved domain (type, ASID/VMID, table
// geometry, every table page) and every preserved master (StreamIDs, domain,
// CD table). Serialised as JSON; parsing names the key path of anything wrong.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "smmuv3tlm/platforms/driver/domain_entries.h"
#include "smmuv3tlm/platforms/driver/driver_memory.h"
#include "smmuv3tlm/platforms/driver/iommu_domain.h"

namespace smmuv3tlm::driver {

struct PreservedRange {
  std::uint64_t pa = 0;
  std::uint64_t bytes = 0;
  PageUse use = PageUse::Stage1Table;
};

struct PreservedDomain {
  unsigned id = 0;  // the outgoing kernel's domain id (masters refer to it)
  DomainType type = DomainType::Blocked;
  std::uint16_t asid = 0;
  std::uint16_t vmid = 0;
  bool nest_parent = false;
  unsigned parent = 0;  // nested: the parent's id
  // The page table (stage 1, stage 2, or the guest's stage 1 when nested).
  bool has_table = false;
  IoPageTableConfig table;
  std::uint64_t root = 0;
  std::vector<std::uint64_t> table_pages;  // every table page, in address order
  std::uint64_t guest_cd_table = 0;        // nested: the guest's CD table (in guest memory)
  std::uint64_t guest_memory_base = 0;     // nested: the guest RAM holding it
  std::uint64_t guest_memory_size = 0;
};

struct PreservedMaster {
  std::vector<std::uint32_t> stream_ids;
  unsigned ssid_bits = 0;
  MasterTraits traits;
  unsigned domain = 0;  // a PreservedDomain id
  std::uint64_t cd_table = 0;
  bool cd_two_level = false;
  std::vector<std::uint64_t> cd_l2;  // 2-level: per L1 index, 0 when absent
};

struct HandoverRecord {
  static constexpr unsigned kVersion = 1;
  std::uint64_t strtab_base = 0;  // STRTAB_BASE as the outgoing kernel wrote it
  std::uint32_t strtab_base_cfg = 0;
  std::vector<PreservedRange> ranges;       // what is preserved (iommu-pages only)
  std::vector<PreservedRange> not_preserved;  // what a preserved domain uses but could not be preserved (coherent-dma)
  std::vector<PreservedDomain> domains;
  std::vector<PreservedMaster> masters;

  std::uint64_t bytes(PageUse use) const;
  std::uint64_t pages(PageUse use) const;  // allocations of that use
  bool preserves(std::uint64_t pa) const;
  const PreservedDomain* domain(unsigned id) const;

  nlohmann::json to_json() const;
  // Throws std::invalid_argument naming the key path ("domains[2].root") of a
  // missing, mistyped or out-of-range field, or an unknown version.
  static HandoverRecord from_json(const nlohmann::json& json);
};

}  // namespace smmuv3tlm::driver
