// Fault injection on the reference platform: bus errors on the SMMU's own
// memory accesses (stage-1 and stage-2 walks, STE and CD fetches, command
// fetches, event-record writes, CMD_SYNC MSIs) while the driver model runs DMA
// on every device and serves the SMMU's interrupts. Each scenario injects a
// number of errors of one kind, then checks that the architecture's report
// (event record or GERROR bit) came for each, that nothing was lost without a
// counter saying so, and that once the injector is spent a fresh round of DMA
// is clean. smmu-sim --fault-scenario runs one (one simulation per process);
// --fault-report runs them all and tabulates.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "smmuv3tlm/models/smmu/arch/memory_port.h"

namespace smmuv3tlm::platform {

struct FaultScenario {
  std::string name;
  smmu::AccessPurpose purpose;
  // The architecture's report of one injected error: an event record's name
  // ("F_WALK_EABT") or a GERROR bit's ("CMDQ_ERR").
  std::string signal;
  bool signal_is_event = true;
  std::string description;
};

const std::vector<FaultScenario>& fault_scenarios();
// Elaborates and simulates the scenario (once per process) and reports it.
nlohmann::json run_fault_scenario(const FaultScenario& scenario, unsigned injections = 8);
std::string fault_report_table(const std::vector<nlohmann::json>& results);

}  // namespace smmuv3tlm::platform
