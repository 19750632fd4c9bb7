#include "smmuv3tlm/platforms/lib/smmu_system.h"

namespace smmuv3tlm::platform {

SmmuSystem::SmmuSystem(const sc_core::sc_module_name& name, const smmu::Smmuv3Config& smmu_config,
                       const memory::SparseMemoryConfig& memory_config, const char* smmu_name,
                       const nlohmann::json& settings, bool monitor_isolation)
    : sc_core::sc_module(name),
      memory("memory", memory_config),
      junction("junction"),
      table_walk_faults("table_walk_faults"),
      smmu(smmu_name, smmu_config, settings),
      cpu("cpu"),
      driver(cpu, memory) {
  if (monitor_isolation) {
    isolation_ = std::make_unique<IsolationMonitor>("isolation");
    smmu.downstream.bind(isolation_->in);
    isolation_->out.bind(junction.in);  // junction initiator kDownstream
  } else {
    smmu.downstream.bind(junction.in);  // junction initiator kDownstream
  }
  smmu.table_walk.bind(table_walk_faults.in);
  table_walk_faults.out.bind(junction.in);  // junction initiator kTableWalk
  junction.out.bind(memory.socket);
  cpu.bind(smmu.registers);
}

void SmmuSystem::record_downstream_addresses(std::vector<std::uint64_t>& addresses) {
  junction.set_observer([&addresses](int initiator, const tlm::tlm_generic_payload& trans) {
    if (initiator == kDownstream) addresses.push_back(trans.get_address());
  });
}

tlm_ext::FaultInjector::Rule fault_rule(smmu::AccessPurpose purpose, std::uint64_t count, std::uint64_t skip) {
  tlm_ext::FaultInjector::Rule rule;
  rule.name = smmu::to_string(purpose);
  rule.match = [purpose](const tlm::tlm_generic_payload& trans) {
    const auto* what = trans.get_extension<smmu::TableAccessExtension>();
    return what != nullptr && what->purpose == purpose;
  };
  rule.count = count;
  rule.skip = skip;
  return rule;
}

}  // namespace smmuv3tlm::platform
