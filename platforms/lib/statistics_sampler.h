// Statistics over time: every `interval` of simulated time while the
// platform's CPU runs its scenario, a sample of the cumulative counters behind
// "hit rates over time" and "throughput per stream" (IOTLB hits and misses,
// walks, translations, bytes per StreamID). smmu-sim --stats-interval puts the
// samples in the statistics JSON under "timeline"; tools/smmu-plot plots them.
#pragma once

#include <cstdint>

#include <nlohmann/json.hpp>
#include <systemc>

#include "smmuv3tlm/platforms/lib/reference_platform.h"

namespace smmuv3tlm::platform {

class StatisticsSampler : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(StatisticsSampler);
  StatisticsSampler(const sc_core::sc_module_name& name, ReferencePlatform& platform, const sc_core::sc_time& interval);
  // [{"time_us", "tlb_hits", "tlb_misses", "walks", "translations", "bytes": {"0x10": n, ...}}, ...]
  const nlohmann::json& samples() const { return samples_; }

 private:
  void run();
  void sample();

  ReferencePlatform& platform_;
  sc_core::sc_time interval_;
  nlohmann::json samples_ = nlohmann::json::array();
};

// The handover phases of a run ({"phases": [{"phase", "start_us", "end_us"}], "counters": {...}}),
// or null when there was none.
nlohmann::json handover_timeline(ReferencePlatform& platform);

}  // namespace smmuv3tlm::platform
