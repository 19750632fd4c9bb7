#include "smmuv3tlm/models/handover/checkers/missing_clean_checker.h"

namespace smmuv3tlm::handover {

MissingCleanChecker::MissingCleanChecker(std::function<bool(std::uint64_t, std::uint64_t)> dirty)
    : Checker("missing-clean"), dirty_(std::move(dirty)) {}

void MissingCleanChecker::on_smmu_access(const SmmuAccess& access) {
  if (access.write || access.size == 0 || !dirty_ || !dirty_(access.pa, access.size)) return;
  if (!reported_.insert(access.pa).second) return;
  report(access.time_ns, access.stream_id, access.pa, smmu::to_string(access.purpose),
         "the SMMU (not coherent) read a location whose newest CPU store is still dirty in the CPU cache: "
         "no clean to the point of coherency after the store");
}

}  // namespace smmuv3tlm::handover
