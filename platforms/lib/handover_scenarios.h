// The live-update scenarios: correct handovers (S2, S1 with its CD table,
// nested, a mix, disable_s1, a non-coherent SMMU with every store cleaned,
// kdump with and without a latched GERROR) and planted bugs (a CD table in
// coherent-dma memory, PTE stores left uncleaned, a torn 32-bit PTE update, a
// non-hitless STE rewrite, ASID reuse, CR1 written with SMMUEN=1, an SMMU
// reset during kexec). Each runs on the reference platform with DMA flowing
// and yields its numbers as JSON: what was preserved by table type, per phase
// the registers written, commands, walks and TLB misses, DMA outcomes and the
// longest gap, the checkers' findings, and whether the outcome is the one
// expected. smmu-sim --handover-scenario runs one (one simulation per
// process); --handover-report runs them all and tabulates.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "smmuv3tlm/platforms/lib/reference_platform.h"

namespace smmuv3tlm::platform {

struct HandoverScenario {
  std::string name;
  std::string description;
  std::function<void(ReferencePlatformConfig&)> configure;
  std::vector<unsigned> preserve;  // devices handed over (live update)
  bool kdump = false;
  std::function<void(ReferencePlatform&)> before;  // on the CPU, before the update
  std::function<void(ReferencePlatform&)> after;   // on the CPU, after adoption
  // "clean": no finding, preserved DMA never fails; a checker's name: it and
  // only it fires; "adoption-fails": the new kernel refuses to adopt;
  // "refused": the handover is refused or kdump falls back to a full reset,
  // with the reason named.
  std::string expect = "clean";
};

const std::vector<HandoverScenario>& handover_scenarios();
const HandoverScenario* find_handover_scenario(const std::string& name);

// Elaborates and simulates the scenario (once per process) and reports it.
nlohmann::json run_handover_scenario(const HandoverScenario& scenario);

// The report's table, one row per scenario result.
std::string handover_report_table(const std::vector<nlohmann::json>& results);

}  // namespace smmuv3tlm::platform
