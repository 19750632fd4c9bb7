// The reference platform end to end, through the driver model only (the CPU
// reaches the SMMU by TLM; no back door): the default scenario's fault after
// unmap, devices moved live between s1, s2, bypass and abort while they keep
// issuing DMA (no faulted transaction on an update the writer reports
// hitless), unmap invalidating exactly its range, and disable_s1.
#include <gtest/gtest.h>

#include "smmuv3tlm/models/smmu/arch/entry_fields.h"
#include "smmuv3tlm/platforms/lib/reference_platform.h"

namespace smmuv3tlm::testing {
namespace {

using driver::DomainType;
using platform::ReferencePlatform;
using platform::ReferencePlatformConfig;

ReferencePlatformConfig small_config(std::vector<platform::DeviceSpec> devices, std::uint64_t bytes = 16384) {
  ReferencePlatformConfig c;
  c.devices = std::move(devices);
  c.bytes_per_device = bytes;
  return c;
}

TEST(ReferencePlatform, DmaAfterUnmapFaultsAtTheMasterAndInTheDriver) {
  ReferencePlatform platform("platform", small_config({{DomainType::Stage1, 0}, {DomainType::Nested, 0}}));
  sc_core::sc_start();
  ASSERT_TRUE(platform.finished()) << platform.error();
  const platform::ScenarioReport& r = platform.report();
  EXPECT_TRUE(r.fault_checked);
  EXPECT_TRUE(r.fault_error_response);
  EXPECT_TRUE(r.fault_event_seen);
  EXPECT_EQ(r.events_by_type.at("F_TRANSLATION"), 1u);
  EXPECT_EQ(r.unexpected_errors, 0u);
  EXPECT_EQ(r.verify_failures, 0u);
  EXPECT_EQ(r.bytes_unmapped, 3 * 16384u) << "s1, the guest's stage 1, the parent's IPA window";
  EXPECT_TRUE(r.passed());
  EXPECT_GT(platform.cpu().statistics().interrupts_served, 0u) << "the event reached the driver by its IRQ line";
}

// One device whose buffer sits at IOVA = PA, so that stage 1, stage 2 and
// bypass all deliver the same bytes; it keeps reading (verified) while the
// driver moves it between domains.
class LiveMoves : public ::testing::TestWithParam<bool> {};

TEST_P(LiveMoves, HitlessUpdatesFaultNoTransaction) {
  const bool dmi = GetParam();
  ReferencePlatformConfig config = small_config({{DomainType::Identity, 0}}, 4096);
  config.smmu.dmi = dmi;
  config.quantum_ns = 5;  // fine interleaving of DMA beats and driver stores
  config.fault_after_unmap = false;
  struct Window {
    std::string move;
    driver::EntryUpdate update;
    std::uint64_t errors;
  };
  std::vector<Window> windows;
  std::uint64_t stable_errors = 0;
  ReferencePlatform platform("platform", config, [&](ReferencePlatform& p) {
    platform::Engine& engine = p.engines().at(0);
    const std::uint64_t pa = engine.buffer;
    const std::uint64_t size = 4096;
    driver::IommuDomains& domains = p.domains();
    driver::MasterConfig mc;
    mc.stream_ids = {engine.stream_id};
    driver::Master& master = domains.add_master(mc);
    driver::Domain& s1 = domains.create(DomainType::Stage1);
    s1.map(pa, pa, size);
    driver::Domain& s2 = domains.create(DomainType::Stage2);
    s2.map(pa, pa, size);
    driver::Domain& identity = domains.create(DomainType::Identity);
    driver::Domain& blocked = domains.create(DomainType::Blocked);
    domains.attach(master, identity);
    const std::vector<std::uint8_t> data = ReferencePlatform::pattern(0, size);
    engine.master->program_write(pa, data);
    p.wait_for_engines();
    for (int i = 0; i < 4000; ++i) engine.master->program_read(pa + (i % 16) * 256, 256,
                                                               std::vector<std::uint8_t>(data.begin() + (i % 16) * 256,
                                                                                         data.begin() + (i % 16) * 256 + 256));
    const std::vector<std::pair<const char*, driver::Domain*>> moves = {
        {"bypass->s1", &s1}, {"s1->s2", &s2},        {"s2->bypass", &identity}, {"bypass->s2", &s2},
        {"s2->s1", &s1},     {"s1->bypass", &identity}, {"bypass->abort", &blocked}, {"abort->s1", &s1},
        {"s1->abort", &blocked}, {"abort->s2", &s2}, {"s2->abort", &blocked}, {"abort->bypass", &identity}};
    const auto errors = [&] {
      p.cpu().synchronize();
      return engine.master->statistics().error_responses_total();
    };
    for (const auto& [name, target] : moves) {
      const bool from_abort = master.domain() == &blocked;
      const std::uint64_t before = errors();
      domains.attach(master, *target);
      const std::uint64_t during = errors() - before;
      windows.push_back({name, master.ste_updates().back(), during});
      // Let DMA run on the new domain; faults are expected only under abort.
      const std::uint64_t settled = errors();
      sc_core::wait(sc_core::sc_time(2, sc_core::SC_US));
      if (target != &blocked) stable_errors += errors() - settled;
      (void)from_abort;
    }
    p.wait_for_engines();
  });
  sc_core::sc_start();
  ASSERT_TRUE(platform.finished()) << platform.error();
  unsigned hitless_checked = 0;
  for (const Window& w : windows) {
    const bool involves_abort = w.move.find("abort") != std::string::npos;
    EXPECT_TRUE(w.update.states_ok) << w.move;
    if (w.update.hitless && !involves_abort) {
      EXPECT_EQ(w.errors, 0u) << w.move << ": a hitless update faulted a transaction";
      ++hitless_checked;
    }
  }
  EXPECT_GE(hitless_checked, 3u) << "the test must see hitless moves to mean anything";
  EXPECT_EQ(stable_errors, 0u) << "no fault outside abort";
  EXPECT_EQ(platform.engines()[0].master->statistics().verify_failures, 0u);
  EXPECT_GT(platform.engines()[0].master->statistics().error_responses_total(), 0u) << "abort did abort";
  EXPECT_GT(platform.engines()[0].master->statistics().programs_completed, 4000u);
}

INSTANTIATE_TEST_SUITE_P(Dmi, LiveMoves, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& param) { return param.param ? "WithDmi" : "NoDmi"; });

TEST(ReferencePlatform, UnmapInvalidatesExactlyItsRange) {
  ReferencePlatformConfig config = small_config({{DomainType::Stage1, 0}}, 8192);
  config.smmu.dmi = false;
  std::uint64_t walks_kept = 0, walks_gone = 0;
  tlm::tlm_response_status kept_status = tlm::TLM_INCOMPLETE_RESPONSE, gone_status = tlm::TLM_OK_RESPONSE;
  ReferencePlatform platform("platform", config, [&](ReferencePlatform& p) {
    p.setup_devices();
    platform::Engine& e = p.engines().at(0);
    std::uint8_t buffer[8] = {};
    ASSERT_TRUE(e.master->transfer(tlm::TLM_READ_COMMAND, e.dma_address, buffer, 8).ok());
    ASSERT_TRUE(e.master->transfer(tlm::TLM_READ_COMMAND, e.dma_address + 4096, buffer, 8).ok());
    ASSERT_EQ(p.domain(0).unmap(e.dma_address + 4096, 4096), 4096u);
    const std::uint64_t walks = p.smmu().translation().statistics().walks;
    kept_status = e.master->transfer(tlm::TLM_READ_COMMAND, e.dma_address, buffer, 8).status;
    walks_kept = p.smmu().translation().statistics().walks - walks;
    gone_status = e.master->transfer(tlm::TLM_READ_COMMAND, e.dma_address + 4096, buffer, 8).status;
    walks_gone = p.smmu().translation().statistics().walks - walks;
    const std::uint64_t iova = e.dma_address + 4096;
    EXPECT_TRUE(p.wait_for_event([iova](const smmu::EventRecord& r) { return r.input_addr == iova; },
                                 sc_core::sc_time(50, sc_core::SC_US)));
  });
  sc_core::sc_start();
  ASSERT_TRUE(platform.finished()) << platform.error();
  EXPECT_EQ(kept_status, tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(walks_kept, 0u) << "the neighbouring page stayed in the TLB";
  EXPECT_NE(gone_status, tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(walks_gone, 1u) << "the unmapped page was walked again, and faulted";
}

TEST(ReferencePlatform, DisableS1PutsEveryDmaDomainOnStageTwo) {
  ReferencePlatformConfig config = small_config({{DomainType::Stage1, 0}, {DomainType::Stage2, 0}});
  config.driver.disable_s1 = true;
  std::vector<std::uint64_t> configs;
  std::vector<DomainType> types;
  ReferencePlatform platform("platform", config, [&](ReferencePlatform& p) {
    p.run_default_scenario();
    for (unsigned d = 0; d < 2; ++d) {
      types.push_back(p.domain(d).type());
      configs.push_back(smmu::ste::CONFIG.get(p.driver().read_ste(platform::kFirstStreamId + d)));
    }
  });
  sc_core::sc_start();
  ASSERT_TRUE(platform.finished()) << platform.error();
  EXPECT_TRUE(platform.report().passed());
  ASSERT_EQ(types.size(), 2u);
  for (unsigned d = 0; d < 2; ++d) {
    EXPECT_EQ(types[d], DomainType::Stage2);
    EXPECT_EQ(configs[d], smmu::ste::kConfigStage2);
  }
  EXPECT_EQ(platform.smmu().translation().statistics().cd_fetches, 0u) << "no CD was ever read";
}

}  // namespace
}  // namespace smmuv3tlm::testing
