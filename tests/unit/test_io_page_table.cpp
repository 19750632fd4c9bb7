// The driver's io-pgtable: block mappings where size and alignment allow,
// new tables filled before they are linked, EEXIST with the call's own part
// undone, unmap gathering leaf invalidations and freeing whole tables, no
// block split, every granule, stage-2 concatenation as Linux chooses it.
#include <gtest/gtest.h>

#include <algorithm>

#include "smmuv3tlm/platforms/driver/io_page_table.h"
#include "smmuv3tlm/tests/unit/driver_test_bus.h"

namespace smmuv3tlm::driver {
namespace {

constexpr std::uint64_t k4K = 1ull << 12, k2M = 1ull << 21, k1G = 1ull << 30;

struct Fixture {
  TranslatingBus bus{mmu700()};
  DriverMemory memory;
  SmmuDriver driver{bus, memory};
  std::vector<TlbFlush> flushes;
  Fixture() { driver.reset(); }
  IoPageTable table(tables::Stage stage = tables::Stage::Stage1, unsigned granule_log2 = 12,
                    unsigned input_bits = 48) {
    IoPageTableConfig c;
    c.stage = stage;
    c.granule_log2 = granule_log2;
    c.input_bits = input_bits;
    return IoPageTable(driver, memory, c, [this](const TlbFlush& f) { flushes.push_back(f); });
  }
};

TEST(IoPageTable, MapsWithTheLargestBlocksAlignmentAllows) {
  Fixture fx;
  IoPageTable t = fx.table();
  EXPECT_EQ(t.page_sizes(), k4K | k2M | k1G);
  // 4K + 2M + 4K starting 4K below a 2M boundary: page, block, page.
  const std::uint64_t iova = 0x4000'0000 - k4K;
  t.map(iova, 0x8000'0000 - k4K, k2M + 2 * k4K);
  EXPECT_EQ(t.statistics().leaves_mapped, 3u);
  EXPECT_EQ(t.iova_to_phys(iova), 0x8000'0000 - k4K);
  EXPECT_EQ(t.iova_to_phys(0x4000'0000 + 0x12345), 0x8000'0000u + 0x12345);
  EXPECT_EQ(t.iova_to_phys(0x4000'0000 + k2M + 0x10), 0x8000'0000u + k2M + 0x10);
  EXPECT_FALSE(t.iova_to_phys(0x4000'0000 + k2M + k4K).has_value());
  // A 1 GiB aligned range is one level-1 block.
  const auto before = t.statistics().leaves_mapped;
  t.map(4 * k1G, 8 * k1G, k1G);
  EXPECT_EQ(t.statistics().leaves_mapped - before, 1u);
  // Misaligned output: pages, not a block.
  const auto before2 = t.statistics().leaves_mapped;
  t.map(16 * k1G, 32 * k1G + k4K, k2M);
  EXPECT_EQ(t.statistics().leaves_mapped - before2, 512u);
}

TEST(IoPageTable, ANewTableIsFilledBeforeItIsLinked) {
  Fixture fx;
  IoPageTable t = fx.table();
  fx.bus.log_stores = true;
  t.map(0x1000'0000, 0x9000'0000, 3 * k4K);
  // The stores: three PTEs in a new level-3 table, then the pointers linking
  // level 3 into level 2, level 2 into level 1, level 1 into level 0: each
  // table pointer is stored after everything below it.
  ASSERT_EQ(fx.bus.store_log.size(), 6u);
  for (unsigned i = 0; i < 3; ++i) EXPECT_EQ(fx.bus.store_log[i].second & 3, 3u) << "a page";
  const std::uint64_t l3 = fx.bus.store_log[0].first & ~(k4K - 1);
  EXPECT_EQ(fx.bus.store_log[3].second & smmu::mask_bits(47, 12), l3) << "level 2 points at the new level-3 table";
  EXPECT_EQ(fx.bus.store_log[5].first & ~(k4K - 1), t.root()) << "the root is stored last";
  // A mapping into the now-linked tables: one store each, no table pointer.
  fx.bus.store_log.clear();
  t.map(0x1000'0000 + 3 * k4K, 0x9000'0000 + 3 * k4K, k4K);
  EXPECT_EQ(fx.bus.store_log.size(), 1u);
}

TEST(IoPageTable, MappingOverAMappingFailsAndUndoesTheCallsOwnPart) {
  Fixture fx;
  IoPageTable t = fx.table();
  t.map(0x10'0000 + 4 * k4K, 0x9000'0000, k4K);
  EXPECT_THROW(t.map(0x10'0000, 0x8000'0000, 8 * k4K), DriverError);
  EXPECT_FALSE(t.iova_to_phys(0x10'0000).has_value()) << "the pages mapped before the clash are unmapped again";
  EXPECT_EQ(t.iova_to_phys(0x10'0000 + 4 * k4K), 0x9000'0000u) << "the existing mapping is untouched";
  EXPECT_THROW(t.map(0x1000, 0x2000, 0x800), DriverError) << "not granule-aligned";
  EXPECT_THROW(t.map(1ull << 48, 0x2000, k4K), DriverError) << "beyond the input range";
  EXPECT_THROW(t.map(0x1000, 1ull << 48, k4K), DriverError) << "beyond the output range";
}

TEST(IoPageTable, UnmapGathersLeafInvalidationsAndFreesWholeTables) {
  Fixture fx;
  IoPageTable t = fx.table();
  t.map(k1G, 2 * k1G, 16 * k4K);
  fx.flushes.clear();
  EXPECT_EQ(t.unmap(k1G + 4 * k4K, 4 * k4K), 4 * k4K);
  ASSERT_EQ(fx.flushes.size(), 1u) << "one gathered range";
  EXPECT_EQ(fx.flushes[0].iova, k1G + 4 * k4K);
  EXPECT_EQ(fx.flushes[0].size, 4 * k4K);
  EXPECT_EQ(fx.flushes[0].granule, k4K);
  EXPECT_TRUE(fx.flushes[0].leaf);
  EXPECT_EQ(t.iova_to_phys(k1G + 3 * k4K), 2 * k1G + 3 * k4K) << "the neighbours stay";
  EXPECT_EQ(t.iova_to_phys(k1G + 8 * k4K), 2 * k1G + 8 * k4K);
  // Unmapping the whole 1 GiB frees the level-2 and level-3 tables under it
  // and invalidates their walks (not a leaf invalidation).
  const std::size_t pages_before = fx.memory.pages(PageKind::IommuPages).size();
  fx.flushes.clear();
  EXPECT_EQ(t.unmap(k1G, k1G), k1G);
  ASSERT_EQ(fx.flushes.size(), 1u);
  EXPECT_FALSE(fx.flushes[0].leaf);
  EXPECT_EQ(fx.flushes[0].size, k1G);
  EXPECT_EQ(t.statistics().tables_freed, 2u);
  EXPECT_EQ(fx.memory.pages(PageKind::IommuPages).size(), pages_before - 2);
  EXPECT_FALSE(t.iova_to_phys(k1G + 3 * k4K).has_value());
}

TEST(IoPageTable, ABlockIsNeverSplitAndUnmapStopsAtAHole) {
  Fixture fx;
  IoPageTable t = fx.table();
  t.map(k2M, 0x8000'0000, k2M);
  EXPECT_EQ(t.unmap(k2M, k4K), 0u) << "part of a block: nothing unmapped (io-pgtable-arm since 6.12)";
  EXPECT_EQ(t.iova_to_phys(k2M), 0x8000'0000u);
  t.map(8 * k2M, 0x9000'0000, 2 * k4K);
  EXPECT_EQ(t.unmap(8 * k2M, 4 * k4K), 2 * k4K) << "stops at the first hole";
  EXPECT_EQ(t.unmap(k2M, k2M), k2M);
}

TEST(IoPageTable, ABlockReplacesATableOnlyAfterItsWalkIsInvalidated) {
  Fixture fx;
  IoPageTable t = fx.table();
  t.map(k2M, 0x8000'0000, k4K);
  EXPECT_EQ(t.unmap(k2M, k4K), k4K);  // the level-3 table stays linked, empty
  fx.flushes.clear();
  t.map(k2M, 0x8000'0000, k2M);
  ASSERT_EQ(fx.flushes.size(), 1u);
  EXPECT_FALSE(fx.flushes[0].leaf);
  EXPECT_EQ(t.iova_to_phys(k2M + 0x1234), 0x8000'1234u);
}

TEST(IoPageTable, EveryGranuleAndStageTwoConcatenation) {
  Fixture fx;
  for (unsigned granule : {12u, 14u, 16u}) {
    for (auto stage : {tables::Stage::Stage1, tables::Stage::Stage2}) {
      IoPageTable t = fx.table(stage, granule, stage == tables::Stage::Stage2 ? 40 : 48);
      const std::uint64_t page = 1ull << granule;
      const std::uint64_t block = t.page_sizes() & ~page & (~(t.page_sizes() & ~page) + 1);
      t.map(block, 2 * block, block + page);
      EXPECT_EQ(t.iova_to_phys(block + 8), 2 * block + 8) << granule;
      EXPECT_EQ(t.iova_to_phys(2 * block + page - 1), 3 * block + page - 1) << granule;
      EXPECT_EQ(t.unmap(block, block + page), block + page) << granule;
    }
  }
  // Linux concatenates stage-2 start tables rather than use level 0: 4K with
  // a 40-bit IPA starts at level 1 with two tables; a 48-bit IPA at level 0.
  IoPageTable s2_40 = fx.table(tables::Stage::Stage2, 12, 40);
  EXPECT_EQ(s2_40.geometry().start_level, 1);
  EXPECT_EQ(s2_40.stage2_context(1).sl, 1u);
  IoPageTable s2_48 = fx.table(tables::Stage::Stage2, 12, 48);
  EXPECT_EQ(s2_48.geometry().start_level, 0);
  EXPECT_EQ(s2_48.stage2_context(1).sl, 2u);
}

TEST(IoPageTable, ProtectionBitsAsIoPgtableSetsThem) {
  Fixture fx;
  IoPageTable s1 = fx.table();
  IoProt read_only;
  read_only.write = false;
  s1.map(k4K, 0x8000'0000, k4K, read_only);
  fx.bus.log_stores = true;
  s1.map(2 * k4K, 0x8000'1000, k4K);
  const std::uint64_t rw = fx.bus.store_log.back().second;
  EXPECT_EQ((rw >> 6) & 3, 0b01u) << "AP: read/write, unprivileged";
  EXPECT_EQ((rw >> 2) & 7, 1u) << "AttrIndx: write-back";
  EXPECT_EQ((rw >> 8) & 3, 3u) << "inner shareable";
  EXPECT_NE(rw & (1ull << 11), 0u) << "nG";
  EXPECT_NE(rw & (1ull << 10), 0u) << "AF";
  IoPageTable s2 = fx.table(tables::Stage::Stage2, 12, 40);
  fx.bus.store_log.clear();
  s2.map(k4K, 0x8000'0000, k4K, read_only);
  const std::uint64_t ro = fx.bus.store_log.front().second;  // the page, stored before the tables are linked
  EXPECT_EQ((ro >> 6) & 3, 0b01u) << "S2AP: read only";
  EXPECT_EQ((ro >> 2) & 0xf, 0xfu) << "MemAttr: write-back";
}

TEST(IoPageTable, AGranuleTheSmmuLacksIsRefused) {
  smmu::Capabilities caps = mmu700();
  caps.granule_16k = false;
  TranslatingBus bus(caps);
  DriverMemory memory;
  SmmuDriver driver(bus, memory);
  driver.reset();
  IoPageTableConfig c;
  c.granule_log2 = 14;
  EXPECT_THROW(IoPageTable(driver, memory, c, nullptr), DriverError);
}

}  // namespace
}  // namespace smmuv3tlm::driver
