// A 2-level stream table with 2^20 configured StreamIDs: every sampled StreamID
// translates, and the host memory the model uses stays within twice the bytes
// of the tables themselves (the sparse memory stores only what was written, the
// config cache is bounded).
#include <gtest/gtest.h>

#include <malloc.h>

#include <random>

#include "smmuv3tlm/models/smmu/arch/registers.h"
#include "smmuv3tlm/platforms/lib/memory_table_space.h"
#include "smmuv3tlm/platforms/tables/table_builder.h"
#include "smmuv3tlm/tests/integration/smmu_test_platform.h"

namespace smmuv3tlm::testing {
namespace {

namespace reg = smmu::reg;

std::size_t heap_in_use() { return mallinfo2().uordblks; }

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kHeapMeasurable = false;  // ASan's allocator does not report through mallinfo2
#else
constexpr bool kHeapMeasurable = true;
#endif

TEST(LargeStreamTable, MillionStreamIdsTranslateWithinTwiceTheTableBytes) {
  smmu::Smmuv3Config config;
  config.capabilities = *smmu::Capabilities::preset("mmu-700");
  config.capabilities.sid_bits = 20;
  constexpr unsigned kLog2Sids = 20;
  constexpr std::uint64_t kTables = 0x100000000;
  constexpr std::uint64_t kIova = 0x40000000;
  constexpr std::uint64_t kPa = 0x80000000;

  SmmuTestPlatform platform("platform", config, [&](SmmuTestPlatform& p) {
    platform::MemoryTableSpace space(p.memory);
    tables::PageAllocator allocator(kTables, kTables + (1ull << 32));
    // One stage-1 context shared by every stream: the STEs differ, the tables do not.
    tables::PageTableBuilder s1(tables::TableGeometry::stage1(12, 48), allocator, space);
    s1.map(kIova, kPa, 0x10000);
    tables::CdTableBuilder cds(tables::CdTableGeometry{}, allocator, space);
    tables::CdFields cd;
    tables::attach_ttb0(cd, s1);
    cd.asid = 7;
    cds.write_cd(0, cd);
    tables::SteFields ste;
    ste.config = 0b101;
    tables::attach_cd_table(ste, cds);
    const auto ste_words = tables::encode_ste(ste);

    const std::size_t heap_before = heap_in_use();
    tables::StreamTableBuilder stream_table({smmu::StreamTableFormat::TwoLevel, kLog2Sids, 8}, allocator, space);
    for (std::uint32_t sid = 0; sid < (1u << kLog2Sids); ++sid) stream_table.write_ste_words(sid, ste_words);
    const std::uint64_t table_bytes = (1ull << kLog2Sids) * smmu::kSteBytes +
                                      (1ull << (kLog2Sids - 8)) * smmu::kL1StdBytes;

    p.driver.write_reg(reg::STRTAB_BASE, stream_table.strtab_base(), 8);
    p.driver.write_reg(reg::STRTAB_BASE_CFG, stream_table.strtab_base_cfg());
    p.setup_command_queue(0x10000, 4);
    p.setup_event_queue(0x20000, 4);
    p.driver.write_cr0(reg::cr0::CMDQEN | reg::cr0::EVENTQEN | reg::cr0::SMMUEN);
    p.driver.invalidate_all();

    std::mt19937 rng(20);
    std::vector<std::uint32_t> sids = {0, 1, 255, 256, (1u << kLog2Sids) - 1};
    for (int i = 0; i < 20000; ++i) sids.push_back(rng() & ((1u << kLog2Sids) - 1));
    for (const std::uint32_t sid : sids) {
      tlm_ext::SidebandExtension sideband;
      sideband.stream_id = sid;
      std::uint8_t data[8] = {};
      ASSERT_EQ(p.dma(tlm::TLM_READ_COMMAND, kIova + 0x1238, data, 8, &sideband), tlm::TLM_OK_RESPONSE)
          << "StreamID " << sid;
    }
    ASSERT_EQ(p.downstream_addresses.size(), sids.size());
    EXPECT_EQ(p.downstream_addresses.back(), kPa + 0x1238);
    EXPECT_EQ(p.driver.read_reg(reg::EVENTQ_PROD), 0u) << "no event was recorded";
    EXPECT_LE(p.smmu.translation().cached_stes(), config.translation.config_cache_entries);

    const std::size_t heap_after = heap_in_use();
    const std::uint64_t host_bytes = heap_after - heap_before;
    std::printf("stream table: %llu bytes of tables, %llu bytes of host heap (%.2fx)\n",
                static_cast<unsigned long long>(table_bytes), static_cast<unsigned long long>(host_bytes),
                static_cast<double>(host_bytes) / static_cast<double>(table_bytes));
    if (kHeapMeasurable) {
      EXPECT_GE(host_bytes, table_bytes) << "the tables must really be in memory";
      EXPECT_LE(host_bytes, 2 * table_bytes);
    }
  });
  sc_core::sc_start();
}

}  // namespace
}  // namespace smmuv3tlm::testing
