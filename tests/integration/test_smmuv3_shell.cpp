// The SMMU shell through its sockets and lines only: register handshakes with a
// deferred acknowledge, CMD_SYNC completion (wired pulse and MSI), event and
// global-error interrupts, GBPA bypass/abort, DMI grant and revocation.
#include <gtest/gtest.h>

#include "smmuv3tlm/models/smmu/arch/command.h"
#include "smmuv3tlm/models/smmu/arch/event.h"
#include "smmuv3tlm/models/smmu/arch/registers.h"
#include "smmuv3tlm/tests/integration/smmu_test_platform.h"

namespace smmuv3tlm::testing {
namespace {

using smmu::Command;
using smmu::CommandOpcode;
namespace reg = smmu::reg;

constexpr std::uint64_t kCmdq = 0x80000000;
constexpr std::uint64_t kEventq = 0x80010000;
constexpr std::uint64_t kStrtab = 0x80020000;

smmu::Smmuv3Config default_config() {
  smmu::Smmuv3Config config;
  config.capabilities = *smmu::Capabilities::preset("qemu-virt");
  return config;
}

std::array<std::uint64_t, 2> sync_command(smmu::SyncSignal signal, std::uint64_t msi_address = 0,
                                          std::uint32_t msi_data = 0) {
  Command c;
  c.opcode = CommandOpcode::CMD_SYNC;
  c.sync_signal = signal;
  c.msi_address = msi_address;
  c.msi_data = msi_data;
  return smmu::encode_command(c);
}

void run_platform(const smmu::Smmuv3Config& config, std::function<void(SmmuTestPlatform&)> body) {
  SmmuTestPlatform platform("platform", config, std::move(body));
  sc_core::sc_start();
}

TEST(Smmuv3Shell, DeferredAcknowledgeTakesTheConfiguredDelay) {
  smmu::Smmuv3Config config = default_config();
  config.timing.ack_delay = sc_core::sc_time(100, sc_core::SC_NS);
  run_platform(config, [](SmmuTestPlatform& p) {
    p.driver.write_reg(reg::CR0, reg::cr0::CMDQEN);
    EXPECT_EQ(p.driver.read_reg(reg::CR0ACK), 0u);
    sc_core::wait(99, sc_core::SC_NS);
    EXPECT_EQ(p.driver.read_reg(reg::CR0ACK), 0u);
    sc_core::wait(2, sc_core::SC_NS);
    EXPECT_EQ(p.driver.read_reg(reg::CR0ACK), reg::cr0::CMDQEN);
  });
}

TEST(Smmuv3Shell, CmdSyncWithoutMsiAddressPulsesTheWiredLine) {
  run_platform(default_config(), [](SmmuTestPlatform& p) {
    p.setup_command_queue(kCmdq, 4);
    p.driver.write_cr0(reg::cr0::CMDQEN);
    p.driver.submit_raw({sync_command(smmu::SyncSignal::Irq), sync_command(smmu::SyncSignal::None)});
    sc_core::wait(10, sc_core::SC_NS);
    EXPECT_EQ(p.driver.read_reg(reg::CMDQ_CONS), 2u);
    EXPECT_EQ(p.cmd_sync_rising_edges, 1u);
    EXPECT_FALSE(p.irq_cmd_sync.read());
  });
}

TEST(Smmuv3Shell, CmdSyncWithMsiWritesTheDataThroughTheTableWalkSocket) {
  smmu::Smmuv3Config config = default_config();
  config.capabilities.msi = true;
  run_platform(config, [](SmmuTestPlatform& p) {
    p.setup_command_queue(kCmdq, 4);
    p.driver.write_cr0(reg::cr0::CMDQEN);
    p.driver.submit_raw({sync_command(smmu::SyncSignal::Irq, 0x80030000, 0xcafe1234)});
    sc_core::wait(10, sc_core::SC_NS);
    EXPECT_EQ(p.memory.read64(0x80030000) & 0xffffffff, 0xcafe1234u);
    EXPECT_EQ(p.cmd_sync_rising_edges, 0u);
  });
}

TEST(Smmuv3Shell, BadStreamIdIsRecordedAndRaisesTheEventQueueLine) {
  run_platform(default_config(), [](SmmuTestPlatform& p) {
    p.driver.write_reg(reg::STRTAB_BASE, kStrtab, 8);
    p.driver.write_reg(reg::STRTAB_BASE_CFG, 4);  // linear, 16 StreamIDs
    p.driver.write_reg(reg::CR2, reg::cr2::RECINVSID);  // record C_BAD_STREAMID
    p.setup_event_queue(kEventq, 3);
    p.driver.write_reg(reg::IRQ_CTRL, 1u << 2);   // EVENTQ_IRQEN
    p.driver.write_cr0(reg::cr0::EVENTQEN | reg::cr0::SMMUEN);
    tlm_ext::SidebandExtension sideband;
    sideband.stream_id = 100;
    std::uint8_t data[8] = {};
    EXPECT_EQ(p.dma(tlm::TLM_READ_COMMAND, 0x1000, data, 8, &sideband), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    sc_core::wait(1, sc_core::SC_NS);
    EXPECT_EQ(p.driver.read_reg(reg::EVENTQ_PROD), 1u);
    std::array<std::uint64_t, 4> words{};
    for (unsigned i = 0; i < 4; ++i) words[i] = p.memory.read64(kEventq + 8 * i);
    const smmu::EventRecord record = smmu::EventRecord::decode(words);
    EXPECT_EQ(record.id, smmu::EventId::C_BAD_STREAMID);
    EXPECT_EQ(record.stream_id, 100u);
    EXPECT_TRUE(p.irq_eventq.read());
    EXPECT_TRUE(p.downstream_addresses.empty());
    p.driver.write_reg(reg::EVENTQ_CONS, 1);
    sc_core::wait(1, sc_core::SC_NS);
    EXPECT_FALSE(p.irq_eventq.read());
  });
}

TEST(Smmuv3Shell, IllegalCommandRaisesGerrorUntilAcknowledged) {
  run_platform(default_config(), [](SmmuTestPlatform& p) {
    p.setup_command_queue(kCmdq, 4);
    p.driver.write_reg(reg::IRQ_CTRL, 1u << 0);  // GERROR_IRQEN
    p.driver.write_cr0(reg::cr0::CMDQEN);
    EXPECT_THROW(p.driver.submit_raw({{0xff, 0}}), platform::HostDriverError);
    const std::uint64_t cons = p.driver.read_reg(reg::CMDQ_CONS);
    EXPECT_EQ((cons >> 24) & 0x7f, 1u) << "CERROR_ILL";
    EXPECT_EQ(cons & 0xfffff, 0u) << "CONS stays on the illegal command";
    const std::uint64_t gerror = p.driver.read_reg(reg::GERROR);
    EXPECT_EQ(gerror & 1, 1u);
    EXPECT_TRUE(p.irq_gerror.read());
    // As Linux does: replace the illegal command by a CMD_SYNC, then acknowledge.
    const auto sync = sync_command(smmu::SyncSignal::None);
    p.memory.write64(kCmdq, sync[0]);
    p.memory.write64(kCmdq + 8, sync[1]);
    p.driver.write_reg(reg::GERRORN, gerror);
    sc_core::wait(1, sc_core::SC_NS);
    EXPECT_FALSE(p.irq_gerror.read());
    EXPECT_EQ(p.driver.read_reg(reg::CMDQ_CONS), 1u) << "the queue resumed and consumed the sync";
  });
}

TEST(Smmuv3Shell, GbpaDecidesTrafficWhileSmmuIsDisabled) {
  run_platform(default_config(), [](SmmuTestPlatform& p) {
    p.memory.write64(0x5000, 0x1122334455667788ull);
    std::uint8_t data[8] = {};
    EXPECT_EQ(p.dma(tlm::TLM_READ_COMMAND, 0x5000, data, 8), tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(data[0], 0x88);
    ASSERT_EQ(p.downstream_addresses.size(), 1u);
    EXPECT_EQ(p.downstream_addresses[0], 0x5000u);
    p.driver.write_reg(reg::GBPA, (1u << 31) | (1u << 20));  // UPDATE | ABORT
    EXPECT_EQ(p.driver.read_reg(reg::GBPA) >> 31, 0u) << "the update completed";
    EXPECT_EQ(p.dma(tlm::TLM_READ_COMMAND, 0x5000, data, 8), tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(p.downstream_addresses.size(), 1u);
  });
}

TEST(Smmuv3Shell, DmiIsGrantedForGbpaBypassAndRevokedByAGbpaChangeNotByATlbi) {
  run_platform(default_config(), [](SmmuTestPlatform& p) {
    p.memory.write64(0x7000, 42);
    tlm::tlm_generic_payload trans;
    trans.set_read();
    trans.set_address(0x7008);
    tlm::tlm_dmi dmi;
    ASSERT_TRUE(p.device->get_direct_mem_ptr(trans, dmi));
    EXPECT_LE(dmi.get_start_address(), 0x7008u);
    EXPECT_GE(dmi.get_end_address(), 0x7008u);
    EXPECT_EQ(dmi.get_dmi_ptr()[0x7000 - dmi.get_start_address()], 42);
    p.setup_command_queue(kCmdq, 4);
    p.driver.write_cr0(reg::cr0::CMDQEN);
    const unsigned before = p.device_dmi_invalidations;
    // GBPA bypass uses no TLB entry: a TLBI does not cover the grant.
    Command tlbi;
    tlbi.opcode = CommandOpcode::TLBI_NSNH_ALL;
    p.driver.submit_raw({smmu::encode_command(tlbi), sync_command(smmu::SyncSignal::None)});
    EXPECT_EQ(p.device_dmi_invalidations, before);
    EXPECT_EQ(p.smmu.tbu(0).dmi_grants(), 1u);
    // A GBPA change decides differently for the same address: the grant goes.
    p.driver.write_gbpa(1u << 20);
    EXPECT_GT(p.device_dmi_invalidations, before);
    EXPECT_EQ(p.smmu.tbu(0).dmi_grants(), 0u);
  });
}

TEST(Smmuv3Shell, RegisterSocketRejectsBadAccessSizes) {
  run_platform(default_config(), [](SmmuTestPlatform& p) {
    std::uint8_t bytes[2] = {};
    tlm::tlm_generic_payload trans;
    trans.set_read();
    trans.set_address(reg::IDR0);
    trans.set_data_ptr(bytes);
    trans.set_data_length(2);
    trans.set_streaming_width(2);
    sc_core::sc_time delay;
    p.cpu->b_transport(trans, delay);
    EXPECT_EQ(trans.get_response_status(), tlm::TLM_BURST_ERROR_RESPONSE);
    EXPECT_EQ(p.driver.read_reg(reg::IDR0), p.smmu.config().capabilities.idr0());
  });
}

// Found by the robustness issue: the bounds check wrapped, so an access at
// 0xfffffffffffffffc answered OK. Every access past the register space is an
// address error, the last word inside still works.
TEST(Smmuv3Shell, RegisterSocketBoundsCannotWrap) {
  run_platform(default_config(), [](SmmuTestPlatform& p) {
    const auto access = [&](std::uint64_t address, unsigned length, bool debug) {
      std::uint8_t bytes[8] = {};
      tlm::tlm_generic_payload trans;
      trans.set_read();
      trans.set_address(address);
      trans.set_data_ptr(bytes);
      trans.set_data_length(length);
      trans.set_streaming_width(length);
      trans.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
      if (debug) {
        EXPECT_EQ(p.cpu->transport_dbg(trans), 0u) << std::hex << address;
      } else {
        sc_core::sc_time delay;
        p.cpu->b_transport(trans, delay);
      }
      return trans.get_response_status();
    };
    for (const std::uint64_t address : std::initializer_list<std::uint64_t>{0xfffffffffffffffcull, 0xfffffffffffffff8ull,
                                                                            reg::kRegisterSpaceBytes}) {
      EXPECT_EQ(access(address, 4, false), tlm::TLM_ADDRESS_ERROR_RESPONSE) << std::hex << address;
      EXPECT_EQ(access(address & ~7ull, 8, false), tlm::TLM_ADDRESS_ERROR_RESPONSE) << std::hex << address;
      access(address, 4, true);
    }
    EXPECT_EQ(access(reg::kRegisterSpaceBytes - 4, 4, false), tlm::TLM_OK_RESPONSE);
  });
}

}  // namespace
}  // namespace smmuv3tlm::testing
