#include "smmuv3tlm/platforms/lib/smmu_system.h"

namespace smmuv3tlm::platform {

SmmuSystem::SmmuSystem(const sc_core::sc_module_name& name, const smmu::Smmuv3Config& smmu_config,
                       const memory::SparseMemoryConfig& memory_config, const char* smmu_name,
                       const nlohmann::json& settings)
    : sc_core::sc_module(name),
      memory("memory", memory_config),
      junction("junction"),
      smmu(smmu_name, smmu_config, settings),
      cpu("cpu"),
      driver(cpu, memory) {
  smmu.downstream.bind(junction.in);  // junction initiator kDownstream
  smmu.table_walk.bind(junction.in);  // junction initiator kTableWalk
  junction.out.bind(memory.socket);
  cpu.bind(smmu.registers);
}

void SmmuSystem::record_downstream_addresses(std::vector<std::uint64_t>& addresses) {
  junction.set_observer([&addresses](int initiator, const tlm::tlm_generic_payload& trans) {
    if (initiator == kDownstream) addresses.push_back(trans.get_address());
  });
}

}  // namespace smmuv3tlm::platform
