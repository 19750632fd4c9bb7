// A live update with DMA flowing, end to end on the reference platform: the
// outgoing driver preserves an S1, an S2 and a nested device and shuts down,
// kexec scrubs the kernel's other memory, the new driver adopts from the
// record alone. Preserved devices see no failed transaction in any phase and
// the walker never reads scrubbed memory; the device not preserved is
// aborted from the shutdown on. An SMMU reset during kexec breaks adoption.
#include <gtest/gtest.h>

#include "smmuv3tlm/platforms/lib/reference_platform.h"
#include "smmuv3tlm/tests/integration/report_capture.h"

namespace smmuv3tlm::testing {
namespace {

using driver::DomainType;
using handover::Phase;
using platform::ReferencePlatform;
using platform::ReferencePlatformConfig;

constexpr std::uint64_t kBytes = 16384;
constexpr unsigned kReads = 3000;

ReferencePlatformConfig handover_config() {
  ReferencePlatformConfig c;
  c.devices = {{DomainType::Stage1, 0}, {DomainType::Stage2, 0}, {DomainType::Nested, 0}, {DomainType::Stage1, 0}};
  c.bytes_per_device = kBytes;
  c.monitor_dma = true;
  c.fault_after_unmap = false;
  c.quantum_ns = 50;
  return c;
}

void start_streaming(ReferencePlatform& p) { p.stream_repeatedly(kBytes, kReads); }

// A live update of devices 0-2 with DMA flowing; the new kernel's refusals.
std::vector<std::string> run_live_update(ReferencePlatform& p) {
  p.setup_devices();
  start_streaming(p);
  sc_core::wait(sc_core::sc_time(5, sc_core::SC_US));
  const std::vector<std::string> refused = p.live_update({0, 1, 2});
  p.wait_for_engines();
  return refused;
}

TEST(LiveUpdatePlatform, PreservedDevicesKeepWorkingWhileDmaFlows) {
  std::vector<std::string> refused = {"(not run)"};
  ReferencePlatform platform("platform", handover_config(), [&](ReferencePlatform& p) { refused = run_live_update(p); });
  sc_core::sc_start();
  ASSERT_TRUE(platform.finished()) << platform.error();
  EXPECT_TRUE(refused.empty()) << refused.front();
  for (unsigned i = 0; i < 3; ++i) {
    const handover::DmaMonitor& m = *platform.monitor(i);
    for (Phase phase : handover::kAllPhases) {
      EXPECT_EQ(m.phase(phase).failed, 0u) << "engine " << i << " in " << handover::to_string(phase);
    }
    EXPECT_GT(m.phase(Phase::Kexec).completed, 0u) << "engine " << i << ": DMA kept flowing during kexec";
    EXPECT_GT(m.phase(Phase::Finish).completed, 0u) << "engine " << i << ": and after adoption";
    EXPECT_EQ(platform.engines()[i].master->statistics().verify_failures, 0u);
  }
  const handover::DmaMonitor& dropped = *platform.monitor(3);
  EXPECT_EQ(dropped.phase(Phase::Running).failed, 0u);
  EXPECT_EQ(dropped.phase(Phase::Preserve).failed, 0u);
  EXPECT_GT(dropped.phase(Phase::Shutdown).failed + dropped.phase(Phase::Kexec).failed +
                dropped.phase(Phase::Finish).failed,
            0u)
      << "the device not preserved is aborted from the shutdown on";
  EXPECT_EQ(platform.memory().poison_reads(), 0u) << "nothing read scrubbed memory";
  EXPECT_GT(platform.handover().bytes_scrubbed(), 0u);
  EXPECT_TRUE(platform.events().empty()) << "abort STEs are silent; preserved devices never fault";
  for (const handover::Finding& f : platform.findings()) ADD_FAILURE() << f.describe();
  EXPECT_GT(platform.torn_entry_checker().live_entries(), 0u) << "the checker watched live entries";
  const driver::HandoverRecord& record = platform.handover_record();
  EXPECT_EQ(record.masters.size(), 3u);
  EXPECT_GT(record.bytes(driver::PageUse::Stage1Table), 0u);
  EXPECT_GT(record.bytes(driver::PageUse::Stage2Table), 0u);
  EXPECT_GT(record.bytes(driver::PageUse::GuestMemory), 0u);
  // The phases ran in order.
  std::vector<Phase> order;
  for (const handover::PhaseRecord& r : platform.handover().phases()) order.push_back(r.phase);
  EXPECT_EQ(order, std::vector<Phase>(std::begin(handover::kAllPhases), std::end(handover::kAllPhases)));
}

TEST(LiveUpdatePlatform, ANonCoherentSmmuWithEveryStoreCleanedRaisesNoFinding) {
  ReferencePlatformConfig config = handover_config();
  config.smmu.capabilities.coherent_access = false;
  config.kexec_writes_back_dirty_lines = false;  // nothing the SMMU needs may be left only in the cache
  std::vector<std::string> refused = {"(not run)"};
  ReferencePlatform platform("platform", config, [&](ReferencePlatform& p) { refused = run_live_update(p); });
  sc_core::sc_start();
  ASSERT_TRUE(platform.finished()) << platform.error();
  EXPECT_TRUE(refused.empty()) << refused.front();
  for (unsigned i = 0; i < 3; ++i) EXPECT_EQ(platform.monitor(i)->failed(), 0u) << "engine " << i;
  for (const handover::Finding& f : platform.findings()) ADD_FAILURE() << f.describe();
  EXPECT_GT(platform.cpu_cache().statistics().write_backs, 0u) << "the cleans reached memory";
  EXPECT_GT(platform.cpu().statistics().cleans, 0u);
}

TEST(LiveUpdatePlatform, AnSmmuResetDuringKexecBreaksAdoption) {
  ReferencePlatformConfig config = handover_config();
  config.handover_smmu_reset = handover::SmmuReset::Warm;
  std::string error;
  ReportCapture reports;  // the DMA masters' verification warnings are the point here
  ReferencePlatform platform("platform", config, [&](ReferencePlatform& p) {
    p.setup_devices();
    start_streaming(p);
    sc_core::wait(sc_core::sc_time(5, sc_core::SC_US));
    try {
      p.live_update({0, 1, 2});
    } catch (const std::exception& e) {
      error = e.what();
    }
    p.wait_for_engines();
  });
  sc_core::sc_start();
  ASSERT_TRUE(platform.finished()) << platform.error();
  EXPECT_NE(error.find("adoption refused: SMMUEN is clear"), std::string::npos) << error;
  // With SMMUEN clear the SMMU follows GBPA: preserved DMA is aborted, or
  // bypasses with IOVAs taken as PAs and reads the wrong memory.
  for (unsigned i = 0; i < 3; ++i) {
    EXPECT_GT(platform.monitor(i)->phase(Phase::Kexec).failed +
                  platform.engines()[i].master->statistics().verify_failures,
              0u)
        << "engine " << i;
  }
  EXPECT_GT(reports.count(sc_core::SC_WARNING, "smmu/pcie"), 0u);
}

TEST(LiveUpdatePlatform, KdumpAdoptsTheCrashedKernelsTables) {
  driver::KdumpAdoption outcome;
  ReferencePlatform platform("platform", handover_config(), [&](ReferencePlatform& p) {
    p.setup_devices();
    start_streaming(p);
    sc_core::wait(sc_core::sc_time(5, sc_core::SC_US));
    outcome = p.crash_and_adopt();
    p.wait_for_engines();
  });
  sc_core::sc_start();
  ASSERT_TRUE(platform.finished()) << platform.error();
  EXPECT_TRUE(outcome.adopted) << outcome.reason;
  EXPECT_EQ(outcome.live_streams.size(), 4u) << "every device keeps its STE until its driver attaches";
  for (unsigned i = 0; i < 4; ++i) EXPECT_EQ(platform.monitor(i)->failed(), 0u) << "engine " << i;
}

}  // namespace
}  // namespace smmuv3tlm::testing
