// Replays `smmuv3-conformance/1` cases through a fresh platform each: sparse
// memory holding exactly the case's RAM, an SMMU advertising the case's ID
// registers, and a PCIe DMA master with the case's StreamID. The SMMU is
// programmed only through its register socket and memory, in the order the
// format's README gives, and every probe is judged against its expectation.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "smmuv3tlm/models/smmu/timing.h"

#include "smmuv3tlm/platforms/conformance/conformance_case.h"

namespace smmuv3tlm::conformance {

struct ProbeVerdict {
  std::uint32_t index = 0;
  bool read = true;
  std::uint64_t iova = 0;
  bool agrees = false;
  std::string expected;  // one-line descriptions
  std::string observed;
  std::string why;
};

struct CaseVerdict {
  std::string name;
  std::string file;
  std::string error;  // set when the case could not be run (malformed, unsupported SMMU)
  std::vector<ProbeVerdict> probes;
  std::size_t agreeing() const;
  bool passed() const { return error.empty() && agreeing() == probes.size(); }
};

// Runs every loaded case in one simulation (one platform per case, each with its
// own thread) and returns one verdict per case, in order. Must be called once
// per process, from sc_main, before sc_start.
// `timing` picks the SMMU's timing mode: the verdicts must not depend on it.
std::vector<CaseVerdict> run_cases(const std::vector<ConformanceCase>& cases,
                                   smmu::TimingMode timing = smmu::TimingMode::LooselyTimed);

}  // namespace smmuv3tlm::conformance
