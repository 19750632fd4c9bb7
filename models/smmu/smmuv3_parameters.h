// The configuration keys of one SMMU instance, relative to the instance's
// name: an SMMU module named "smmu" reads "smmu.tlb.entries", a second one
// named "smmu1" reads "smmu1.tlb.entries" from the same settings.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "smmuv3tlm/models/common/parameter.h"
#include "smmuv3tlm/models/smmu/smmuv3.h"

namespace smmuv3tlm::smmu {

// Every SMMU key ("tlb.entries", "walk_cache.s1l2", "timing.tlb_hit_ns", ...).
const std::vector<config::Parameter<Smmuv3Config>>& smmu_parameters();

// Applies the keys "<instance>.<key>" of `settings`; returns the keys it used.
// Throws std::invalid_argument naming the full key for an unknown key under the
// instance's prefix or a value out of range.
// Why the TLB and walk-cache sizes do not make sets of equal ways (keys named
// under `instance`); empty when they do.
std::string cache_geometry_problem(const Smmuv3Config& config, const std::string& instance);

std::vector<std::string> apply_smmu_settings(Smmuv3Config& config, const std::string& instance,
                                             const nlohmann::json& settings);

}  // namespace smmuv3tlm::smmu
