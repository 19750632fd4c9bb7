// A small platform as an integrator builds it from the installed package: two
// PCIe DMA masters behind the SMMU, memory behind an interconnect that the SMMU's
// translated traffic and its table walks share, and a CPU thread that runs the
// Linux arm-smmu-v3 driver model: probe and reset the SMMU, give each device a
// stage-1 domain, map a buffer, let the devices DMA, unmap, and check that a
// DMA after the unmap faults. Exit status 0 when everything checks out.
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include <systemc>
#include <tlm>

#include <smmuv3tlm/models/memory/sparse_memory.h>
#include <smmuv3tlm/models/pcie/dma_master.h>
#include <smmuv3tlm/models/smmu/smmuv3.h>
#include <smmuv3tlm/platforms/driver/driver_cpu.h>
#include <smmuv3tlm/platforms/driver/driver_memory.h>
#include <smmuv3tlm/platforms/driver/iommu_domain.h>
#include <smmuv3tlm/platforms/driver/smmu_driver.h>
#include <smmuv3tlm/tlm/junction.h>
#include <smmuv3tlm/models/common/systemc_banner.h>

using namespace smmuv3tlm;

namespace {

constexpr std::uint32_t kNicStream = 0x10;
constexpr std::uint32_t kNvmeStream = 0x11;
constexpr std::uint64_t kIova = 0x1000'0000;
constexpr std::uint64_t kBufferBytes = 64 * 1024;
constexpr std::uint64_t kNicBuffer = 0x1'0000'0000;
constexpr std::uint64_t kNvmeBuffer = 0x1'0010'0000;

smmu::Smmuv3Config smmu_config() {
  smmu::Smmuv3Config config;
  config.capabilities = *smmu::Capabilities::preset("mmu-700");
  config.ports = 2;
  config.default_stream_ids = {kNicStream, kNvmeStream};
  return config;
}

pcie::DmaMasterConfig device(std::uint32_t stream_id) {
  pcie::DmaMasterConfig config;
  config.stream_id = stream_id;
  config.address_bits = 64;
  return config;
}

class Platform : public sc_core::sc_module {
 public:
  memory::SparseMemory memory{"memory"};
  tlm_ext::Junction interconnect{"interconnect"};
  smmu::Smmuv3 smmu{"smmu", smmu_config()};
  pcie::DmaMaster nic{"nic", device(kNicStream)};
  pcie::DmaMaster nvme{"nvme", device(kNvmeStream)};
  tlm_utils::simple_initiator_socket<Platform> cpu_registers{"cpu_registers"};
  sc_core::sc_signal<bool> eventq_irq{"eventq_irq"};
  sc_core::sc_signal<bool> gerror_irq{"gerror_irq"};
  driver::DriverMemory kernel_memory;  // where the driver allocates its tables and queues
  driver::DriverCpu cpu{"cpu", cpu_registers, [this](driver::DriverCpu& c) { run(c); }};
  bool passed = false;

  explicit Platform(const sc_core::sc_module_name& name) : sc_core::sc_module(name) {
    nic.socket.bind(smmu.upstream(0));
    nvme.socket.bind(smmu.upstream(1));
    smmu.downstream.bind(interconnect.in);
    smmu.table_walk.bind(interconnect.in);
    interconnect.out.bind(memory.socket);
    cpu_registers.bind(smmu.registers);
    cpu.memory.bind(interconnect.in);  // the CPU's loads and stores of tables and queues
    smmu.irq_eventq.bind(eventq_irq);
    smmu.irq_gerror.bind(gerror_irq);
    cpu.eventq_irq.bind(eventq_irq);
    cpu.gerror_irq.bind(gerror_irq);
  }

 private:
  void run(driver::DriverCpu& c) {
    driver::SmmuDriver smmu_driver(c, kernel_memory);
    smmu_driver.probe();
    smmu_driver.reset();
    c.serve_interrupts(smmu_driver, nullptr);
    driver::IommuDomains iommu(smmu_driver);
    driver::Master& nic_master = iommu.add_master({{kNicStream}});
    driver::Master& nvme_master = iommu.add_master({{kNvmeStream}});
    driver::Domain& nic_domain = iommu.create(driver::DomainType::Stage1);
    driver::Domain& nvme_domain = iommu.create(driver::DomainType::Stage1);
    nic_domain.map(kIova, kNicBuffer, kBufferBytes);
    nvme_domain.map(kIova, kNvmeBuffer, kBufferBytes);
    iommu.attach(nic_master, nic_domain);
    iommu.attach(nvme_master, nvme_domain);

    // Both devices write their own pattern at the same IOVA: each lands in its own buffer.
    std::vector<std::uint8_t> nic_data(4096, 0xA5), nvme_data(4096, 0x5A), back(4096);
    bool ok = nic.transfer(tlm::TLM_WRITE_COMMAND, kIova, nic_data.data(), nic_data.size()).ok() &&
              nvme.transfer(tlm::TLM_WRITE_COMMAND, kIova, nvme_data.data(), nvme_data.size()).ok();
    ok = ok && nic.transfer(tlm::TLM_READ_COMMAND, kIova, back.data(), back.size()).ok() && back == nic_data;
    ok = ok && memory.read64(kNicBuffer) == 0xA5A5A5A5A5A5A5A5ull && memory.read64(kNvmeBuffer) == 0x5A5A5A5A5A5A5A5Aull;
    std::printf("two_masters: DMA through two stage-1 domains %s\n", ok ? "ok" : "FAILED");

    // After the unmap (and the driver's TLB invalidation) the NIC's DMA faults.
    nic_domain.unmap(kIova, kBufferBytes);
    const bool faulted = !nic.transfer(tlm::TLM_READ_COMMAND, kIova, back.data(), 64).ok();
    std::printf("two_masters: DMA after unmap %s\n", faulted ? "faulted" : "was NOT stopped");
    c.synchronize();
    c.stop_interrupts();
    passed = ok && faulted;
  }
};

}  // namespace

// Before SystemC's main() prints its banner (static initialisation).
[[maybe_unused]] const bool kQuietSystemc = smmuv3tlm::suppress_systemc_banner();

int sc_main(int, char*[]) {
  Platform platform("platform");
  sc_core::sc_start();
  std::printf("two_masters: %s\n", platform.passed ? "PASS" : "FAIL");
  return platform.passed ? 0 : 1;
}
