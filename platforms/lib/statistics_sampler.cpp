#include "smmuv3tlm/platforms/lib/statistics_sampler.h"

#include <fmt/format.h>

namespace smmuv3tlm::platform {

StatisticsSampler::StatisticsSampler(const sc_core::sc_module_name& name, ReferencePlatform& platform,
                                     const sc_core::sc_time& interval)
    : sc_core::sc_module(name), platform_(platform), interval_(interval) {
  SC_THREAD(run);
}

void StatisticsSampler::run() {
  sample();
  // Until the scenario ends (or fails): a periodic thread would otherwise keep
  // the simulation alive for ever.
  while (!platform_.finished() && platform_.error().empty()) {
    sc_core::wait(interval_);
    sample();
  }
}

void StatisticsSampler::sample() {
  smmu::Smmuv3& smmu = platform_.smmu();
  nlohmann::json bytes = nlohmann::json::object();
  for (unsigned port = 0; port < smmu.port_count(); ++port) {
    for (const auto& [sid, stream] : smmu.tbu(port).statistics().streams) {
      const std::string key = fmt::format("{:#x}", sid);
      bytes[key] = bytes.value(key, std::uint64_t{0}) + stream.bytes;
    }
  }
  const smmu::TranslationStatistics& t = smmu.translation().statistics();
  samples_.push_back({{"time_us", sc_core::sc_time_stamp().to_seconds() * 1e6},
                      {"tlb_hits", smmu.translation().tlb().statistics().hits},
                      {"tlb_misses", smmu.translation().tlb().statistics().misses},
                      {"walks", t.walks},
                      {"translations", t.translations},
                      {"bytes", bytes}});
}

nlohmann::json handover_timeline(ReferencePlatform& platform) {
  const auto& phases = platform.handover().phases();
  if (phases.empty()) return nullptr;
  nlohmann::json list = nlohmann::json::array();
  for (const handover::PhaseRecord& p : phases) {
    const sc_core::sc_time end = p.end == sc_core::SC_ZERO_TIME ? sc_core::sc_time_stamp() : p.end;
    list.push_back({{"phase", handover::to_string(p.phase)},
                    {"start_us", p.start.to_seconds() * 1e6},
                    {"end_us", end.to_seconds() * 1e6}});
  }
  nlohmann::json counters = nlohmann::json::object();
  for (handover::Phase phase : handover::kAllPhases) {
    const PhaseCounters& c = platform.phase_counters()[static_cast<std::size_t>(phase)];
    counters[handover::to_string(phase)] = {{"duration_us", c.duration.to_seconds() * 1e6},
                                            {"register_writes", c.register_writes},
                                            {"commands", c.commands},
                                            {"walks", c.walks},
                                            {"tlb_misses", c.tlb_misses},
                                            {"events", c.events}};
  }
  return {{"phases", list}, {"counters", counters}};
}

}  // namespace smmuv3tlm::platform
