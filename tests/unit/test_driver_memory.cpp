// The driver's memory: aligned first-fit allocation tagged with what it holds,
// iommu-pages vs coherent-dma per use (configurable), freeing with merging,
// and clear errors when a request cannot be met.
#include <gtest/gtest.h>

#include "smmuv3tlm/platforms/driver/driver_memory.h"

namespace smmuv3tlm::driver {
namespace {

DriverMemoryConfig small() {
  DriverMemoryConfig c;
  c.base = 0x10000;
  c.size = 0x10000;
  return c;
}

TEST(DriverMemory, AllocationsAreAlignedTaggedAndOfTheirUsesKind) {
  DriverMemory memory(small());
  const std::uint64_t queue = memory.allocate(PageUse::CommandQueue, 0x100, 0x100);
  const std::uint64_t table = memory.allocate(PageUse::Stage1Table, 0x1000, 0x1000);
  const std::uint64_t msi = memory.allocate(PageUse::MsiWord, 4, 4);
  EXPECT_EQ(queue % 0x100, 0u);
  EXPECT_EQ(table % 0x1000, 0u);
  EXPECT_NE(table, queue);
  ASSERT_NE(memory.page_at(table + 0xff8), nullptr);
  EXPECT_EQ(memory.page_at(table + 0xff8)->use, PageUse::Stage1Table);
  EXPECT_EQ(memory.page_at(table + 0x1000), nullptr);
  EXPECT_EQ(memory.page_at(msi)->kind, PageKind::CoherentDma);
  EXPECT_EQ(memory.pages(PageKind::IommuPages).size(), 1u);
  EXPECT_EQ(memory.pages(PageKind::CoherentDma).size(), 2u);
  EXPECT_EQ(memory.bytes_in_use(PageKind::IommuPages), 0x1000u);
}

TEST(DriverMemory, TheKindOfEachUseIsConfiguration) {
  DriverMemoryConfig c = small();
  c.kind_of[PageUse::Stage2Table] = PageKind::CoherentDma;  // a driver that cannot preserve S2 tables
  DriverMemory memory(c);
  const std::uint64_t s2 = memory.allocate(PageUse::Stage2Table, 0x1000, 0x1000);
  EXPECT_EQ(memory.page_at(s2)->kind, PageKind::CoherentDma);
  EXPECT_TRUE(memory.pages(PageKind::IommuPages).empty());
}

TEST(DriverMemory, FreedRangesMergeAndAreReused) {
  DriverMemory memory(small());
  const std::uint64_t a = memory.allocate(PageUse::Stage1Table, 0x8000, 0x1000);
  const std::uint64_t b = memory.allocate(PageUse::Stage1Table, 0x8000, 0x1000);
  EXPECT_THROW(memory.allocate(PageUse::Stage1Table, 0x1000, 0x1000), std::runtime_error);
  memory.free(a);
  memory.free(b);
  // Both halves merged back: the whole range fits again.
  EXPECT_EQ(memory.allocate(PageUse::StreamTableL1, 0x10000, 0x10000), 0x10000u);
  EXPECT_THROW(memory.free(0x12345), std::invalid_argument);
}

TEST(DriverMemory, BadRequestsAreRefusedWithTheirUseNamed) {
  DriverMemory memory(small());
  EXPECT_THROW(memory.allocate(PageUse::EventQueue, 0, 8), std::invalid_argument);
  EXPECT_THROW(memory.allocate(PageUse::EventQueue, 8, 3), std::invalid_argument);
  try {
    memory.allocate(PageUse::CdTableL2, 0x20000, 0x1000);
    FAIL() << "an allocation larger than the range was granted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("cd-table-l2"), std::string::npos) << e.what();
  }
  DriverMemoryConfig empty;
  empty.size = 0;
  EXPECT_THROW(DriverMemory{empty}, std::invalid_argument);
}

}  // namespace
}  // namespace smmuv3tlm::driver
