// Scrubbed-memory fetch: the SMMU read memory that kexec scrubbed, so a table
// it walks was not preserved (a CD table allocated as coherent-dma, an L2
// stream table the shutdown did not keep, ...). One finding per 64-byte block.
#pragma once

#include <functional>
#include <set>

#include "smmuv3tlm/models/handover/checkers/checker.h"

namespace smmuv3tlm::handover {

class ScrubbedFetchChecker : public Checker {
 public:
  // `scrubbed(pa, bytes)`: whether any of those bytes is scrubbed now.
  explicit ScrubbedFetchChecker(std::function<bool(std::uint64_t, std::uint64_t)> scrubbed);
  void on_smmu_access(const SmmuAccess& access);

 private:
  std::function<bool(std::uint64_t, std::uint64_t)> scrubbed_;
  std::set<std::uint64_t> reported_;
};

}  // namespace smmuv3tlm::handover
