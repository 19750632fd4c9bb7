#include "smmuv3tlm/platforms/driver/io_page_table.h"

#include <algorithm>

#include <fmt/format.h>

#include "smmuv3tlm/models/smmu/arch/bits.h"

namespace smmuv3tlm::driver {

namespace {

constexpr std::uint64_t kTypeMask = 0b11;
constexpr std::uint64_t kTypeTableOrPage = 0b11;
constexpr std::uint64_t kTypeBlock = 0b01;
// io-pgtable-arm's MAIR: index 0 non-cacheable, 1 write-back RWA, 2 Device-nGnRE,
// 3 inner non-cacheable / outer write-back (ARM_LPAE_MAIR_ATTR_*).
constexpr std::uint64_t kMair = 0x44 | (0xffull << 8) | (0x04ull << 16) | (0xf4ull << 24);
constexpr unsigned kAttrIndexNc = 0, kAttrIndexCache = 1, kAttrIndexDevice = 2;
// Stage-2 MemAttr: Device-nGnRE, Normal NC, Normal write-back.
constexpr unsigned kMemAttrDevice = 0x1, kMemAttrNc = 0x5, kMemAttrCache = 0xf;

bool is_valid(std::uint64_t pte) { return (pte & 1) != 0; }
bool is_table(std::uint64_t pte, int level) { return level < 3 && (pte & kTypeMask) == kTypeTableOrPage; }

// arm_lpae_restrict_pgsizes.
std::uint64_t page_sizes_for(unsigned granule_log2) {
  switch (granule_log2) {
    case 12: return (1ull << 12) | (1ull << 21) | (1ull << 30);
    case 14: return (1ull << 14) | (1ull << 25);
    default: return (1ull << 16) | (1ull << 29);
  }
}

}  // namespace

IoPageTable::IoPageTable(SmmuDriver& driver, DriverMemory& memory, const IoPageTableConfig& config, Flush flush)
    : driver_(driver), memory_(memory), config_(config), flush_(std::move(flush)) {
  const DriverFeatures& f = driver_.features();
  const bool supported = (config_.granule_log2 == 12 && f.granule_4k) || (config_.granule_log2 == 14 && f.granule_16k) ||
                         (config_.granule_log2 == 16 && f.granule_64k);
  if (!supported) {
    throw DriverError(fmt::format("a {} KiB granule is not supported by the SMMU (IDR5.GRAN*)",
                                  (1u << config_.granule_log2) / 1024));
  }
  derive_geometry();
  page_sizes_ = page_sizes_for(config_.granule_log2);
  const std::uint64_t bytes = table_bytes(geometry_.start_level);
  root_ = driver_.allocate_table(memory_, use_, bytes, std::max<std::uint64_t>(bytes, 64));
  tables_.insert(root_);
  ++stats_.tables_allocated;
}

IoPageTable::IoPageTable(SmmuDriver& driver, DriverMemory& memory, const IoPageTableConfig& config, Flush flush,
                         std::uint64_t root, const std::vector<std::uint64_t>& table_pages)
    : driver_(driver), memory_(memory), config_(config), flush_(std::move(flush)) {
  derive_geometry();
  page_sizes_ = page_sizes_for(config_.granule_log2);
  root_ = root;
  tables_.insert(table_pages.begin(), table_pages.end());
  tables_.insert(root);
}

void IoPageTable::derive_geometry() {
  config_.input_bits = std::min(config_.input_bits, 48u);
  config_.output_bits = std::min(config_.output_bits, 48u);
  try {
    if (config_.stage == tables::Stage::Stage1) {
      geometry_ = tables::TableGeometry::stage1(config_.granule_log2, config_.input_bits);
      use_ = PageUse::Stage1Table;
    } else {
      // arm_64_lpae_alloc_pgtable_s2: concatenate up to 16 start tables rather
      // than walk an extra level (only from level 0, as Linux does).
      int start = tables::TableGeometry::stage1(config_.granule_log2, config_.input_bits).start_level;
      const unsigned stride = config_.granule_log2 - 3;
      const unsigned below = static_cast<unsigned>(3 - start) * stride + config_.granule_log2;
      if (start == 0 && config_.input_bits - (below - stride) <= stride + 4) ++start;
      const unsigned sl0 = config_.granule_log2 == 12 ? static_cast<unsigned>(2 - start) : static_cast<unsigned>(3 - start);
      geometry_ = tables::TableGeometry::stage2(config_.granule_log2, config_.input_bits, sl0, config_.output_bits);
      use_ = PageUse::Stage2Table;
    }
  } catch (const std::invalid_argument& e) {
    throw DriverError(std::string("page table: ") + e.what());
  }
}

IoPageTable::~IoPageTable() {
  // free_io_pgtable_ops without reading the tables back: the bus may be gone
  // when a simulation is torn down. An adopted table the record did not
  // preserve was never this kernel's to free (it was scrubbed at kexec).
  for (std::uint64_t table : tables_) {
    const DriverPage* page = memory_.page_at(table);
    if (page != nullptr && page->pa == table) memory_.free(table);
  }
}

Stage1Context IoPageTable::stage1_context(std::uint16_t asid) const {
  Stage1Context s1;
  s1.ttb = root_;
  s1.tsz = geometry_.tsz();
  s1.tg = tables::tg0_encoding(config_.granule_log2);
  s1.irgn = s1.orgn = config_.coherent_walk ? 1 : 0;  // write-back RWA, or non-cacheable
  s1.sh = config_.coherent_walk ? 3 : 2;               // inner, or outer shareable
  s1.ips = tables::ps_encoding(config_.output_bits);
  s1.mair = kMair;
  s1.asid = asid;
  return s1;
}

Stage2Context IoPageTable::stage2_context(std::uint16_t vmid) const {
  Stage2Context s2;
  s2.ttb = root_;
  s2.tsz = geometry_.tsz();
  s2.sl = geometry_.s2_sl0;
  s2.irgn = s2.orgn = config_.coherent_walk ? 1 : 0;
  s2.sh = config_.coherent_walk ? 3 : 2;
  s2.tg = tables::tg0_encoding(config_.granule_log2);
  s2.ps = tables::ps_encoding(config_.output_bits);
  s2.vmid = vmid;
  return s2;
}

std::uint64_t IoPageTable::slot(std::uint64_t table, int level, std::uint64_t iova) const {
  const std::uint64_t index = (iova >> geometry_.level_shift(level)) & ((std::uint64_t{1} << geometry_.index_bits(level)) - 1);
  return table + index * 8;
}

bool IoPageTable::block_allowed(int level) const {
  return level == 3 || (page_sizes_ & entry_span(level)) != 0;
}

std::uint64_t IoPageTable::leaf(std::uint64_t pa, int level, const IoProt& prot) const {
  // arm_lpae_prot_to_pte.
  tables::PageAttributes a;
  a.af = true;
  a.sh = prot.cache && !prot.mmio ? 0b11 : 0b10;
  if (config_.stage == tables::Stage::Stage1) {
    a.ng = true;
    a.ap = ((!prot.write && prot.read) ? 0b10 : 0b00) | (prot.priv ? 0b00 : 0b01);
    a.attr_index = prot.mmio ? kAttrIndexDevice : prot.cache ? kAttrIndexCache : kAttrIndexNc;
    a.uxn = prot.noexec;
  } else {
    a.s2ap = (prot.read ? 0b01 : 0) | (prot.write ? 0b10 : 0);
    a.memattr = prot.mmio ? kMemAttrDevice : prot.cache ? kMemAttrCache : kMemAttrNc;
    a.s2xn = prot.noexec ? 0b10 : 0;
  }
  return tables::encode_leaf_descriptor(geometry_, pa, level, a);
}

void IoPageTable::store(std::uint64_t pa, std::uint64_t value) {
  driver_.store_pte(pa, value);
  ++stats_.pte_stores;
}

std::uint64_t IoPageTable::load(std::uint64_t pa) {
  ++stats_.pte_loads;
  return driver_.load_table_word(pa);
}

std::uint64_t IoPageTable::new_table(int level) {
  const std::uint64_t bytes = table_bytes(level);
  ++stats_.tables_allocated;
  const std::uint64_t table = driver_.allocate_table(memory_, use_, bytes, bytes);
  tables_.insert(table);
  return table;
}

void IoPageTable::free_tables(std::uint64_t table, int level) {
  // __arm_lpae_free_pgtable: last-level tables hold no tables to look at.
  if (level < 3) {
    const std::uint64_t entries = table_bytes(level) / 8;
    for (std::uint64_t i = 0; i < entries; ++i) {
      const std::uint64_t pte = load(table + 8 * i);
      if (is_table(pte, level)) free_tables(pte & smmu::mask_bits(47, config_.granule_log2), level + 1);
    }
  }
  memory_.free(table);
  tables_.erase(table);
  ++stats_.tables_freed;
}

void IoPageTable::map(std::uint64_t iova, std::uint64_t pa, std::uint64_t size, const IoProt& prot) {
  const std::uint64_t min_page = std::uint64_t{1} << config_.granule_log2;
  if (size == 0 || ((iova | pa | size) & (min_page - 1)) != 0) {
    throw DriverError(fmt::format("map [{:#x}, +{:#x}) -> {:#x} is not aligned to the {} KiB granule", iova, size,
                                  pa, min_page / 1024));
  }
  if (((iova + size - 1) >> config_.input_bits) != 0 || iova + size < iova) {
    throw DriverError(fmt::format("map [{:#x}, +{:#x}) leaves the {}-bit input range", iova, size, config_.input_bits));
  }
  if (((pa + size - 1) >> config_.output_bits) != 0 || pa + size < pa) {
    throw DriverError(fmt::format("map to [{:#x}, +{:#x}) leaves the {}-bit output range", pa, size, config_.output_bits));
  }
  if (!prot.read && !prot.write) return;  // arm_lpae_map_pages: nothing to map
  mapped_until_ = iova;
  try {
    map_under(root_, geometry_.start_level, false, iova, pa, size, prot);
  } catch (const DriverError&) {
    // iommu_map: undo what this call mapped.
    if (mapped_until_ > iova) unmap(iova, mapped_until_ - iova);
    throw;
  }
}

void IoPageTable::map_under(std::uint64_t table, int level, bool fresh, std::uint64_t iova, std::uint64_t pa,
                            std::uint64_t size, const IoProt& prot) {
  const std::uint64_t span = entry_span(level);
  const std::uint64_t end = iova + size;
  std::uint64_t at = iova;
  while (at < end) {
    const std::uint64_t entry_start = at & ~(span - 1);
    const std::uint64_t entry_end = std::min(entry_start + span, end);
    const std::uint64_t out = pa + (at - iova);
    const std::uint64_t pte_address = slot(table, level, at);
    const bool whole = at == entry_start && entry_end - entry_start == span && (out & (span - 1)) == 0;
    const std::uint64_t pte = fresh ? 0 : load(pte_address);
    if (whole && block_allowed(level)) {
      if (is_valid(pte) && !is_table(pte, level)) {
        throw DriverError(fmt::format("map: {:#x} is already mapped (EEXIST; unmap it first)", at));
      }
      if (is_table(pte, level)) {
        // arm_lpae_init_pte: a block replaces a table only after the table is
        // unlinked, its walks invalidated and its pages freed.
        store(pte_address, 0);
        sync_gather();
        if (flush_) flush_({at, span, std::uint64_t{1} << config_.granule_log2, false});
        free_tables(pte & smmu::mask_bits(47, config_.granule_log2), level + 1);
      }
      store(pte_address, leaf(out, level, prot));
      ++stats_.leaves_mapped;
    } else if (is_table(pte, level)) {
      map_under(pte & smmu::mask_bits(47, config_.granule_log2), level + 1, false, at, out, entry_end - at, prot);
    } else if (is_valid(pte)) {
      throw DriverError(fmt::format("map: {:#x} lies in a block already mapped at level {} (EEXIST)", at, level));
    } else {
      // A new table, filled before the pointer to it is stored.
      const std::uint64_t next = new_table(level + 1);
      map_under(next, level + 1, true, at, out, entry_end - at, prot);
      store(pte_address, tables::encode_table_descriptor(next));
    }
    at = entry_end;
    if (!fresh) mapped_until_ = std::max(mapped_until_, at);
  }
}

std::uint64_t IoPageTable::unmap(std::uint64_t iova, std::uint64_t size) {
  const std::uint64_t min_page = std::uint64_t{1} << config_.granule_log2;
  if (((iova | size) & (min_page - 1)) != 0) {
    throw DriverError(fmt::format("unmap [{:#x}, +{:#x}) is not aligned to the {} KiB granule", iova, size,
                                  min_page / 1024));
  }
  std::uint64_t unmapped = 0;
  while (unmapped < size) {
    const std::uint64_t at = iova + unmapped;
    const std::uint64_t remaining = size - unmapped;
    // iommu_pgsize(iova, iova, remaining): the largest page size the
    // alignment and the remaining size allow.
    std::uint64_t pgsize = min_page;
    for (std::uint64_t candidate = page_sizes_; candidate != 0; candidate &= candidate - 1) {
      const std::uint64_t s = candidate & (~candidate + 1);
      if (s <= remaining && (at & (s - 1)) == 0) pgsize = std::max(pgsize, s);
    }
    int level = geometry_.start_level;
    while (entry_span(level) != pgsize) ++level;
    // Walk to the table holding the entries of that size.
    std::uint64_t table = root_;
    bool stop = false;
    for (int l = geometry_.start_level; l < level; ++l) {
      const std::uint64_t pte = load(slot(table, l, at));
      if (!is_table(pte, l)) {
        stop = true;  // a hole (nothing mapped), or a block that would have to be split
        break;
      }
      table = pte & smmu::mask_bits(47, config_.granule_log2);
    }
    if (stop) break;
    // The entries of this size in this table (iommu_unmap's pgcount, capped at the table end).
    const std::uint64_t table_span = entry_span(level) << geometry_.index_bits(level);
    const std::uint64_t table_end = (at & ~(table_span - 1)) + table_span;
    const std::uint64_t count = std::min(remaining / pgsize, (table_end - at) / pgsize);
    std::uint64_t done = 0;
    for (; done < count; ++done) {
      const std::uint64_t entry_iova = at + done * pgsize;
      const std::uint64_t pte_address = slot(table, level, entry_iova);
      const std::uint64_t pte = load(pte_address);
      if (!is_valid(pte)) break;
      store(pte_address, 0);
      if (is_table(pte, level)) {
        sync_gather();
        if (flush_) flush_({entry_iova, pgsize, min_page, false});
        free_tables(pte & smmu::mask_bits(47, config_.granule_log2), level + 1);
      } else {
        ++stats_.leaves_unmapped;
        gather(entry_iova, pgsize);
      }
    }
    unmapped += done * pgsize;
    if (done < count) break;
  }
  sync_gather();
  return unmapped;
}

void IoPageTable::gather(std::uint64_t iova, std::uint64_t size) {
  // iommu_iotlb_gather_add_page: a disjoint range or another page size syncs first.
  if (gathered_ && (gathered_->granule != size || gathered_->iova + gathered_->size != iova)) sync_gather();
  if (!gathered_) {
    gathered_ = TlbFlush{iova, size, size, true};
  } else {
    gathered_->size += size;
  }
}

void IoPageTable::sync_gather() {
  if (!gathered_) return;
  const TlbFlush flush = *gathered_;
  gathered_.reset();
  if (flush_) flush_(flush);
}

std::optional<std::uint64_t> IoPageTable::leaf_address(std::uint64_t iova) {
  std::uint64_t table = root_;
  for (int level = geometry_.start_level; level <= 3; ++level) {
    const std::uint64_t address = slot(table, level, iova);
    const std::uint64_t pte = load(address);
    if (!is_valid(pte)) return std::nullopt;
    if (!is_table(pte, level)) return address;
    table = pte & smmu::mask_bits(47, config_.granule_log2);
  }
  return std::nullopt;
}

std::optional<std::uint64_t> IoPageTable::iova_to_phys(std::uint64_t iova) {
  if ((iova >> config_.input_bits) != 0) return std::nullopt;
  std::uint64_t table = root_;
  for (int level = geometry_.start_level; level <= 3; ++level) {
    const std::uint64_t pte = load(slot(table, level, iova));
    if (!is_valid(pte)) return std::nullopt;
    if (is_table(pte, level)) {
      table = pte & smmu::mask_bits(47, config_.granule_log2);
      continue;
    }
    if (level < 3 && (pte & kTypeMask) != kTypeBlock) return std::nullopt;
    const unsigned shift = geometry_.level_shift(level);
    return (pte & smmu::mask_bits(47, shift)) | (iova & ((std::uint64_t{1} << shift) - 1));
  }
  return std::nullopt;
}

}  // namespace smmuv3tlm::driver
