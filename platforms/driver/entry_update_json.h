// One line of smmu-entry-update: {"kind": "ste"|"cd", "current": [8 hex u64],
// "target": [8 hex u64]} (qword i at byte offset 8*i) in, the writer's report
// out: {"syncs": N, "hitless": bool, "final": [...], "states_ok": bool,
// "steps": [[...], ...]} where each step is the entry a sync saw.
#pragma once

#include <string>

namespace smmuv3tlm::driver {

// Returns the report line, or throws std::invalid_argument naming the key that
// is missing or malformed.
std::string entry_update_json(const std::string& line);

}  // namespace smmuv3tlm::driver
