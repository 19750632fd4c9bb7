// Bus errors injected on the SMMU's own memory accesses (SmmuSystem's
// table_walk_faults): every kind gives the architecture's event record or
// GERROR bit, the model keeps running, and once software has acknowledged it
// the same traffic goes through again. The counters account for every error.
#include <cstdint>
#include <functional>
#include <vector>

#include <gtest/gtest.h>

#include "smmu_test_platform.h"
#include "smmuv3tlm/models/smmu/arch/command.h"
#include "smmuv3tlm/models/smmu/arch/registers.h"

namespace smmuv3tlm::testing {
namespace {

namespace reg = smmu::reg;
using smmu::AccessPurpose;
using smmu::Command;
using smmu::CommandOpcode;
using smmu::EventId;

constexpr std::uint64_t kTables = 0x40000000;
constexpr std::uint64_t kIova = 0x10000000;
constexpr std::uint64_t kPa = 0x80000000;
constexpr std::uint64_t kUnmappedIova = 0x20000000;
constexpr std::uint64_t kMsiWord = 0x7f000000;
constexpr std::uint32_t kStream = 1;

smmu::Smmuv3Config stage1_config() {
  smmu::Smmuv3Config config;
  config.capabilities = *smmu::Capabilities::preset("mmu-700");
  config.default_stream_ids = {kStream};
  return config;
}

void build_stage1(SmmuTestPlatform& p) {
  platform::MemoryTableSpace space(p.memory);
  tables::PageAllocator allocator(kTables, kTables + 0x1000000);
  tables::PageTableBuilder s1(tables::TableGeometry::stage1(12, 48), allocator, space);
  s1.map(kIova, kPa, 0x1000);
  tables::CdFields cd;
  cd.asid = 3;
  start_stage1_stream(p, allocator, space, s1, kStream, cd);
}

tlm::tlm_response_status read(SmmuTestPlatform& p, std::uint64_t iova) {
  std::uint8_t data[8] = {};
  return p.dma(tlm::TLM_READ_COMMAND, iova, data, 8);
}

std::uint32_t active_global_errors(SmmuTestPlatform& p) {
  return static_cast<std::uint32_t>(p.driver.read_reg(reg::GERROR) ^ p.driver.read_reg(reg::GERRORN)) &
         reg::gerror::kDefinedBits;
}

void acknowledge_global_errors(SmmuTestPlatform& p) {
  p.driver.write_reg(reg::GERRORN, p.driver.read_reg(reg::GERROR));
}

void run(std::function<void(SmmuTestPlatform&)> body) {
  SmmuTestPlatform platform("platform", stage1_config(), std::move(body));
  sc_core::sc_start();
}

// A fetch of `purpose` fails once on the first DMA after every cache was
// emptied: the DMA is terminated with `event`, the retry translates.
void expect_fetch_abort_then_recovery(AccessPurpose purpose, EventId event) {
  run([purpose, event](SmmuTestPlatform& p) {
    build_stage1(p);
    ASSERT_EQ(read(p, kIova), tlm::TLM_OK_RESPONSE);
    p.driver.invalidate_all();  // the next DMA fetches STE, CD and tables again
    const std::size_t rule = p.table_walk_faults.arm(platform::fault_rule(purpose));
    EXPECT_EQ(read(p, kIova), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    const std::vector<smmu::EventRecord> records = p.driver.drain_events();
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].id, event) << smmu::to_string(records[0].id);
    EXPECT_EQ(records[0].stream_id, kStream);
    EXPECT_NE(records[0].fetch_addr, 0u);  // the address whose fetch aborted
    EXPECT_EQ(p.table_walk_faults.rule(rule).injected, 1u);
    EXPECT_EQ(active_global_errors(p), 0u);  // a fetch abort is an event, not a global error
    // Software handled the record: the same DMA now translates.
    EXPECT_EQ(read(p, kIova), tlm::TLM_OK_RESPONSE);
    EXPECT_TRUE(p.driver.drain_events().empty());
    EXPECT_EQ(p.smmu.programming_interface().statistics().events_recorded, 1u);
  });
}

TEST(FaultInjection, StageOneWalkAbortIsFWalkEabtAndTheRetryTranslates) {
  expect_fetch_abort_then_recovery(AccessPurpose::Stage1Walk, EventId::F_WALK_EABT);
}

TEST(FaultInjection, SteFetchAbortIsFSteFetchAndTheRetryTranslates) {
  expect_fetch_abort_then_recovery(AccessPurpose::StreamTableEntry, EventId::F_STE_FETCH);
}

TEST(FaultInjection, CdFetchAbortIsFCdFetchAndTheRetryTranslates) {
  expect_fetch_abort_then_recovery(AccessPurpose::ContextDesc, EventId::F_CD_FETCH);
}

TEST(FaultInjection, CommandFetchAbortIsCerrorAbtAndTheCommandRunsAfterTheAcknowledge) {
  run([](SmmuTestPlatform& p) {
    build_stage1(p);
    const std::size_t rule = p.table_walk_faults.arm(platform::fault_rule(AccessPurpose::CommandQueue));
    // Software posts a CMD_SYNC with an MSI, as Linux does.
    const smmu::reg::QueueGeometry q = p.driver.command_queue();
    const auto prod = static_cast<std::uint32_t>(p.driver.read_reg(reg::CMDQ_PROD));
    Command sync;
    sync.opcode = CommandOpcode::CMD_SYNC;
    sync.sync_signal = smmu::SyncSignal::Irq;
    sync.msi_address = kMsiWord;
    sync.msi_data = 0x600d;
    const auto words = smmu::encode_command(sync);
    p.memory.write64(q.entry_address(prod), words[0]);
    p.memory.write64(q.entry_address(prod) + 8, words[1]);
    p.driver.write_reg(reg::CMDQ_PROD, q.next(prod));
    sc_core::wait(1, sc_core::SC_US);
    EXPECT_EQ(active_global_errors(p), reg::gerror::CMDQ_ERR);
    const std::uint64_t cons = p.driver.read_reg(reg::CMDQ_CONS);
    EXPECT_EQ(reg::queue_pointer::CMDQ_CONS_ERR.get(cons), static_cast<std::uint64_t>(smmu::CommandError::Abort));
    EXPECT_EQ(cons & q.pointer_mask, prod);  // CONS still points at the command that failed
    EXPECT_EQ(p.memory.read64(kMsiWord), 0u);
    acknowledge_global_errors(p);  // Linux leaves a CERROR_ABT command to be fetched again
    sc_core::wait(1, sc_core::SC_US);
    EXPECT_EQ(active_global_errors(p), 0u);
    EXPECT_EQ(p.driver.read_reg(reg::CMDQ_CONS), q.next(prod));
    EXPECT_EQ(p.memory.read64(kMsiWord), 0x600du);
    EXPECT_EQ(p.table_walk_faults.rule(rule).injected, 1u);
    const auto& stats = p.smmu.programming_interface().statistics();
    EXPECT_EQ(stats.command_fetch_aborts, 1u);
  });
}

TEST(FaultInjection, EventWriteAbortIsEvtqAbtErrAndLaterRecordsAreWritten) {
  run([](SmmuTestPlatform& p) {
    build_stage1(p);
    const std::size_t rule = p.table_walk_faults.arm(platform::fault_rule(AccessPurpose::EventQueue));
    EXPECT_EQ(read(p, kUnmappedIova), tlm::TLM_ADDRESS_ERROR_RESPONSE);  // F_TRANSLATION, its record lost
    EXPECT_EQ(active_global_errors(p), reg::gerror::EVTQ_ABT_ERR);
    EXPECT_TRUE(p.driver.drain_events().empty());
    // While EVTQ_ABT_ERR is active the SMMU discards records (and counts them).
    EXPECT_EQ(read(p, kUnmappedIova + 0x1000), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_TRUE(p.driver.drain_events().empty());
    acknowledge_global_errors(p);
    EXPECT_EQ(read(p, kUnmappedIova + 0x2000), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    const std::vector<smmu::EventRecord> records = p.driver.drain_events();
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].id, EventId::F_TRANSLATION);
    EXPECT_EQ(records[0].input_addr, kUnmappedIova + 0x2000);
    // Nothing lost silently: one aborted write, one record discarded, one written.
    const auto& stats = p.smmu.programming_interface().statistics();
    EXPECT_EQ(p.table_walk_faults.rule(rule).injected, 1u);
    EXPECT_EQ(stats.event_write_aborts, 1u);
    EXPECT_EQ(stats.events_discarded, 1u);
    EXPECT_EQ(stats.events_recorded, 1u);
    EXPECT_EQ(read(p, kIova), tlm::TLM_OK_RESPONSE);
  });
}

TEST(FaultInjection, SyncMsiWriteAbortIsMsiCmdqAbtErrAndTheSyncStillCompletes) {
  run([](SmmuTestPlatform& p) {
    build_stage1(p);
    const std::size_t rule = p.table_walk_faults.arm(platform::fault_rule(AccessPurpose::Msi));
    Command sync;
    sync.opcode = CommandOpcode::CMD_SYNC;
    sync.sync_signal = smmu::SyncSignal::Irq;
    sync.msi_address = kMsiWord;
    sync.msi_data = 1;
    p.driver.submit({sync});  // returns: the SYNC completed (CONS moved past it)
    EXPECT_EQ(active_global_errors(p), reg::gerror::MSI_CMDQ_ABT_ERR);
    EXPECT_EQ(p.memory.read64(kMsiWord), 0u);
    acknowledge_global_errors(p);
    sync.msi_data = 2;
    p.driver.submit({sync});
    EXPECT_EQ(active_global_errors(p), 0u);
    EXPECT_EQ(p.memory.read64(kMsiWord), 2u);
    const auto& stats = p.smmu.programming_interface().statistics();
    EXPECT_EQ(p.table_walk_faults.rule(rule).injected, 1u);
    EXPECT_EQ(stats.msi_write_aborts, 1u);
    EXPECT_EQ(stats.sync_msis, 1u);  // the MSI that was written
    EXPECT_EQ(read(p, kIova), tlm::TLM_OK_RESPONSE);
  });
}

TEST(FaultInjection, ARuleThatMatchesNothingInjectsNothingAndDisarmingEndsIt) {
  run([](SmmuTestPlatform& p) {
    build_stage1(p);
    p.table_walk_faults.arm(platform::fault_rule(AccessPurpose::Stage2Walk));  // never matches stage 1
    EXPECT_TRUE(p.table_walk_faults.armed());
    p.driver.invalidate_all();
    EXPECT_EQ(read(p, kIova), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(p.table_walk_faults.rule(0).matched, 0u);
    EXPECT_EQ(p.table_walk_faults.injected(), 0u);
    p.table_walk_faults.disarm_all();
    EXPECT_FALSE(p.table_walk_faults.armed());
    p.driver.invalidate_all();
    EXPECT_EQ(read(p, kIova), tlm::TLM_OK_RESPONSE);
  });
}

}  // namespace
}  // namespace smmuv3tlm::testing
