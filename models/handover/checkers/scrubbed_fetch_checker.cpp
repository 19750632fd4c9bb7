#include "smmuv3tlm/models/handover/checkers/scrubbed_fetch_checker.h"

namespace smmuv3tlm::handover {

ScrubbedFetchChecker::ScrubbedFetchChecker(std::function<bool(std::uint64_t, std::uint64_t)> scrubbed)
    : Checker("scrubbed-fetch"), scrubbed_(std::move(scrubbed)) {}

void ScrubbedFetchChecker::on_smmu_access(const SmmuAccess& access) {
  if (access.write || access.size == 0 || !scrubbed_(access.pa, access.size)) return;
  // One finding per entry-sized block (the SMMU reads an STE or CD in 8 reads).
  if (!reported_.insert(access.pa & ~std::uint64_t{63}).second) return;
  report(access.time_ns, access.stream_id, access.pa, smmu::to_string(access.purpose),
         "the SMMU read memory scrubbed at kexec: this table was not preserved");
}

}  // namespace smmuv3tlm::handover
