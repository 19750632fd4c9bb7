// The driver's page tables with the behaviour of Linux's io-pgtable-arm
// (drivers/iommu/io-pgtable-arm.c) under the IOMMU core's map/unmap
// (iommu_map / iommu_unmap with iommu_pgsize):
//   - stage-1 (ARM_64_LPAE_S1) or stage-2 (ARM_64_LPAE_S2) format, 4K/16K/64K
//     granule; page sizes 4K|2M|1G, 16K|32M or 64K|512M;
//   - a range is mapped with the largest block its alignment and size allow;
//   - every PTE and table pointer is one 64-bit store through the driver's
//     table-store path (cleaned to PoC on a non-coherent SMMU); a new table is
//     filled before the pointer to it is stored (never linked half-built);
//   - mapping over a live leaf is refused (EEXIST: unmap first); a block over
//     a table replaces it: the table is unlinked, its walks invalidated, freed;
//   - unmap clears leaves and gathers one TLB invalidation per contiguous run
//     of one page size (iommu_iotlb_gather); a table covered whole is unlinked,
//     its walk invalidated (tlb_flush_walk) and its pages freed. Like Linux
//     since 6.12 a block is never split: unmapping part of it unmaps nothing,
//     and unmap stops at the first hole, returning what it unmapped.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <vector>

#include "smmuv3tlm/platforms/driver/domain_entries.h"
#include "smmuv3tlm/platforms/driver/smmu_driver.h"
#include "smmuv3tlm/platforms/tables/table_builder.h"

namespace smmuv3tlm::driver {

// The IOMMU_* protection flags of a mapping.
struct IoProt {
  bool read = true;
  bool write = true;
  bool cache = true;     // IOMMU_CACHE: write-back, inner shareable
  bool noexec = true;    // IOMMU_NOEXEC (DMA is never executed)
  bool mmio = false;     // IOMMU_MMIO: Device-nGnRE
  bool priv = false;     // IOMMU_PRIV: privileged-only at stage 1
};

// One TLB invalidation the table asks for: [iova, iova + size) whose entries
// were `granule` in size; `leaf` when only last-level entries changed.
struct TlbFlush {
  std::uint64_t iova = 0;
  std::uint64_t size = 0;
  std::uint64_t granule = 0;
  bool leaf = true;
};

struct IoPageTableConfig {
  tables::Stage stage = tables::Stage::Stage1;
  unsigned granule_log2 = 12;
  unsigned input_bits = 48;   // ias: VA bits at stage 1, IPA bits at stage 2
  unsigned output_bits = 48;  // oas
  bool coherent_walk = true;  // the SMMU snoops CPU caches (IDR0.COHACC)
};

struct IoPageTableStatistics {
  std::uint64_t leaves_mapped = 0;
  std::uint64_t leaves_unmapped = 0;
  std::uint64_t tables_allocated = 0;
  std::uint64_t tables_freed = 0;
  std::uint64_t pte_stores = 0;  // leaf, table-pointer and clearing stores
  std::uint64_t pte_loads = 0;
};

class IoPageTable {
 public:
  using Flush = std::function<void(const TlbFlush&)>;

  // Tables are allocated from `memory` (the host's, or a guest's for a nested
  // domain's stage 1; it must outlive the table) and written through `driver`; `flush` issues the TLB
  // invalidations. Throws DriverError for a granule the SMMU lacks or sizes
  // the format cannot take.
  IoPageTable(SmmuDriver& driver, DriverMemory& memory, const IoPageTableConfig& config, Flush flush);
  // Adopts a live table a previous kernel built and preserved: `root` and
  // every table page (already reserved in `memory`); nothing is stored.
  IoPageTable(SmmuDriver& driver, DriverMemory& memory, const IoPageTableConfig& config, Flush flush,
              std::uint64_t root, const std::vector<std::uint64_t>& table_pages);
  ~IoPageTable();  // frees every table page (free_io_pgtable_ops)
  IoPageTable(const IoPageTable&) = delete;
  IoPageTable& operator=(const IoPageTable&) = delete;

  // The page sizes this table maps with (pgsize_bitmap).
  std::uint64_t page_sizes() const { return page_sizes_; }
  const tables::TableGeometry& geometry() const { return geometry_; }
  std::uint64_t root() const { return root_; }
  const IoPageTableConfig& config() const { return config_; }
  // Every table page, in address order (what a live update preserves).
  std::vector<std::uint64_t> table_pages() const { return {tables_.begin(), tables_.end()}; }
  // The CD / STE fields of this table (arm_lpae_s1_cfg / arm_lpae_s2_cfg).
  Stage1Context stage1_context(std::uint16_t asid) const;
  Stage2Context stage2_context(std::uint16_t vmid) const;

  // iommu_map: throws DriverError naming the address when the range is not
  // aligned to the smallest page or leaves the input or output range (nothing
  // stored), or when a part is already mapped (what this call mapped before
  // it is unmapped again, as iommu_map does).
  void map(std::uint64_t iova, std::uint64_t pa, std::uint64_t size, const IoProt& prot = {});
  // iommu_unmap: the bytes unmapped from the start of the range.
  std::uint64_t unmap(std::uint64_t iova, std::uint64_t size);
  // The address of the leaf descriptor mapping `iova`, by walking with loads.
  std::optional<std::uint64_t> leaf_address(std::uint64_t iova);
  // iova_to_phys, by walking the tables with the CPU's loads.
  std::optional<std::uint64_t> iova_to_phys(std::uint64_t iova);

  const IoPageTableStatistics& statistics() const { return stats_; }
  // kexec: the pages are no longer this table's to free.
  void forget() { tables_.clear(); }

 private:
  std::uint64_t entry_span(int level) const { return std::uint64_t{1} << geometry_.level_shift(level); }
  std::uint64_t slot(std::uint64_t table, int level, std::uint64_t iova) const;
  std::uint64_t table_bytes(int level) const { return geometry_.table_bytes(level); }
  bool block_allowed(int level) const;
  std::uint64_t leaf(std::uint64_t pa, int level, const IoProt& prot) const;
  void derive_geometry();
  // Maps the part of [iova, iova + size) under `table` (at `level`);
  // `fresh` when the table is not linked yet and still all zero.
  void map_under(std::uint64_t table, int level, bool fresh, std::uint64_t iova, std::uint64_t pa,
                 std::uint64_t size, const IoProt& prot);
  void store(std::uint64_t pa, std::uint64_t value);
  std::uint64_t load(std::uint64_t pa);
  std::uint64_t new_table(int level);
  // Frees the table at `level` and every table below it.
  void free_tables(std::uint64_t table, int level);
  // Gathered leaf invalidations (iommu_iotlb_gather).
  void gather(std::uint64_t iova, std::uint64_t size);
  void sync_gather();

  SmmuDriver& driver_;
  DriverMemory& memory_;
  IoPageTableConfig config_;
  Flush flush_;
  tables::TableGeometry geometry_;
  std::uint64_t page_sizes_ = 0;
  std::uint64_t root_ = 0;
  PageUse use_ = PageUse::Stage1Table;
  std::optional<TlbFlush> gathered_;
  std::uint64_t mapped_until_ = 0;
  std::set<std::uint64_t> tables_;  // every table page this table holds (freed on destruction)  // map progress: [start, mapped_until_) is linked
  IoPageTableStatistics stats_;
};

}  // namespace smmuv3tlm::driver
