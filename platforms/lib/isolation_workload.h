// Random isolation workloads on the reference platform: several devices of
// one domain type (stage 1, stage 2 or nested) each do random DMA over a
// window of IOVA slots while the CPU maps, unmaps and remaps those slots at
// random through the driver model (every unmap with its TLB invalidation and
// CMD_SYNC), concurrently. The IsolationMonitor on the SMMU's downstream path
// checks every translated access against the mappings the workload recorded
// (allowed from just before a map, revoked once its unmap has returned).
// smmu-sim --isolation-report runs the configurations, one per process.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "smmuv3tlm/platforms/driver/iommu_domain.h"

namespace smmuv3tlm::platform {

struct IsolationWorkload {
  std::string name;
  driver::DomainType domain = driver::DomainType::Stage1;
  unsigned granule_log2 = 12;
  std::uint64_t transactions = 250000;  // DMA transactions over all devices (about 40% map: >= 100k checked)
  // IommuDomains::skip_next_unmap_tlbi() once the workload runs: the monitor must report violations.
  bool planted_bug = false;
  std::uint64_t seed = 1;
};

// S1, S2 and nested with 4K, 16K and 64K granules, and the planted bug.
const std::vector<IsolationWorkload>& isolation_workloads();
// Elaborates and simulates the workload (once per process) and reports it.
nlohmann::json run_isolation_workload(const IsolationWorkload& workload);
std::string isolation_report_table(const std::vector<nlohmann::json>& results);

}  // namespace smmuv3tlm::platform
