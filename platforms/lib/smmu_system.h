// The one platform assembly every platform, test and benchmark builds on: the
// SMMU with sparse memory behind a junction that its downstream (initiator 0)
// and table-walk (initiator 1) sockets share, a CPU initiator on its register
// socket, and the host driver on that CPU. Interrupt lines stay unbound unless
// the user binds them; upstream ports are the user's to bind.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>
#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include "smmuv3tlm/models/memory/sparse_memory.h"
#include "smmuv3tlm/models/smmu/smmuv3.h"
#include "smmuv3tlm/platforms/lib/host_driver.h"
#include "smmuv3tlm/platforms/lib/isolation_monitor.h"
#include "smmuv3tlm/models/smmu/table_access_extension.h"
#include "smmuv3tlm/tlm/fault_injector.h"
#include "smmuv3tlm/tlm/junction.h"

namespace smmuv3tlm::platform {

class SmmuSystem : public sc_core::sc_module {
 public:
  // Junction initiator indices.
  static constexpr int kDownstream = 0;  // the SMMU's translated traffic
  static constexpr int kTableWalk = 1;   // walks, queues, MSIs, HTTU updates

  memory::SparseMemory memory;
  tlm_ext::Junction junction;
  // On the SMMU's table-walk path (walks, queues, MSIs): bus errors on demand,
  // matched by smmu::TableAccessExtension (fault_rule()). Passes everything
  // through while no rule is armed.
  tlm_ext::FaultInjector table_walk_faults;
  smmu::Smmuv3 smmu;
  tlm_utils::simple_initiator_socket<SmmuSystem> cpu;
  HostDriver driver;

  // The SMMU is named `smmu_name` and takes the keys "<smmu_name>.<key>" of
  // `settings` over `smmu_config` (smmuv3_parameters.h).
  // With `monitor_isolation`, the SMMU's translated traffic passes an
  // IsolationMonitor (isolation()) on its way to the junction.
  SmmuSystem(const sc_core::sc_module_name& name, const smmu::Smmuv3Config& smmu_config,
             const memory::SparseMemoryConfig& memory_config = {}, const char* smmu_name = "smmu",
             const nlohmann::json& settings = nlohmann::json::object(), bool monitor_isolation = false);

  // The downstream isolation monitor, or nullptr.
  IsolationMonitor* isolation() { return isolation_.get(); }

  // Records the address of every access the SMMU forwards downstream (tests
  // and checkers compare them with the expected PAs).
  void record_downstream_addresses(std::vector<std::uint64_t>& addresses);

 private:
  std::unique_ptr<IsolationMonitor> isolation_;
};

// A rule for SmmuSystem::table_walk_faults: the next `count` SMMU accesses
// made for `purpose` (after `skip` of them) answer with a bus error.
tlm_ext::FaultInjector::Rule fault_rule(smmu::AccessPurpose purpose, std::uint64_t count = 1, std::uint64_t skip = 0);

}  // namespace smmuv3tlm::platform
