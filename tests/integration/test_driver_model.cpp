// The driver model on the CPU through TLM only: probe, reset and commands
// reach the SMMU through its register socket and the interconnect the SMMU's
// table walks use; CMD_SYNC completes by MSI polling (the SMMU's MSI lands in
// the command's own slot) or by CONS polling; every driver store is seen on
// the memory path.
#include <gtest/gtest.h>

#include "smmuv3tlm/models/smmu/arch/registers.h"
#include "smmuv3tlm/platforms/driver/driver_cpu.h"
#include "smmuv3tlm/platforms/lib/memory_table_space.h"
#include "smmuv3tlm/platforms/lib/smmu_system.h"
#include "smmuv3tlm/platforms/tables/table_builder.h"

namespace smmuv3tlm::testing {
namespace {

using smmu::Command;
using smmu::CommandOpcode;
namespace reg = smmu::reg;

constexpr std::uint32_t kStream = 1;
constexpr int kDriverInitiator = 2;  // junction index after the SMMU's downstream and table-walk sockets

class DriverPlatform : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(DriverPlatform);
  platform::SmmuSystem system;
  driver::DriverMemory driver_memory;
  driver::DriverOptions options;
  driver::DriverCpu cpu;
  tlm_utils::simple_initiator_socket<DriverPlatform> device{"device"};
  std::uint64_t driver_stores_seen = 0;
  std::function<void(DriverPlatform&, driver::SmmuDriver&)> body;

  DriverPlatform(const sc_core::sc_module_name& name, const smmu::Smmuv3Config& config,
                 const driver::DriverOptions& driver_options, std::function<void(DriverPlatform&, driver::SmmuDriver&)> run)
      : sc_core::sc_module(name),
        system("system", config),
        options(driver_options),
        cpu("driver_cpu", system.cpu, [this](driver::DriverCpu& c) { script(c); }),
        body(std::move(run)) {
    cpu.memory.bind(system.junction.in);
    device.bind(system.smmu.upstream(0));
    system.junction.set_observer([this](int initiator, const tlm::tlm_generic_payload& trans) {
      if (initiator == kDriverInitiator && trans.is_write()) ++driver_stores_seen;
    });
  }

  void script(driver::DriverCpu& c) {
    // Test set-up through the back door: a linear stream table with a bypass STE.
    platform::MemoryTableSpace space(system.memory);
    tables::PageAllocator allocator(0x8000'0000, 0x8010'0000);
    tables::StreamTableBuilder stream_table({smmu::StreamTableFormat::Linear, 4, 8}, allocator, space);
    tables::SteFields bypass;
    bypass.config = 0b100;
    stream_table.write_ste(kStream, bypass);
    driver::SmmuDriver driver(c, driver_memory, options);
    driver.probe();
    driver.reset(stream_table.strtab_base(), stream_table.strtab_base_cfg());
    body(*this, driver);
  }

  tlm::tlm_response_status dma_read(std::uint64_t address) {
    std::uint8_t data[8] = {};
    tlm::tlm_generic_payload trans;
    trans.set_read();
    trans.set_address(address);
    trans.set_data_ptr(data);
    trans.set_data_length(8);
    trans.set_streaming_width(8);
    sc_core::sc_time delay;
    device->b_transport(trans, delay);
    return trans.get_response_status();
  }
};

smmu::Smmuv3Config config() {
  smmu::Smmuv3Config c;
  c.capabilities = *smmu::Capabilities::preset("mmu-700");
  c.default_stream_ids = {kStream};
  c.timing.command_latency = sc_core::sc_time(20, sc_core::SC_NS);
  c.timing.ack_delay = sc_core::sc_time(10, sc_core::SC_NS);
  return c;
}

TEST(DriverModel, ResetsTheSmmuAndSyncsByMsiPollingThroughTlm) {
  DriverPlatform platform("platform", config(), {}, [](DriverPlatform& p, driver::SmmuDriver& driver) {
    EXPECT_EQ(p.system.smmu.programming_interface().cr0ack() & reg::cr0::SMMUEN, reg::cr0::SMMUEN);
    EXPECT_EQ(p.dma_read(0x1000), tlm::TLM_OK_RESPONSE) << "the bypass STE is live";
    const std::uint64_t msis = p.system.smmu.programming_interface().statistics().sync_msis;
    const sc_core::sc_time before = sc_core::sc_time_stamp();
    Command tlbi;
    tlbi.opcode = CommandOpcode::TLBI_NSNH_ALL;
    driver.issue({tlbi, tlbi, tlbi});
    EXPECT_GE(sc_core::sc_time_stamp() - before, sc_core::sc_time(80, sc_core::SC_NS))
        << "four commands at 20 ns each before the sync completed";
    EXPECT_EQ(p.system.smmu.programming_interface().statistics().sync_msis - msis, 1u);
    EXPECT_EQ(p.system.smmu.programming_interface().read(reg::CMDQ_CONS, 4),
              p.system.smmu.programming_interface().read(reg::CMDQ_PROD, 4));
  });
  sc_core::sc_start();
  EXPECT_TRUE(platform.cpu.finished()) << platform.cpu.error();
  EXPECT_EQ(platform.driver_stores_seen, platform.cpu.statistics().stores)
      << "every driver store travels on the memory path";
  EXPECT_GT(platform.cpu.statistics().stores, 0u);
}

TEST(DriverModel, SyncsByConsPollingWithoutMsiPolling) {
  driver::DriverOptions options;
  options.disable_msipolling = true;
  DriverPlatform platform("platform", config(), options, [](DriverPlatform& p, driver::SmmuDriver& driver) {
    Command tlbi;
    tlbi.opcode = CommandOpcode::TLBI_NSNH_ALL;
    driver.issue({tlbi});
    EXPECT_EQ(p.system.smmu.programming_interface().statistics().sync_msis, 0u);
    EXPECT_EQ(p.system.smmu.programming_interface().read(reg::CMDQ_CONS, 4),
              p.system.smmu.programming_interface().read(reg::CMDQ_PROD, 4));
  });
  sc_core::sc_start();
  EXPECT_TRUE(platform.cpu.finished()) << platform.cpu.error();
}

}  // namespace
}  // namespace smmuv3tlm::testing
