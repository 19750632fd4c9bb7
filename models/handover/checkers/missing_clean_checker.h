// Missing cache maintenance: on a non-coherent SMMU, the SMMU read a location
// whose newest CPU store is still dirty in the CPU's cache (no clean to the
// point of coherency after the store), so it used a stale value. Never fires
// on a coherent SMMU: its walks see what the CPU stored. One finding per
// location.
#pragma once

#include <functional>
#include <set>

#include "smmuv3tlm/models/handover/checkers/checker.h"

namespace smmuv3tlm::handover {

class MissingCleanChecker : public Checker {
 public:
  // `dirty(pa, bytes)`: whether the CPU cache holds a store to those bytes
  // that memory has not seen (always false for a coherent SMMU).
  explicit MissingCleanChecker(std::function<bool(std::uint64_t, std::uint64_t)> dirty);
  void on_smmu_access(const SmmuAccess& access);

 private:
  std::function<bool(std::uint64_t, std::uint64_t)> dirty_;
  std::set<std::uint64_t> reported_;
};

}  // namespace smmuv3tlm::handover
