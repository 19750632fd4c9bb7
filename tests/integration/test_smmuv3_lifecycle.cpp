// The SMMU's units and lifecycle through its sockets and lines: warm and cold
// reset (every cache flushed, DMI revoked, memory kept), the command queue
// consumed by its own thread (CONS polling, a full queue), side-effect-free
// debug accesses, split transactions that keep their side-band, DMI grants
// revoked only by the invalidations that cover them, memory observers.
#include <gtest/gtest.h>

#include <functional>
#include <vector>

#include "smmuv3tlm/models/smmu/arch/command.h"
#include "smmuv3tlm/models/smmu/arch/registers.h"
#include "smmuv3tlm/platforms/lib/memory_table_space.h"
#include "smmuv3tlm/platforms/tables/table_builder.h"
#include "smmuv3tlm/models/common/statistics.h"
#include <tlm_utils/simple_target_socket.h>
#include "smmuv3tlm/tests/integration/report_capture.h"
#include "smmuv3tlm/tests/integration/smmu_test_platform.h"

namespace smmuv3tlm::testing {
namespace {

using smmu::Command;
using smmu::CommandOpcode;
namespace reg = smmu::reg;

constexpr std::uint64_t kTables = 0x40000000;
constexpr std::uint64_t kIova = 0x10000000;
constexpr std::uint64_t kPaA = 0x80000000;  // page 0 of the IOVA window
constexpr std::uint64_t kPaB = 0x90000000;  // page 1: not contiguous with page 0
constexpr std::uint32_t kStream = 1;
constexpr std::uint16_t kAsid = 5;

smmu::Smmuv3Config stage1_config() {
  smmu::Smmuv3Config config;
  config.capabilities = *smmu::Capabilities::preset("mmu-700");
  config.default_stream_ids = {kStream};
  return config;
}

// Stream kStream translates kIova -> kPaA and kIova + 4K -> kPaB through stage 1
// (ASID kAsid); kIova + 8K is mapped with AF=0 for hardware Access-flag updates.
struct Stage1World {
  std::uint64_t ste_address = 0;
};

template <typename Platform>
Stage1World build_stage1(Platform& p) {
  platform::MemoryTableSpace space(p.memory);
  tables::PageAllocator allocator(kTables, kTables + 0x1000000);
  tables::PageTableBuilder s1(tables::TableGeometry::stage1(12, 48), allocator, space);
  tables::PageAttributes non_global;  // nG=1: entries are tagged with the ASID
  non_global.ng = true;
  s1.map(kIova, kPaA, 0x1000, non_global);
  s1.map(kIova + 0x1000, kPaB, 0x1000, non_global);
  tables::PageAttributes no_access_flag = non_global;
  no_access_flag.af = false;
  s1.map(kIova + 0x2000, kPaA + 0x2000, 0x1000, no_access_flag);
  tables::CdFields cd;
  cd.asid = kAsid;
  cd.ha = true;
  Stage1World world;
  world.ste_address = start_stage1_stream(p, allocator, space, s1, kStream, cd);
  return world;
}

std::uint64_t read64(SmmuTestPlatform& p, std::uint64_t iova, tlm::tlm_response_status* status = nullptr) {
  std::uint8_t data[8] = {};
  const tlm::tlm_response_status s = p.dma(tlm::TLM_READ_COMMAND, iova, data, 8);
  if (status != nullptr) *status = s;
  std::uint64_t value = 0;
  for (unsigned i = 8; i-- > 0;) value = (value << 8) | data[i];
  return value;
}

bool dmi_for(SmmuTestPlatform& p, std::uint64_t iova, tlm::tlm_dmi& dmi) {
  tlm::tlm_generic_payload trans;
  trans.set_read();
  trans.set_address(iova);
  return p.device->get_direct_mem_ptr(trans, dmi);
}

void run(const smmu::Smmuv3Config& config, std::function<void(SmmuTestPlatform&)> body) {
  SmmuTestPlatform platform("platform", config, std::move(body));
  sc_core::sc_start();
}

void expect_every_cache_empty(smmu::Smmuv3& smmu) {
  EXPECT_EQ(smmu.translation().tlb().valid_entries(), 0u);
  EXPECT_EQ(smmu.translation().walk_cache().valid_entries(), 0u);
  EXPECT_EQ(smmu.translation().cached_stes(), 0u);
  EXPECT_EQ(smmu.translation().cached_cds(), 0u);
  EXPECT_EQ(smmu.tbu(0).dmi_grants(), 0u);
}

TEST(Smmuv3Lifecycle, WarmResetFlushesEveryCacheRevokesDmiAndKeepsMemoryAndStatistics) {
  run(stage1_config(), [](SmmuTestPlatform& p) {
    const Stage1World world = build_stage1(p);
    p.memory.write64(kPaA + 0x10, 0x1234);
    EXPECT_EQ(read64(p, kIova + 0x10), 0x1234u);
    tlm::tlm_dmi dmi;
    ASSERT_TRUE(dmi_for(p, kIova + 0x10, dmi));
    EXPECT_GT(p.smmu.translation().tlb().valid_entries(), 0u);
    EXPECT_GT(p.smmu.translation().walk_cache().valid_entries(), 0u);
    EXPECT_EQ(p.smmu.translation().cached_stes(), 1u);
    EXPECT_EQ(p.smmu.translation().cached_cds(), 1u);
    const std::uint64_t ste_word0 = p.memory.read64(world.ste_address);
    const unsigned invalidations = p.device_dmi_invalidations;

    p.smmu.reset(smmu::ResetKind::Warm);

    expect_every_cache_empty(p.smmu);
    EXPECT_GT(p.device_dmi_invalidations, invalidations) << "the grant was revoked";
    EXPECT_EQ(p.driver.read_reg(reg::CR0ACK), 0u) << "SMMUEN and the queues are off";
    EXPECT_EQ(p.driver.read_reg(reg::STRTAB_BASE, 8), 0u);
    EXPECT_EQ(p.memory.read64(world.ste_address), ste_word0) << "memory survives a reset";
    EXPECT_EQ(p.memory.read64(kPaA + 0x10), 0x1234u);
    EXPECT_GT(p.smmu.tbu(0).statistics().transactions, 0u) << "a warm reset keeps statistics";
    EXPECT_GT(p.smmu.translation().statistics().walks, 0u);
    // After the reset the SMMU is disabled: GBPA bypass, the IOVA is the PA.
    p.memory.write64(kIova, 0xabcd);
    EXPECT_EQ(read64(p, kIova), 0xabcdu);
  });
}

TEST(Smmuv3Lifecycle, RisingResetInputIsAColdResetThatClearsStatistics) {
  smmu::Smmuv3Config config = stage1_config();
  sc_core::sc_signal<bool> rst("rst_signal");
  SmmuTestPlatform platform("platform", config, [&](SmmuTestPlatform& p) {
    build_stage1(p);
    p.memory.write64(kPaA, 7);
    EXPECT_EQ(read64(p, kIova), 7u);
    tlm::tlm_dmi dmi;
    ASSERT_TRUE(dmi_for(p, kIova, dmi));
    rst.write(true);
    sc_core::wait(1, sc_core::SC_NS);
    rst.write(false);
    sc_core::wait(1, sc_core::SC_NS);
    expect_every_cache_empty(p.smmu);
    EXPECT_EQ(p.smmu.tbu(0).statistics().transactions, 0u);
    EXPECT_EQ(p.smmu.translation().statistics().walks, 0u);
    EXPECT_EQ(p.smmu.translation().tlb().statistics().lookups, 0u);
    EXPECT_EQ(p.smmu.programming_interface().statistics().commands_executed, 0u);
    EXPECT_EQ(p.driver.read_reg(reg::CR0ACK), 0u);
    // The same platform can be brought up again after the reset.
    build_stage1(p);
    EXPECT_EQ(read64(p, kIova), 7u);
  });
  platform.smmu.rst.bind(rst);
  sc_core::sc_start();
}

// An enabled 2^log2-entry command queue at kCmdq whose first `count` slots hold `opcode`.
constexpr std::uint64_t kCmdq = 0x60000000;
void fill_command_queue(SmmuTestPlatform& p, unsigned log2, CommandOpcode opcode, unsigned count) {
  p.setup_command_queue(kCmdq, log2);
  p.driver.write_cr0(reg::cr0::CMDQEN);
  Command command;
  command.opcode = opcode;
  const auto words = smmu::encode_command(command);
  for (unsigned i = 0; i < count; ++i) {
    p.memory.write64(kCmdq + 16 * i, words[0]);
    p.memory.write64(kCmdq + 16 * i + 8, words[1]);
  }
}

TEST(Smmuv3Lifecycle, ConsPollingSeesCommandsNotYetConsumed) {
  smmu::Smmuv3Config config = stage1_config();
  config.timing.command_latency = sc_core::sc_time(100, sc_core::SC_NS);
  run(config, [](SmmuTestPlatform& p) {
    fill_command_queue(p, 4, CommandOpcode::TLBI_NSNH_ALL, 3);
    p.driver.write_reg(reg::CMDQ_PROD, 3);
    EXPECT_EQ(p.driver.read_reg(reg::CMDQ_CONS), 0u) << "the write only wakes the engine";
    sc_core::wait(150, sc_core::SC_NS);
    EXPECT_EQ(p.driver.read_reg(reg::CMDQ_CONS), 1u) << "one command consumed per 100 ns";
    sc_core::wait(200, sc_core::SC_NS);
    EXPECT_EQ(p.driver.read_reg(reg::CMDQ_CONS), 3u);
    EXPECT_EQ(p.smmu.command_queue().commands_consumed(), 3u);
  });
}

TEST(Smmuv3Lifecycle, AFullCommandQueueDrainsAndAcceptsMore) {
  smmu::Smmuv3Config config = stage1_config();
  config.timing.command_latency = sc_core::sc_time(50, sc_core::SC_NS);
  run(config, [](SmmuTestPlatform& p) {
    constexpr unsigned kLog2 = 2;  // 4 entries
    fill_command_queue(p, kLog2, CommandOpcode::CMD_SYNC, 4);
    // PROD = index 0 with the wrap bit: four entries posted, the queue is full.
    p.driver.write_reg(reg::CMDQ_PROD, 1u << kLog2);
    // CONS = 0: the same index as PROD with the opposite wrap bit, a full
    // queue (a queue consumed inside the write would read CONS = PROD).
    EXPECT_EQ(p.driver.read_reg(reg::CMDQ_CONS), 0u);
    sc_core::wait(250, sc_core::SC_NS);
    EXPECT_EQ(p.driver.read_reg(reg::CMDQ_CONS), 1u << kLog2) << "all four consumed: empty again";
    // Room again: two more, wrapping the index.
    p.driver.write_reg(reg::CMDQ_PROD, (1u << kLog2) | 2);
    sc_core::wait(150, sc_core::SC_NS);
    EXPECT_EQ(p.driver.read_reg(reg::CMDQ_CONS), (1u << kLog2) | 2);
    EXPECT_EQ(p.smmu.programming_interface().statistics().syncs, 6u);
  });
}

TEST(Smmuv3Lifecycle, DebugAccessLeavesStatisticsCachesAndMemoryUnchanged) {
  run(stage1_config(), [](SmmuTestPlatform& p) {
    build_stage1(p);
    p.memory.write64(kPaA + 0x2000, 0x5555);
    EXPECT_EQ(read64(p, kIova), p.memory.read64(kPaA));  // some state to keep
    unsigned observed = 0;
    p.smmu.add_memory_observer([&](const smmu::MemoryAccessRecord&) { ++observed; });
    const std::string statistics = p.smmu.statistics_json();
    const std::size_t tlb_entries = p.smmu.translation().tlb().valid_entries();
    const std::size_t walk_entries = p.smmu.translation().walk_cache().valid_entries();
    const std::size_t stes = p.smmu.translation().cached_stes();
    // The page at kIova + 8K has AF=0 and CD.HA=1: a real access would set AF.
    tlm_ext::SidebandExtension sideband;
    sideband.stream_id = kStream;
    std::uint8_t data[8] = {};
    tlm::tlm_generic_payload trans;
    trans.set_read();
    trans.set_address(kIova + 0x2000);
    trans.set_data_ptr(data);
    trans.set_data_length(8);
    trans.set_streaming_width(8);
    trans.set_extension(&sideband);
    const std::uint64_t memory_writes = p.memory.statistics().writes;
    EXPECT_EQ(p.device->transport_dbg(trans), 8u);
    trans.clear_extension(&sideband);
    EXPECT_EQ(data[0], 0x55);
    EXPECT_EQ(data[1], 0x55);
    EXPECT_EQ(p.smmu.statistics_json(), statistics);
    EXPECT_EQ(p.smmu.translation().tlb().valid_entries(), tlb_entries);
    EXPECT_EQ(p.smmu.translation().walk_cache().valid_entries(), walk_entries);
    EXPECT_EQ(p.smmu.translation().cached_stes(), stes);
    EXPECT_EQ(p.memory.statistics().writes, memory_writes) << "no Access-flag update";
    EXPECT_EQ(observed, 0u) << "a debugger's reads are not SMMU traffic";
    // The real access then sets the Access flag through the table-walk socket.
    EXPECT_EQ(read64(p, kIova + 0x2000), 0x5555u);
    EXPECT_GT(p.smmu.translation().statistics().hardware_updates, 0u);
    EXPECT_GT(observed, 0u);
  });
}

TEST(Smmuv3Lifecycle, SplitTransactionCarriesItsSidebandOnEveryPiece) {
  run(stage1_config(), [](SmmuTestPlatform& p) {
    build_stage1(p);
    tlm_ext::SidebandExtension sideband;
    sideband.stream_id = kStream;
    sideband.privileged = true;
    std::uint8_t data[16] = {};
    p.downstream_addresses.clear();
    p.downstream_sidebands.clear();
    ASSERT_EQ(p.dma(tlm::TLM_READ_COMMAND, kIova + 0xff8, data, 16, &sideband), tlm::TLM_OK_RESPONSE);
    ASSERT_EQ(p.downstream_addresses.size(), 2u) << "the access crosses into a page mapped elsewhere";
    EXPECT_EQ(p.downstream_addresses[0], kPaA + 0xff8);
    EXPECT_EQ(p.downstream_addresses[1], kPaB);
    for (const auto& piece : p.downstream_sidebands) {
      ASSERT_TRUE(piece.has_value());
      EXPECT_EQ(piece->stream_id, kStream);
      EXPECT_TRUE(piece->privileged);
    }
    EXPECT_EQ(p.smmu.tbu(0).statistics().split_pieces, 2u);
  });
}

// The translation's memory attributes leave on the side-band (IHI 0070 chapter
// 13): here CD.MAIR is 0, so every page is Device-nGnRnE, output Outer
// Shareable. A transaction without an extension gets one for the forwarded
// call; an upstream extension is changed for the call and restored after it.
TEST(Smmuv3Lifecycle, TranslatedMemoryAttributesTravelOnTheSideband) {
  run(stage1_config(), [](SmmuTestPlatform& p) {
    build_stage1(p);
    p.downstream_sidebands.clear();
    for (int i = 0; i < 3; ++i) read64(p, kIova + 8 * i);  // walk, TLB hit, micro-TLB hit
    tlm_ext::SidebandExtension sideband;
    sideband.stream_id = kStream;
    std::uint8_t data[8] = {};
    ASSERT_EQ(p.dma(tlm::TLM_READ_COMMAND, kIova, data, 8, &sideband), tlm::TLM_OK_RESPONSE);
    ASSERT_EQ(p.downstream_sidebands.size(), 4u);
    for (const auto& seen : p.downstream_sidebands) {
      ASSERT_TRUE(seen.has_value());
      EXPECT_EQ(seen->memory_type, 0x00);
      EXPECT_EQ(seen->shareability, 0b10);
      EXPECT_EQ(seen->stream_id, kStream);
    }
    EXPECT_EQ(sideband.memory_type, 0xff) << "the upstream extension is left as it was";
    EXPECT_EQ(sideband.shareability, 0b00);
    // Not even during the call: the initiator's object may be shared by
    // transactions in flight, so a changed copy goes downstream.
    int seen_upstream_type = -1;
    int seen_downstream_type = -1;
    bool downstream_is_upstream = true;
    p.junction.set_observer([&](int initiator, const tlm::tlm_generic_payload& trans) {
      if (initiator != platform::SmmuSystem::kDownstream) return;
      const auto* ext = trans.get_extension<tlm_ext::SidebandExtension>();
      seen_upstream_type = sideband.memory_type;
      seen_downstream_type = ext != nullptr ? ext->memory_type : -1;
      downstream_is_upstream = ext == &sideband;
    });
    ASSERT_EQ(p.dma(tlm::TLM_READ_COMMAND, kIova, data, 8, &sideband), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(seen_upstream_type, 0xff);
    EXPECT_EQ(seen_downstream_type, 0x00);
    EXPECT_FALSE(downstream_is_upstream);
    // The SMMU's streams are Non-secure: the output is NS = 1 whatever came in (§13.4.4).
    sideband.secure = true;
    p.downstream_sidebands.clear();
    p.junction.set_observer([&](int initiator, const tlm::tlm_generic_payload& trans) {
      if (initiator != platform::SmmuSystem::kDownstream) return;
      const auto* ext = trans.get_extension<tlm_ext::SidebandExtension>();
      p.downstream_sidebands.push_back(ext != nullptr ? std::optional<tlm_ext::SidebandExtension>(*ext) : std::nullopt);
    });
    ASSERT_EQ(p.dma(tlm::TLM_READ_COMMAND, kIova, data, 8, &sideband), tlm::TLM_OK_RESPONSE);
    ASSERT_EQ(p.downstream_sidebands.size(), 1u);
    ASSERT_TRUE(p.downstream_sidebands[0].has_value());
    EXPECT_FALSE(p.downstream_sidebands[0]->secure);
    EXPECT_TRUE(sideband.secure);
  });
}

// ATOS through the register interface (IDR0.ATOS): the result lands in
// GATOS_PAR after RUN clears, a fault records no event, and a reset drops a
// request in flight.
TEST(Smmuv3Lifecycle, AddressTranslationOperationsThroughRegisters) {
  smmu::Smmuv3Config config = stage1_config();
  config.capabilities.atos = true;
  run(config, [](SmmuTestPlatform& p) {
    build_stage1(p);
    namespace g = reg::gatos;
    const std::uint64_t stage1_read = (0b01u << 10) | g::RNW;
    const std::uint64_t par = p.driver.translate_by_registers(kStream, (kIova + 0x1000) | stage1_read);
    EXPECT_EQ(par & g::FAULT, 0u);
    EXPECT_EQ(g::PAR_ADDR.get(par) << 12, kPaB);
    EXPECT_EQ(par & g::PAR_SIZE, 0u);
    EXPECT_EQ(g::PAR_SH.get(par), 0b10u) << "CD.MAIR is 0: Device, output Outer Shareable";
    // Unmapped: F_TRANSLATION in the PAR, nothing in the event queue.
    const std::uint64_t fault = p.driver.translate_by_registers(kStream, 0x7000'0000 | stage1_read);
    EXPECT_EQ(fault & g::FAULT, 1u);
    EXPECT_EQ(g::FAULTCODE.get(fault), 0x10u);
    EXPECT_TRUE(p.driver.drain_events().empty());
    // Stage 2 on a stage-1 STE: INV_STAGE.
    const std::uint64_t inv = p.driver.translate_by_registers(kStream, kIova | (0b10u << 10) | g::RNW);
    EXPECT_EQ(g::FAULTCODE.get(inv), g::kInvStage);
    EXPECT_EQ(p.smmu.register_file().core().statistics().atos_requests, 3u);
    EXPECT_EQ(p.smmu.register_file().core().statistics().atos_faults, 2u);
  });
}

TEST(Smmuv3Lifecycle, DmiGrantIsRevokedOnlyByAnInvalidationThatCoversIt) {
  run(stage1_config(), [](SmmuTestPlatform& p) {
    build_stage1(p);
    tlm::tlm_dmi dmi;
    ASSERT_TRUE(dmi_for(p, kIova + 0x40, dmi));
    EXPECT_EQ(dmi.get_start_address(), kIova);
    EXPECT_EQ(dmi.get_end_address(), kIova + 0xfff);
    const unsigned before = p.device_dmi_invalidations;
    auto tlbi_va = [](std::uint64_t va, std::uint16_t asid) {
      Command c;
      c.opcode = CommandOpcode::TLBI_NH_VA;
      c.asid = asid;
      c.address = va;
      return c;
    };
    Command sync;
    sync.opcode = CommandOpcode::CMD_SYNC;
    p.driver.submit({tlbi_va(kIova + 0x1000, kAsid), tlbi_va(kIova, kAsid + 1), sync});
    EXPECT_EQ(p.device_dmi_invalidations, before) << "another page, another ASID: the grant stays";
    EXPECT_EQ(p.smmu.tbu(0).dmi_grants(), 1u);
    Command cfgi_other;
    cfgi_other.opcode = CommandOpcode::CFGI_STE;
    cfgi_other.stream_id = kStream + 1;
    p.driver.submit({cfgi_other, sync});
    EXPECT_EQ(p.smmu.tbu(0).dmi_grants(), 1u) << "another stream's CFGI";
    p.driver.submit({tlbi_va(kIova, kAsid), sync});
    EXPECT_GT(p.device_dmi_invalidations, before);
    EXPECT_EQ(p.smmu.tbu(0).dmi_grants(), 0u);
    EXPECT_EQ(p.smmu.tbu(0).statistics().dmi_revocations, 1u);
  });
}

// Every kind of event that may end a DMI grant, each against a fresh grant for
// kIova's page (stream kStream, ASID kAsid, PA kPaA): revoked exactly when it
// covers the grant.
TEST(Smmuv3Lifecycle, DmiGrantIsRevokedByExactlyTheEventsThatCoverIt) {
  run(stage1_config(), [](SmmuTestPlatform& p) {
    build_stage1(p);
    Command sync;
    sync.opcode = CommandOpcode::CMD_SYNC;
    const auto command = [](CommandOpcode opcode) {
      Command c;
      c.opcode = opcode;
      return c;
    };
    struct Case {
      const char* what;
      std::function<void()> apply;
      bool revokes;
    };
    const std::vector<Case> cases = {
        {"TLBI_NH_ASID of another ASID", [&] { Command c = command(CommandOpcode::TLBI_NH_ASID); c.asid = kAsid + 1;
                                               p.driver.submit({c, sync}); }, false},
        {"TLBI_NH_ASID of its ASID", [&] { Command c = command(CommandOpcode::TLBI_NH_ASID); c.asid = kAsid;
                                           p.driver.submit({c, sync}); }, true},
        {"TLBI_NH_VA of another page", [&] { Command c = command(CommandOpcode::TLBI_NH_VA); c.asid = kAsid;
                                             c.address = kIova + 0x1000; p.driver.submit({c, sync}); }, false},
        {"TLBI_NH_VA of its page", [&] { Command c = command(CommandOpcode::TLBI_NH_VA); c.asid = kAsid;
                                         c.address = kIova; p.driver.submit({c, sync}); }, true},
        {"TLBI_NH_ALL", [&] { p.driver.submit({command(CommandOpcode::TLBI_NH_ALL), sync}); }, true},
        {"TLBI_NSNH_ALL", [&] { p.driver.submit({command(CommandOpcode::TLBI_NSNH_ALL), sync}); }, true},
        {"CFGI_STE of another stream", [&] { Command c = command(CommandOpcode::CFGI_STE); c.stream_id = kStream + 1;
                                             p.driver.submit({c, sync}); }, false},
        {"CFGI_STE of its stream", [&] { Command c = command(CommandOpcode::CFGI_STE); c.stream_id = kStream;
                                         p.driver.submit({c, sync}); }, true},
        {"CFGI_CD of another stream", [&] { Command c = command(CommandOpcode::CFGI_CD); c.stream_id = kStream + 1;
                                            p.driver.submit({c, sync}); }, false},
        {"CFGI_CD of its stream", [&] { Command c = command(CommandOpcode::CFGI_CD); c.stream_id = kStream;
                                        p.driver.submit({c, sync}); }, true},
        {"CMD_SYNC alone", [&] { p.driver.submit({sync}); }, false},
        {"memory withdraws DMI elsewhere", [&] { p.memory.poison(kPaB + 0x100, 8); p.memory.unpoison(kPaB + 0x100, 8); },
         false},
        {"memory withdraws DMI on its page", [&] { p.memory.poison(kPaA + 0x100, 8); p.memory.unpoison(kPaA + 0x100, 8); },
         true},
        {"GBPA rewritten with its own value", [&] {
           p.driver.write_reg(reg::GBPA, (1u << 31) | p.driver.read_reg(reg::GBPA));  // UPDATE
         }, false},
        // A control change revokes every grant (conservatively for GBPA while SMMUEN=1).
        {"GBPA.ABORT changed", [&] {
           p.driver.write_reg(reg::GBPA, (1u << 31) | (p.driver.read_reg(reg::GBPA) ^ (1u << 20)));
         }, true},
        {"warm reset", [&] {
           p.smmu.reset(smmu::ResetKind::Warm);
           build_stage1(p);  // the driver programs the SMMU again
         }, true},
        {"CR0.SMMUEN cleared", [&] { p.driver.write_reg(reg::CR0, p.driver.read_reg(reg::CR0) & ~1u); }, true},
    };
    for (const Case& c : cases) {
      tlm::tlm_dmi dmi;
      ASSERT_TRUE(dmi_for(p, kIova + 0x40, dmi)) << c.what;
      ASSERT_EQ(dmi.get_start_address(), kIova) << c.what;
      const unsigned before = p.device_dmi_invalidations;
      const std::size_t grants = p.smmu.tbu(0).dmi_grants();
      c.apply();
      if (c.revokes) {
        EXPECT_GT(p.device_dmi_invalidations, before) << c.what;
        EXPECT_EQ(p.smmu.tbu(0).dmi_grants(), 0u) << c.what;
      } else {
        EXPECT_EQ(p.device_dmi_invalidations, before) << c.what << " must not revoke the grant";
        EXPECT_EQ(p.smmu.tbu(0).dmi_grants(), grants) << c.what;
      }
    }
  });
}

// Found by the robustness issue: every DMI request added a grant, so a master
// asking again for a page it held grew the TBU's list (and every revocation
// scanned it); one grant per window and stream now.
TEST(Smmuv3Lifecycle, AskingAgainForTheSameWindowKeepsOneGrant) {
  run(stage1_config(), [](SmmuTestPlatform& p) {
    build_stage1(p);
    tlm::tlm_dmi dmi;
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(dmi_for(p, kIova + 0x40 * i, dmi));
    EXPECT_EQ(p.smmu.tbu(0).dmi_grants(), 1u);
    ASSERT_TRUE(dmi_for(p, kIova + 0x1000, dmi));  // the next page: its own grant
    EXPECT_EQ(p.smmu.tbu(0).dmi_grants(), 2u);
    EXPECT_EQ(p.smmu.tbu(0).statistics().dmi_grants, 6u);  // every grant is still counted
  });
}

TEST(Smmuv3Lifecycle, EveryObserverSeesEachTableAccessWithItsStreamAndTime) {
  run(stage1_config(), [](SmmuTestPlatform& p) {
    build_stage1(p);
    std::vector<smmu::MemoryAccessRecord> first;
    std::vector<smmu::MemoryAccessRecord> second;
    p.smmu.add_memory_observer([&](const smmu::MemoryAccessRecord& r) { first.push_back(r); });
    const unsigned id = p.smmu.add_memory_observer([&](const smmu::MemoryAccessRecord& r) { second.push_back(r); });
    const sc_core::sc_time start = sc_core::sc_time_stamp();
    read64(p, kIova);
    ASSERT_GE(first.size(), 2u);
    EXPECT_EQ(first.size(), second.size());
    bool saw_ste = false;
    for (std::size_t i = 0; i < first.size(); ++i) {
      EXPECT_EQ(first[i].stream_id, kStream);
      // Each access starts when the one before it has taken its memory latency.
      if (i > 0) {
        EXPECT_GT(first[i].time, first[i - 1].time) << "access " << i;
      }
      saw_ste |= first[i].purpose == smmu::AccessPurpose::StreamTableEntry;
    }
    EXPECT_GT(first.back().time, start);
    EXPECT_TRUE(saw_ste);
    p.smmu.remove_memory_observer(id);
    const std::size_t kept = second.size();
    Command cfgi;
    cfgi.opcode = CommandOpcode::CFGI_STE;
    cfgi.stream_id = kStream;
    Command sync;
    sync.opcode = CommandOpcode::CMD_SYNC;
    p.driver.submit({cfgi, sync});
    read64(p, kIova);
    EXPECT_EQ(second.size(), kept);
    bool saw_queue = false;
    for (const auto& r : first) {
      if (r.purpose == smmu::AccessPurpose::CommandQueue) {
        saw_queue = true;
        EXPECT_EQ(r.stream_id, smmu::AccessContext::kNoStream);
      }
    }
    EXPECT_TRUE(saw_queue);
  });
}

}  // namespace
}  // namespace smmuv3tlm::testing

// Two SMMUs in one platform read their own keys from one settings object; their
// statistics and their reports carry their own hierarchical names.
namespace smmuv3tlm::testing {
namespace {

class TwoSmmus : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(TwoSmmus);
  platform::SmmuSystem system_a;
  platform::SmmuSystem system_b;
  smmu::Smmuv3& a;
  smmu::Smmuv3& b;
  tlm_utils::simple_initiator_socket<TwoSmmus> device_a{"device_a"};
  tlm_utils::simple_initiator_socket<TwoSmmus> device_b{"device_b"};
  std::function<void(TwoSmmus&)> body;

  TwoSmmus(const sc_core::sc_module_name& name, const nlohmann::json& settings, std::function<void(TwoSmmus&)> run)
      : sc_core::sc_module(name),
        system_a("system_a", stage1_config(), {}, "smmu_a", settings),
        system_b("system_b", stage1_config(), {}, "smmu_b", settings),
        a(system_a.smmu),
        b(system_b.smmu),
        body(std::move(run)) {
    device_a.bind(a.upstream(0));
    device_b.bind(b.upstream(0));
    SC_THREAD(thread);
  }
  void thread() { body(*this); }
};

TEST(Smmuv3Instances, TwoSmmusAreConfiguredByTheirOwnKeys) {
  const nlohmann::json settings = {{"smmu_a.tlb.entries", 64},          {"smmu_a.walk_cache.s1l2", 0},
                                   {"smmu_b.tlb.entries", 256},         {"smmu_b.capabilities", "qemu-virt"},
                                   {"smmu_b.timing.command_ns", 25.0}, {"other.key", 1}};
  TwoSmmus top("top", settings, [](TwoSmmus& t) {
    EXPECT_EQ(t.a.translation().tlb().geometry().entries, 64u);
    EXPECT_EQ(t.b.translation().tlb().geometry().entries, 256u);
    EXPECT_EQ(t.a.translation().walk_cache().level(false, 2), nullptr);
    EXPECT_NE(t.b.translation().walk_cache().level(false, 2), nullptr);
    EXPECT_EQ(t.a.config().capabilities, *smmu::Capabilities::preset("mmu-700"));
    EXPECT_EQ(t.b.config().capabilities, *smmu::Capabilities::preset("qemu-virt"));
    EXPECT_EQ(t.b.config().timing.command_latency, sc_core::sc_time(25, sc_core::SC_NS));
    EXPECT_EQ(t.a.config().timing.command_latency, sc_core::SC_ZERO_TIME);
    // Statistics under each instance's hierarchical name.
    const nlohmann::json stats = stats::Registry::global().dump("top");
    EXPECT_TRUE(stats.contains("top.system_a.smmu_a.tcu.tlb"));
    EXPECT_TRUE(stats.contains("top.system_b.smmu_b.tcu.tlb"));
    EXPECT_FALSE(stats.contains("top.system_a.smmu_a.tcu.walk_cache.s1l2"));
    EXPECT_TRUE(stats.contains("top.system_b.smmu_b.tcu.walk_cache.s1l2"));
    // A report names the instance that made it.
    ReportCapture capture;
    std::uint8_t bytes[8] = {};
    tlm::tlm_generic_payload trans;
    trans.set_write();
    trans.set_address(reg::CR0);
    trans.set_data_ptr(bytes);
    trans.set_data_length(8);  // 64-bit access to a 32-bit register: CONSTRAINED UNPREDICTABLE
    trans.set_streaming_width(8);
    sc_core::sc_time delay;
    t.system_b.cpu->b_transport(trans, delay);
    EXPECT_EQ(capture.count(sc_core::SC_WARNING, "smmu/top.system_b.smmu_b"), 1u);
    EXPECT_EQ(capture.count(sc_core::SC_WARNING, "smmu/top.system_a.smmu_a"), 0u);
  });
  sc_core::sc_start();
}

TEST(Smmuv3Instances, AnUnknownKeyUnderAnInstanceIsRefusedByName) {
  try {
    smmu::Smmuv3 bad("smmu_c", stage1_config(), nlohmann::json{{"smmu_c.tlb.entires", 8}});
    FAIL() << "an unknown key was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("smmu_c.tlb.entires"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace smmuv3tlm::testing

// Translations outstanding together: a memory target that waits on every
// access (and grants no DMI), two TBUs translating at once, and an invalidation
// landing while a walk waits. Nothing may crash, every DMA gets its data, and a
// walk that overlapped a TLBI must not leave its entry in the TLB.
namespace smmuv3tlm::testing {
namespace {

class WaitingMemory : public sc_core::sc_module {
 public:
  tlm_utils::simple_target_socket<WaitingMemory> in{"in"};
  tlm_utils::simple_initiator_socket<WaitingMemory> out{"out"};
  static constexpr unsigned kWaitNs = 20;

  explicit WaitingMemory(const sc_core::sc_module_name& name) : sc_core::sc_module(name) {
    in.register_b_transport(this, &WaitingMemory::b_transport);
    in.register_transport_dbg(this, &WaitingMemory::transport_dbg);
  }

 private:
  void b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
    sc_core::wait(delay + sc_core::sc_time(kWaitNs, sc_core::SC_NS));
    delay = sc_core::SC_ZERO_TIME;
    out->b_transport(trans, delay);
    trans.set_dmi_allowed(false);
  }
  unsigned transport_dbg(tlm::tlm_generic_payload& trans) { return out->transport_dbg(trans); }
};

class OutstandingPlatform : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(OutstandingPlatform);
  memory::SparseMemory memory{"memory"};
  WaitingMemory waiting{"waiting"};
  tlm_ext::Junction junction{"junction"};
  smmu::Smmuv3 smmu;
  tlm_utils::simple_initiator_socket<OutstandingPlatform> cpu{"cpu"};
  std::array<tlm_utils::simple_initiator_socket<OutstandingPlatform>, 2> device{
      {tlm_utils::simple_initiator_socket<OutstandingPlatform>("device_0"),
       tlm_utils::simple_initiator_socket<OutstandingPlatform>("device_1")}};
  platform::HostDriver driver{cpu, memory};
  bool ready = false;
  sc_core::sc_event ready_event;
  std::array<std::uint64_t, 2> data{};
  std::array<tlm::tlm_response_status, 2> status{};
  std::size_t tlb_entries_after_sync = 99;

  static smmu::Smmuv3Config config() {
    smmu::Smmuv3Config c = stage1_config();
    c.ports = 2;
    c.default_stream_ids = {kStream, kStream};
    c.dmi = false;
    return c;
  }

  explicit OutstandingPlatform(const sc_core::sc_module_name& name)
      : sc_core::sc_module(name), smmu("smmu", config()) {
    smmu.downstream.bind(junction.in);
    smmu.table_walk.bind(junction.in);
    junction.out.bind(waiting.in);
    waiting.out.bind(memory.socket);
    cpu.bind(smmu.registers);
    device[0].bind(smmu.upstream(0));
    device[1].bind(smmu.upstream(1));
    SC_THREAD(host);
    SC_THREAD(dma_0);
    SC_THREAD(dma_1);
  }

  void dma(unsigned port, std::uint64_t iova) {
    std::uint8_t bytes[8] = {};
    tlm::tlm_generic_payload trans;
    trans.set_read();
    trans.set_address(iova);
    trans.set_data_ptr(bytes);
    trans.set_data_length(8);
    trans.set_streaming_width(8);
    sc_core::sc_time delay;
    device[port]->b_transport(trans, delay);
    status[port] = trans.get_response_status();
    std::uint64_t value = 0;
    for (unsigned i = 8; i-- > 0;) value = (value << 8) | bytes[i];
    data[port] = value;
  }

  void host() {
    build_stage1(*this);
    memory.write64(kPaA + 0x10, 0xaaaa);
    memory.write64(kPaB + 0x20, 0xbbbb);
    // The TLBI goes out as soon as a walk has read its first page-table
    // descriptor: it executes while both walks still wait on later levels.
    sc_core::sc_event walk_started;
    const unsigned observer = smmu.add_memory_observer([&walk_started](const smmu::MemoryAccessRecord& r) {
      if (r.purpose == smmu::AccessPurpose::Stage1Walk) walk_started.notify(sc_core::SC_ZERO_TIME);
    });
    ready = true;
    ready_event.notify(sc_core::SC_ZERO_TIME);
    sc_core::wait(walk_started);
    smmu.remove_memory_observer(observer);
    Command tlbi;
    tlbi.opcode = CommandOpcode::TLBI_NH_ALL;
    Command sync;
    sync.opcode = CommandOpcode::CMD_SYNC;
    driver.submit({tlbi, sync});
    sc_core::wait(1, sc_core::SC_US);  // both DMAs are done by now
    tlb_entries_after_sync = smmu.translation().tlb().valid_entries();
  }
  void wait_ready() {
    if (!ready) sc_core::wait(ready_event);
  }
  void dma_0() {
    wait_ready();
    dma(0, kIova + 0x10);
  }
  void dma_1() {
    wait_ready();
    dma(1, kIova + 0x1020);
  }
};

TEST(Smmuv3Outstanding, TwoWalksAndAnInvalidationOverlapWithoutStaleEntries) {
  OutstandingPlatform platform("platform");
  sc_core::sc_start();
  EXPECT_EQ(platform.status[0], tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(platform.status[1], tlm::TLM_OK_RESPONSE);
  EXPECT_EQ(platform.data[0], 0xaaaau);
  EXPECT_EQ(platform.data[1], 0xbbbbu);
  EXPECT_EQ(platform.tlb_entries_after_sync, 0u)
      << "walks that read the tables before the TLBI must not fill the TLB after it";
  EXPECT_EQ(platform.smmu.translation().statistics().walks, 2u);
}

}  // namespace
}  // namespace smmuv3tlm::testing
