// The driver model's core against the programming interface, without a
// simulation: probe (features, refusals naming the field, disable_s1), the
// Linux reset order, command batches with wrap and a full queue, CMD_SYNC by
// MSI polling and by CONS polling, and CERROR_ILL recovery.
#include <gtest/gtest.h>

#include <memory>

#include "smmuv3tlm/models/smmu/arch/registers.h"
#include "smmuv3tlm/models/smmu/core/programming_interface.h"
#include "smmuv3tlm/platforms/driver/smmu_driver.h"
#include "smmuv3tlm/tests/unit/driver_test_bus.h"

namespace smmuv3tlm::driver {
namespace {

using smmu::Command;
using smmu::CommandOpcode;
namespace reg = smmu::reg;


TEST(SmmuDriverProbe, ReadsTheFeatureSet) {
  PiBus bus(mmu700());
  DriverMemory memory;
  SmmuDriver driver(bus, memory);
  const DriverFeatures& f = driver.probe();
  EXPECT_TRUE(f.stage1);
  EXPECT_TRUE(f.stage2);
  EXPECT_TRUE(f.nesting());
  EXPECT_TRUE(f.two_level_stream_table);
  EXPECT_TRUE(f.msi);
  EXPECT_EQ(f.oas_bits, mmu700().oas_bits);
  EXPECT_EQ(f.sid_bits, mmu700().sid_bits);
  EXPECT_EQ(f.cmdq_log2, mmu700().cmdq_log2);
  EXPECT_TRUE(f.granule_4k && f.granule_64k);
}

TEST(SmmuDriverProbe, DisableS1PutsEveryDomainOnStageTwo) {
  PiBus bus(mmu700());
  DriverMemory memory;
  DriverOptions options;
  options.disable_s1 = true;
  SmmuDriver driver(bus, memory, options);
  EXPECT_FALSE(driver.probe().stage1);
  EXPECT_TRUE(driver.features().stage2);
  // An SMMU with stage 1 only has nothing left.
  PiBus s1_only(*smmu::Capabilities::preset("qemu-virt"));
  SmmuDriver refused(s1_only, memory, options);
  try {
    refused.probe();
    FAIL() << "probe accepted an SMMU with no usable stage";
  } catch (const DriverError& e) {
    EXPECT_NE(std::string(e.what()).find("IDR0.S2P"), std::string::npos) << e.what();
  }
}

TEST(SmmuDriverProbe, ASmallCommandQueueIsRefusedNamingTheField) {
  smmu::Capabilities caps = mmu700();
  caps.cmdq_log2 = 6;
  PiBus bus(caps);
  DriverMemory memory;
  SmmuDriver driver(bus, memory);
  try {
    driver.probe();
    FAIL() << "a 64-entry command queue was accepted";
  } catch (const DriverError& e) {
    EXPECT_NE(std::string(e.what()).find("IDR1.CMDQS"), std::string::npos) << e.what();
  }
}

TEST(SmmuDriverReset, FollowsLinuxOrderAndEnablesTheSmmu) {
  smmu::Capabilities caps = mmu700();
  caps.hyp = true;
  PiBus bus(caps);
  DriverMemory memory;
  SmmuDriver driver(bus, memory);
  driver.reset(0x1234000, 0x10008);
  EXPECT_EQ(bus.pi->cr0ack(), reg::cr0::SMMUEN | reg::cr0::CMDQEN | reg::cr0::EVENTQEN);
  EXPECT_EQ(bus.pi->cr1(), 0xD75u);
  EXPECT_EQ(bus.pi->strtab_base(), 0x1234000u);
  EXPECT_EQ(bus.pi->strtab_base_cfg(), 0x10008u);
  EXPECT_EQ(bus.pi->read(reg::IRQ_CTRLACK, 4), reg::irq_ctrl::EVENTQ_IRQEN | reg::irq_ctrl::GERROR_IRQEN);
  // CFGI_ALL, TLBI_EL2_ALL (HYP), TLBI_NSNH_ALL, each synced.
  const std::vector<CommandOpcode> expected = {CommandOpcode::CFGI_STE_RANGE, CommandOpcode::TLBI_EL2_ALL,
                                               CommandOpcode::TLBI_NSNH_ALL};
  EXPECT_EQ(bus.caches.executed, expected);
  EXPECT_EQ(driver.statistics().syncs, 3u);
  // CR1/CR2/STRTAB are written while SMMUEN=0, before the command queue is enabled.
  const auto position = [&](std::uint64_t offset) {
    return std::find(bus.writes.begin(), bus.writes.end(), offset) - bus.writes.begin();
  };
  EXPECT_LT(position(reg::CR1), position(reg::STRTAB_BASE));
  EXPECT_LT(position(reg::STRTAB_BASE_CFG), position(reg::CMDQ_BASE));
  EXPECT_LT(position(reg::CMDQ_BASE), position(reg::EVENTQ_BASE));
  EXPECT_EQ(bus.pi->statistics().constrained_unpredictable_writes, 0u);
}

TEST(SmmuDriverCommandQueue, BatchesWrapAndWaitForRoomInAFullQueue) {
  PiBus bus(mmu700());
  DriverMemory memory;
  DriverOptions options;
  options.cmdq_log2 = 7;  // 128 entries
  SmmuDriver driver(bus, memory, options);
  driver.reset(0x1000000, 8);
  bus.caches.executed.clear();
  std::vector<Command> commands(300);
  for (Command& c : commands) c.opcode = CommandOpcode::TLBI_NSNH_ALL;
  driver.issue(commands);
  EXPECT_EQ(bus.caches.executed.size(), 300u) << "every command consumed, in order";
  EXPECT_GE(driver.statistics().batches, 5u) << "at most 64 commands per batch";
  EXPECT_GT(driver.statistics().queue_full_waits, 0u);
  EXPECT_EQ(bus.pi->read(reg::CMDQ_CONS, 4) & 0xff, bus.pi->read(reg::CMDQ_PROD, 4) & 0xff);
}

TEST(SmmuDriverCommandQueue, SyncCompletesByMsiPollingOrByConsPolling) {
  for (const bool msipolling : {true, false}) {
    PiBus bus(mmu700());
    DriverMemory memory;
    DriverOptions options;
    options.disable_msipolling = !msipolling;
    SmmuDriver driver(bus, memory, options);
    driver.reset(0x1000000, 8);
    const std::uint64_t msis = bus.pi->statistics().sync_msis;
    Command tlbi;
    tlbi.opcode = CommandOpcode::TLBI_NSNH_ALL;
    driver.issue({tlbi});
    EXPECT_EQ(bus.pi->statistics().sync_msis - msis, msipolling ? 1u : 0u) << "msipolling " << msipolling;
    EXPECT_GT(bus.relaxes, 0u) << "the driver waited for the asynchronous SMMU";
  }
}

TEST(SmmuDriverCommandQueue, AnIllegalCommandIsReplacedAndTheQueueRestarts) {
  smmu::Capabilities caps = mmu700();
  caps.asid16 = false;  // an ASID above 0xff is then illegal
  PiBus bus(caps);
  DriverMemory memory;
  SmmuDriver driver(bus, memory);
  driver.reset(0x1000000, 8);
  Command bad;
  bad.opcode = CommandOpcode::TLBI_NH_ASID;
  bad.asid = 0x1234;
  Command good;
  good.opcode = CommandOpcode::TLBI_NSNH_ALL;
  bus.caches.executed.clear();
  driver.issue({bad, good});
  EXPECT_EQ(driver.statistics().illegal_commands, 1u);
  EXPECT_EQ(bus.caches.executed, std::vector<CommandOpcode>{CommandOpcode::TLBI_NSNH_ALL});
  EXPECT_EQ(bus.pi->active_global_errors(), 0u) << "CMDQ_ERR acknowledged";
}

}  // namespace
}  // namespace smmuv3tlm::driver

#include "smmuv3tlm/models/smmu/core/translation_engine.h"

namespace smmuv3tlm::driver {
namespace {

TEST(SmmuDriverStreamTable, TwoLevelWithLazyLevelTwoTables) {
  TranslatingBus bus(mmu700());  // 16-bit StreamIDs
  DriverMemory memory;
  SmmuDriver driver(bus, memory);
  driver.reset();
  EXPECT_EQ(reg::strtab_base_cfg::FMT.get(driver.strtab_base_cfg()), reg::strtab_base_cfg::kFmt2Level);
  EXPECT_EQ(reg::strtab_base_cfg::LOG2SIZE.get(driver.strtab_base_cfg()), 16u);
  EXPECT_EQ(reg::strtab_base_cfg::SPLIT.get(driver.strtab_base_cfg()), 8u);
  EXPECT_TRUE(memory.pages(PageKind::IommuPages).size() == 1) << "only the L1 table so far";
  EXPECT_EQ(bus.translate(0x105).outcome, smmu::TranslationOutcome::Terminated) << "no L2 table yet";
  const EntryUpdate update = driver.write_ste(0x105, driver.bypass_ste());
  EXPECT_TRUE(update.hitless) << "abort -> bypass";
  EXPECT_EQ(update.syncs, 2u);
  EXPECT_EQ(bus.pi->statistics().commands_by_opcode.at(CommandOpcode::CFGI_STE), 2u);
  EXPECT_EQ(bus.translate(0x105).outcome, smmu::TranslationOutcome::Bypassed);
  EXPECT_EQ(bus.translate(0x106).outcome, smmu::TranslationOutcome::Terminated) << "its neighbour aborts";
  EXPECT_EQ(memory.pages(PageKind::IommuPages).size(), 2u) << "one L2 table allocated";
  EXPECT_EQ(bus.cleans, 0u) << "a coherent SMMU needs no clean";
}

TEST(SmmuDriverStreamTable, LinearWhenFewStreamIdsAndBypassWithoutDisableBypass) {
  smmu::Capabilities caps = mmu700();
  caps.sid_bits = 6;
  caps.coherent_access = false;
  TranslatingBus bus(caps);
  DriverMemory memory;
  DriverOptions options;
  options.disable_bypass = false;
  SmmuDriver driver(bus, memory, options);
  driver.reset();
  EXPECT_EQ(reg::strtab_base_cfg::FMT.get(driver.strtab_base_cfg()), reg::strtab_base_cfg::kFmtLinear);
  EXPECT_EQ(reg::strtab_base_cfg::LOG2SIZE.get(driver.strtab_base_cfg()), 6u);
  EXPECT_EQ(bus.translate(63).outcome, smmu::TranslationOutcome::Bypassed) << "every STE starts as bypass";
  driver.write_ste(63, SmmuDriver::abort_ste());
  EXPECT_EQ(bus.translate(63).outcome, smmu::TranslationOutcome::Terminated);
  EXPECT_EQ(driver.statistics().cleans, driver.statistics().table_stores)
      << "a non-coherent SMMU: every table store is cleaned to PoC";
  EXPECT_EQ(bus.cleans, driver.statistics().cleans);
  EXPECT_THROW(driver.write_ste(64, SmmuDriver::abort_ste()), DriverError) << "beyond SIDSIZE";
}

}  // namespace
}  // namespace smmuv3tlm::driver

namespace smmuv3tlm::driver {
namespace {

class RecordingListener : public EventListener {
 public:
  void on_event(const smmu::EventRecord& record) override { events.push_back(record); }
  void on_overflow() override { ++overflows; }
  void on_global_errors(std::uint32_t active) override { errors |= active; }
  std::vector<smmu::EventRecord> events;
  unsigned overflows = 0;
  std::uint32_t errors = 0;
};

smmu::EventRecord fault(std::uint32_t sid) {
  smmu::EventRecord r;
  r.id = smmu::EventId::F_TRANSLATION;
  r.stream_id = sid;
  r.input_addr = 0x1000 * sid;
  return r;
}

TEST(SmmuDriverEvents, RecordsAreDrainedInOrderAndOverflowIsAcknowledged) {
  PiBus bus(mmu700(), false);
  DriverMemory memory;
  DriverOptions options;
  options.eventq_log2 = 2;  // 4 records
  SmmuDriver driver(bus, memory, options);
  driver.reset(0x1000000, 8);
  RecordingListener listener;
  for (std::uint32_t sid = 1; sid <= 3; ++sid) ASSERT_TRUE(bus.pi->record_event(fault(sid)));
  EXPECT_EQ(driver.drain_events(listener), 3u);
  ASSERT_EQ(listener.events.size(), 3u);
  EXPECT_EQ(listener.events[2].stream_id, 3u);
  EXPECT_EQ(listener.events[2].input_addr, 0x3000u);
  // Five more into four slots: one is lost and the overflow flag toggles.
  for (std::uint32_t sid = 4; sid <= 8; ++sid) bus.pi->record_event(fault(sid));
  EXPECT_EQ(driver.drain_events(listener), 4u);
  EXPECT_EQ(listener.overflows, 1u);
  EXPECT_EQ(listener.events.back().stream_id, 7u);
  // Acknowledged: the next record is taken again, and no new overflow is seen.
  ASSERT_TRUE(bus.pi->record_event(fault(9)));
  EXPECT_EQ(driver.drain_events(listener), 1u);
  EXPECT_EQ(listener.overflows, 1u);
}

TEST(SmmuDriverEvents, GlobalErrorsAreReportedAndAcknowledged) {
  smmu::Capabilities caps = mmu700();
  caps.asid16 = false;
  PiBus bus(caps, false);
  DriverMemory memory;
  SmmuDriver driver(bus, memory);
  driver.reset(0x1000000, 8);
  RecordingListener listener;
  EXPECT_EQ(driver.handle_global_errors(listener), 0u);
  // An illegal command raised by someone else's stores: CMDQ_ERR latched.
  Command bad;
  bad.opcode = CommandOpcode::TLBI_NH_ASID;
  bad.asid = 0x1234;
  const auto words = smmu::encode_command(bad);
  const std::uint32_t prod = static_cast<std::uint32_t>(bus.pi->read(reg::CMDQ_PROD, 4));
  bus.memory.poke64(driver.cmdq_base() + 16 * (prod & 0xff), words[0]);
  bus.memory.poke64(driver.cmdq_base() + 16 * (prod & 0xff) + 8, words[1]);
  bus.pi->write(reg::CMDQ_PROD, prod + 1, 4);
  EXPECT_NE(bus.pi->active_global_errors() & reg::gerror::CMDQ_ERR, 0u);
  EXPECT_EQ(driver.handle_global_errors(listener), reg::gerror::CMDQ_ERR);
  EXPECT_EQ(listener.errors, reg::gerror::CMDQ_ERR);
  EXPECT_EQ(bus.pi->active_global_errors(), 0u);
  EXPECT_EQ(driver.statistics().illegal_commands, 1u);
}

}  // namespace
}  // namespace smmuv3tlm::driver
