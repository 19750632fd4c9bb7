#include "smmuv3tlm/tests/integration/smmu_test_platform.h"

#include <gtest/gtest.h>

#include "smmuv3tlm/models/smmu/arch/registers.h"

namespace smmuv3tlm::testing {

SmmuTestPlatform::SmmuTestPlatform(const sc_core::sc_module_name& name, const smmu::Smmuv3Config& config,
                                   std::function<void(SmmuTestPlatform&)> body)
    : platform::SmmuSystem(name, config), device("device"), body_(std::move(body)) {
  device.bind(smmu.upstream(0));
  device.register_invalidate_direct_mem_ptr(this, &SmmuTestPlatform::device_invalidate);
  smmu.irq_eventq.bind(irq_eventq);
  smmu.irq_gerror.bind(irq_gerror);
  smmu.irq_priq.bind(irq_priq);
  smmu.irq_cmd_sync.bind(irq_cmd_sync);
  junction.set_observer([this](int initiator, const tlm::tlm_generic_payload& trans) {
    if (initiator != kDownstream) return;
    downstream_addresses.push_back(trans.get_address());
    const auto* ext = trans.get_extension<tlm_ext::SidebandExtension>();
    downstream_sidebands.push_back(ext != nullptr ? std::optional<tlm_ext::SidebandExtension>(*ext) : std::nullopt);
  });
  SC_THREAD(run);
  SC_METHOD(count_cmd_sync);
  sensitive << irq_cmd_sync.posedge_event();
  dont_initialize();
}

void SmmuTestPlatform::run() { body_(*this); }

void SmmuTestPlatform::count_cmd_sync() { ++cmd_sync_rising_edges; }

tlm::tlm_response_status SmmuTestPlatform::dma(tlm::tlm_command command, std::uint64_t address, std::uint8_t* data,
                                               unsigned length, const tlm_ext::SidebandExtension* sideband) {
  tlm::tlm_generic_payload trans;
  trans.set_command(command);
  trans.set_address(address);
  trans.set_data_ptr(data);
  trans.set_data_length(length);
  trans.set_streaming_width(length);
  tlm_ext::SidebandExtension ext;
  if (sideband != nullptr) {
    ext = *sideband;
    trans.set_extension(&ext);
  }
  sc_core::sc_time delay;
  device->b_transport(trans, delay);
  if (sideband != nullptr) trans.clear_extension(&ext);
  wait(delay);
  return trans.get_response_status();
}

void SmmuTestPlatform::setup_command_queue(std::uint64_t base, unsigned log2) {
  driver.write_reg(smmu::reg::CMDQ_BASE, base | log2, 8);
  driver.write_reg(smmu::reg::CMDQ_PROD, 0);
  driver.write_reg(smmu::reg::CMDQ_CONS, 0);
}

void SmmuTestPlatform::setup_event_queue(std::uint64_t base, unsigned log2) {
  driver.write_reg(smmu::reg::EVENTQ_BASE, base | log2, 8);
  driver.write_reg(smmu::reg::EVENTQ_PROD, 0);
  driver.write_reg(smmu::reg::EVENTQ_CONS, 0);
}

}  // namespace smmuv3tlm::testing
