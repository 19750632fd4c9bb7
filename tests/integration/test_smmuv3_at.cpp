// The approximately-timed mode through the SMMU's sockets: nb_transport with the
// base protocol's phases from a pipelined DMA master, hit-under-miss, requests to
// one page merged into one walk, the TBU's outstanding limit (END_REQ deferred),
// the TCU's walk slots, and blocking callers timed like the rest. Functional
// results are LT's; only time differs.
#include <gtest/gtest.h>

#include <memory>

#include "smmuv3tlm/models/pcie/dma_master.h"
#include "smmuv3tlm/platforms/lib/memory_table_space.h"
#include "smmuv3tlm/platforms/tables/table_builder.h"
#include "smmuv3tlm/tests/integration/smmu_test_platform.h"

namespace smmuv3tlm::testing {
namespace {

constexpr std::uint64_t kTables = 0x40000000;
constexpr std::uint64_t kIova = 0x10000000;
constexpr std::uint64_t kPa = 0x80000000;
constexpr std::uint32_t kStream = 1;
constexpr unsigned kPages = 8;

smmu::Smmuv3Config at_config(unsigned outstanding = 16, unsigned walk_slots = 16) {
  smmu::Smmuv3Config config;
  config.capabilities = *smmu::Capabilities::preset("mmu-700");
  config.ports = 2;  // port 0: the test platform's device; port 1: a pipelined DMA master
  config.default_stream_ids = {kStream, kStream};
  config.timing.mode = smmu::TimingMode::ApproximatelyTimed;
  config.timing.at.tbu_outstanding = outstanding;
  config.timing.at.walk_slots = walk_slots;
  return config;
}

// kStream maps kPages pages at kIova to kPa (stage 1, 4 KiB pages), each page
// holding its own index at offset 0x10.
void build_stage1(SmmuTestPlatform& p) {
  platform::MemoryTableSpace space(p.memory);
  tables::PageAllocator allocator(kTables, kTables + 0x1000000);
  tables::PageTableBuilder s1(tables::TableGeometry::stage1(12, 48), allocator, space);
  for (unsigned page = 0; page < kPages; ++page) {
    s1.map(kIova + page * 0x1000ull, kPa + page * 0x1000ull, 0x1000, tables::PageAttributes{});
    p.memory.write64(kPa + page * 0x1000ull + 0x10, 0x100 + page);
  }
  tables::CdFields cd;
  cd.asid = 3;
  start_stage1_stream(p, allocator, space, s1, kStream, cd);
}

// Reads of 8 bytes at offset 0x10 of the given pages, pipelined.
struct Burst {
  std::vector<pcie::PipelinedRequest> requests;
  std::vector<std::uint64_t> data;
  explicit Burst(const std::vector<unsigned>& pages) : requests(pages.size()), data(pages.size()) {
    for (std::size_t i = 0; i < pages.size(); ++i) {
      requests[i].address = kIova + pages[i] * 0x1000ull + 0x10;
      requests[i].data = reinterpret_cast<std::uint8_t*>(&data[i]);
      requests[i].length = 8;
      requests[i].attributes.stream_id = kStream;
    }
  }
};

void run(const smmu::Smmuv3Config& config, std::function<void(SmmuTestPlatform&, pcie::DmaMaster&)> body) {
  std::unique_ptr<pcie::DmaMaster> master;
  SmmuTestPlatform platform("platform", config, [&](SmmuTestPlatform& p) { body(p, *master); });
  master = std::make_unique<pcie::DmaMaster>("pipelined");
  master->socket.bind(platform.smmu.upstream(1));
  sc_core::sc_start();
}

TEST(Smmuv3ApproximatelyTimed, PipelinedReadsReturnTheirPagesAndAHitOvertakesAMiss) {
  run(at_config(), [](SmmuTestPlatform& p, pcie::DmaMaster& master) {
    build_stage1(p);
    Burst warm({0});
    ASSERT_TRUE(master.transfer_pipelined(warm.requests, 1));
    ASSERT_EQ(warm.data[0], 0x100u);
    // Page 5 misses (a walk); page 0, issued after it, hits the TLB and completes first.
    Burst burst({5, 0});
    ASSERT_TRUE(master.transfer_pipelined(burst.requests, 2));
    EXPECT_EQ(burst.requests[0].status, tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(burst.requests[1].status, tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(burst.data[0], 0x105u);
    EXPECT_EQ(burst.data[1], 0x100u);
    EXPECT_GE(burst.requests[1].issued, burst.requests[0].issued);
    EXPECT_LT(burst.requests[1].completed, burst.requests[0].completed) << "hit-under-miss";
    EXPECT_EQ(p.smmu.tbu(1).statistics().translated, 3u);
  });
}

TEST(Smmuv3ApproximatelyTimed, RequestsToAPageWhoseWalkIsInFlightMergeIntoOneWalk) {
  run(at_config(), [](SmmuTestPlatform& p, pcie::DmaMaster& master) {
    build_stage1(p);
    const std::uint64_t walks = p.smmu.translation().statistics().walks;
    Burst burst({2, 2, 2, 2});
    ASSERT_TRUE(master.transfer_pipelined(burst.requests, 4));
    for (std::uint64_t value : burst.data) EXPECT_EQ(value, 0x102u);
    EXPECT_EQ(p.smmu.translation().statistics().walks - walks, 1u) << "one walk served four requests";
    EXPECT_EQ(p.smmu.tcu().timing_statistics().merged_requests, 3u);
  });
}

TEST(Smmuv3ApproximatelyTimed, BeyondTheOutstandingLimitEndReqWaitsForAFreeSlot) {
  run(at_config(2), [](SmmuTestPlatform& p, pcie::DmaMaster& master) {
    build_stage1(p);
    Burst burst({0, 1, 2, 3, 4, 5});
    ASSERT_TRUE(master.transfer_pipelined(burst.requests, 6));
    for (std::size_t i = 0; i < burst.data.size(); ++i) {
      EXPECT_EQ(burst.requests[i].status, tlm::TLM_OK_RESPONSE);
      EXPECT_EQ(burst.data[i], 0x100u + i);
    }
    // tbu_1.at: the pipelined master's port.
    const nlohmann::json stats = nlohmann::json::parse(p.smmu.statistics_json());
    const nlohmann::json& at = stats.at("platform.smmu.tbu_1.at");
    EXPECT_EQ(at.at("peak_outstanding"), 2);
    EXPECT_GT(at.at("deferred_requests").get<int>(), 0);
    EXPECT_EQ(at.at("nb_requests"), 6);
  });
}

TEST(Smmuv3ApproximatelyTimed, OneWalkSlotMakesWalksQueue) {
  run(at_config(16, 1), [](SmmuTestPlatform& p, pcie::DmaMaster& master) {
    build_stage1(p);
    Burst burst({0, 1, 2, 3});
    ASSERT_TRUE(master.transfer_pipelined(burst.requests, 4));
    for (std::size_t i = 0; i < burst.data.size(); ++i) EXPECT_EQ(burst.data[i], 0x100u + i);
    const smmu::TcuTimingStatistics& t = p.smmu.tcu().timing_statistics();
    EXPECT_EQ(t.peak_busy_slots, 1u);
    EXPECT_GE(t.slot_waits, 2u) << "the walks queued for the one slot";
    EXPECT_GT(t.slot_wait_latency.max_ps(), 0u);
    // First come, first served: the responses come back in the order of the walks.
    for (std::size_t i = 1; i < burst.requests.size(); ++i) {
      EXPECT_GT(burst.requests[i].completed, burst.requests[i - 1].completed);
    }
  });
}

TEST(Smmuv3ApproximatelyTimed, FourWalkSlotsRunFourWalksAtOnce) {
  run(at_config(16, 4), [](SmmuTestPlatform& p, pcie::DmaMaster& master) {
    build_stage1(p);
    Burst warm({7});  // the STE and CD are cached: the four walks below are alike
    ASSERT_TRUE(master.transfer_pipelined(warm.requests, 1));
    Burst burst({0, 1, 2, 3});
    ASSERT_TRUE(master.transfer_pipelined(burst.requests, 4));
    for (std::size_t i = 0; i < burst.data.size(); ++i) EXPECT_EQ(burst.data[i], 0x100u + i);
    EXPECT_EQ(p.smmu.tcu().timing_statistics().peak_busy_slots, 4u);
  });
}

TEST(Smmuv3ApproximatelyTimed, ABlockingCallerWaitsOutThePipelineAndFaultsAsInLt) {
  run(at_config(), [](SmmuTestPlatform& p, pcie::DmaMaster&) {
    build_stage1(p);
    std::uint64_t value = 0;
    const sc_core::sc_time before = sc_core::sc_time_stamp();
    ASSERT_EQ(p.dma(tlm::TLM_READ_COMMAND, kIova + 0x3010, reinterpret_cast<std::uint8_t*>(&value), 8),
              tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(value, 0x103u);
    const smmu::ApproximateTiming& at = p.smmu.config().timing.at;
    EXPECT_GE(sc_core::sc_time_stamp() - before, at.utlb_lookup + at.tbu_to_tcu + at.tlb_lookup + at.tcu_to_tbu)
        << "b_transport returns with the pipeline's time waited, not annotated";
    EXPECT_EQ(p.dma(tlm::TLM_READ_COMMAND, kIova + kPages * 0x1000ull, reinterpret_cast<std::uint8_t*>(&value), 8),
              tlm::TLM_ADDRESS_ERROR_RESPONSE);
    const auto records = p.driver.drain_events();
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].id, smmu::EventId::F_TRANSLATION);
    tlm::tlm_generic_payload probe;
    probe.set_read();
    probe.set_address(kIova);
    tlm::tlm_dmi dmi;
    EXPECT_FALSE(p.device->get_direct_mem_ptr(probe, dmi)) << "every access is timed in AT: no DMI";
  });
}

}  // namespace
}  // namespace smmuv3tlm::testing
