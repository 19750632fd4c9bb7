#include "smmuv3tlm/models/smmu/smmuv3_parameters.h"

#include <algorithm>
#include <array>
#include <cmath>

#include <fmt/format.h>

namespace smmuv3tlm::smmu {

namespace {

using P = config::Parameter<Smmuv3Config>;

// A latency in nanoseconds stored in an sc_time member of the timing block
// (`member(config)` names it).
template <typename Get>
P latency(std::string key, std::string help, Get member) {
  return P{key, help,
           [member](Smmuv3Config& c, const nlohmann::json& v) {
             if (!v.is_number() || v.get<double>() < 0 || v.get<double>() > 1e9) {
               throw std::invalid_argument("must be a number of nanoseconds in [0, 1e9], got " + v.dump());
             }
             member(c) = sc_core::sc_time(v.get<double>(), sc_core::SC_NS);
           },
           [member](const Smmuv3Config& c) {
             Smmuv3Config copy = c;  // `member` names a field of a mutable config
             // Rounded to the femtosecond: 3 ns reads 3, not 3.0000000000000004.
             return nlohmann::json(std::round(member(copy).to_seconds() * 1e15) / 1e6);
           }};
}
P latency(std::string key, std::string help, sc_core::sc_time Smmuv3Timing::*field) {
  return latency(std::move(key), std::move(help), [field](Smmuv3Config& c) -> sc_core::sc_time& { return c.timing.*field; });
}
P at_latency(std::string key, std::string help, sc_core::sc_time ApproximateTiming::*field) {
  return latency(std::move(key), std::move(help),
                 [field](Smmuv3Config& c) -> sc_core::sc_time& { return c.timing.at.*field; });
}

// An unsigned member of a nested struct (TLB or walk-cache geometry).
template <typename Get>
P count(std::string key, std::string help, Get member, unsigned min, unsigned max) {
  return P{key, help,
           [member, min, max](Smmuv3Config& c, const nlohmann::json& v) {
             if (!v.is_number_integer() || v.get<std::int64_t>() < min || v.get<std::int64_t>() > max) {
               throw std::invalid_argument("must be an integer in [" + std::to_string(min) + ", " +
                                           std::to_string(max) + "], got " + v.dump());
             }
             member(c) = v.get<unsigned>();
           },
           [member](const Smmuv3Config& c) {
             Smmuv3Config copy = c;  // `member` names a field of a mutable config
             return nlohmann::json(member(copy));
           }};
}

template <typename Get>
P replacement(std::string key, std::string help, Get member) {
  return P{key, help,
           [member](Smmuv3Config& c, const nlohmann::json& v) {
             Replacement r;
             if (!v.is_string() || !parse_replacement(v.get<std::string>(), r)) {
               throw std::invalid_argument("must be lru, random or round-robin, got " + v.dump());
             }
             member(c) = r;
           },
           [member](const Smmuv3Config& c) {
             Smmuv3Config copy = c;
             return nlohmann::json(to_string(member(copy)));
           }};
}

const char* preset_name(const Capabilities& caps) {
  for (const char* name : {"mmu-600", "mmu-700", "qemu-virt"}) {
    if (Capabilities::preset(name) == caps) return name;
  }
  return nullptr;
}

}  // namespace

const std::vector<P>& smmu_parameters() {
  constexpr unsigned kMaxEntries = 1u << 20;
  static const std::vector<P> table = [] {
    std::vector<P> t = {
        P{"capabilities",
          "ID-register capabilities: a preset name (mmu-600, mmu-700, qemu-virt), or an object of named fields "
          "with an optional \"preset\" to start from",
          [](Smmuv3Config& c, const nlohmann::json& v) {
            if (v.is_string()) {
              const auto caps = Capabilities::preset(v.get<std::string>());
              if (!caps) {
                throw std::invalid_argument("must name a preset (mmu-600, mmu-700, qemu-virt), got " +
                                            v.dump());
              }
              c.capabilities = *caps;
            } else if (v.is_object()) {
              c.capabilities = v.get<Capabilities>();
            } else {
              throw std::invalid_argument("must be a preset name or an object, got " + v.dump());
            }
          },
          [](const Smmuv3Config& c) {
            const char* name = preset_name(c.capabilities);
            return name != nullptr ? nlohmann::json(name) : nlohmann::json(c.capabilities);
          }},
        count("tlb.entries", "main TLB entries", [](Smmuv3Config& c) -> unsigned& { return c.translation.tlb.entries; },
              1, kMaxEntries),
        count("tlb.ways", "main TLB associativity: divides tlb.entries; as many as the entries or more: fully associative",
              [](Smmuv3Config& c) -> unsigned& { return c.translation.tlb.ways; }, 1, kMaxEntries),
        replacement("tlb.replacement", "main TLB replacement: lru, random or round-robin",
                    [](Smmuv3Config& c) -> Replacement& { return c.translation.tlb.replacement; }),
        count("micro_tlb.entries",
              "micro-TLB entries per TBU, replaced round robin; the one that answered last is looked at first "
              "(gem5 utlb_entries)",
              [](Smmuv3Config& c) -> unsigned& { return c.micro_tlb_entries; }, 1, 64),
        count("config_cache.entries", "cached STEs (and, separately, CDs); least recently used replaced",
              [](Smmuv3Config& c) -> unsigned& { return c.translation.config_cache_entries; }, 1, kMaxEntries),
        count("walk_cache.ways", "walk-cache associativity, every level: divides each level's entries (or is at least as many)",
              [](Smmuv3Config& c) -> unsigned& { return c.translation.walk_cache.ways; }, 1, kMaxEntries),
        replacement("walk_cache.replacement", "walk-cache replacement: lru, random or round-robin",
                    [](Smmuv3Config& c) -> Replacement& { return c.translation.walk_cache.replacement; }),
        P{"timing",
          "lt: loosely timed (b_transport, latencies annotated; the default) or at: approximately timed "
          "(nb_transport with the base protocol too; micro-TLB, TBU-TCU, TLB and walk-cache latencies waited "
          "for; walks contend for the TCU's walk slots; requests to a page whose walk is in flight merged)",
          [](Smmuv3Config& c, const nlohmann::json& v) {
            if (v == "lt") {
              c.timing.mode = TimingMode::LooselyTimed;
            } else if (v == "at") {
              c.timing.mode = TimingMode::ApproximatelyTimed;
            } else {
              throw std::invalid_argument("must be lt or at, got " + v.dump());
            }
          },
          [](const Smmuv3Config& c) {
            return nlohmann::json(c.timing.mode == TimingMode::LooselyTimed ? "lt" : "at");
          }},
        count("tbu.outstanding",
              "at: transactions each TBU accepts at once before END_REQ waits (gem5 SMMUv3DeviceInterface.xlate_slots)",
              [](Smmuv3Config& c) -> unsigned& { return c.timing.at.tbu_outstanding; }, 1, 256),
        count("tcu.walk_slots", "at: table walks the TCU runs at once (gem5 ptw_slots)",
              [](Smmuv3Config& c) -> unsigned& { return c.timing.at.walk_slots; }, 1, 256),
        at_latency("timing.utlb_lookup_ns", "at: TBU micro-TLB lookup (gem5 utlb_lat)", &ApproximateTiming::utlb_lookup),
        at_latency("timing.tbu_to_tcu_ns", "at: a micro-TLB miss's trip to the TCU (gem5 ifc_smmu_lat)",
                   &ApproximateTiming::tbu_to_tcu),
        at_latency("timing.tcu_to_tbu_ns", "at: the TCU's answer's trip back (gem5 smmu_ifc_lat)",
                   &ApproximateTiming::tcu_to_tbu),
        at_latency("timing.tlb_lookup_ns", "at: main TLB lookup in the TCU (gem5 tlb_lat)", &ApproximateTiming::tlb_lookup),
        at_latency("timing.walk_cache_lookup_ns", "at: walk-cache lookup, once per stage walk, its levels together (gem5 walk_lat)",
                   &ApproximateTiming::walk_cache_lookup),
        latency("timing.tlb_hit_ns", "lt: latency added to every translated piece", &Smmuv3Timing::tlb_hit_latency),
        latency("timing.register_access_ns", "latency of a register access", &Smmuv3Timing::register_access_latency),
        latency("timing.ack_delay_ns", "CR0ACK / GBPA / IRQ_CTRLACK acknowledge delay", &Smmuv3Timing::ack_delay),
        latency("timing.command_ns", "cost of each command before it completes", &Smmuv3Timing::command_latency),
        config::boolean<Smmuv3Config>("dmi", "grant DMI to upstream masters", &Smmuv3Config::dmi),
        config::boolean<Smmuv3Config>("unpredictable_writes_are_errors",
                                      "a CONSTRAINED UNPREDICTABLE register write (CR1, CR2, STRTAB_BASE* with "
                                      "SMMUEN=1, ...) is ignored and reported as an error (SC_ERROR); false: the "
                                      "tolerant behaviour, ignored with a warning",
                                      &Smmuv3Config::unpredictable_writes_are_errors),
    };
    // gem5's walk_S1L0..walk_S2L2: one size per stage and level.
    for (unsigned stage = 1; stage <= 2; ++stage) {
      for (unsigned level = 0; level < WalkCacheGeometry::kLevels; ++level) {
        const std::string key = "walk_cache.s" + std::to_string(stage) + "l" + std::to_string(level);
        t.push_back(count(key,
                          "walk-cache entries for stage-" + std::to_string(stage) + " level-" + std::to_string(level) +
                              " table descriptors; 0 caches none",
                          [stage, level](Smmuv3Config& c) -> unsigned& {
                            auto& w = c.translation.walk_cache;
                            return (stage == 1 ? w.stage1_entries : w.stage2_entries)[level];
                          },
                          0, kMaxEntries));
      }
    }
    return t;
  }();
  return table;
}

std::string cache_geometry_problem(const Smmuv3Config& config, const std::string& instance) {
  // Caches are sets of equal ways: the ways must divide the entries, or the
  // cache would silently hold fewer entries than asked for. As many ways as
  // entries or more is one fully associative set (Iotlb clamps the ways).
  const auto uneven = [](unsigned entries, unsigned ways) { return ways < entries && entries % ways != 0; };
  const TlbGeometry& tlb = config.translation.tlb;
  if (uneven(tlb.entries, tlb.ways)) {
    return fmt::format("{0}.tlb.ways: {1} ways do not divide {0}.tlb.entries {2} (sets of {1} ways each); pick "
                       "entries a multiple of the ways",
                       instance, tlb.ways, tlb.entries);
  }
  const WalkCacheGeometry& walk = config.translation.walk_cache;
  for (unsigned stage = 1; stage <= 2; ++stage) {
    for (unsigned level = 0; level < WalkCacheGeometry::kLevels; ++level) {
      const unsigned entries = (stage == 1 ? walk.stage1_entries : walk.stage2_entries)[level];
      if (uneven(entries, walk.ways)) {
        return fmt::format("{0}.walk_cache.s{1}l{2}: {3} entries are not a multiple of {0}.walk_cache.ways {4} "
                           "(sets of equal ways; 0 caches none)",
                           instance, stage, level, entries, walk.ways);
      }
    }
  }
  return {};
}

std::vector<std::string> apply_smmu_settings(Smmuv3Config& config, const std::string& instance,
                                             const nlohmann::json& settings) {
  std::vector<std::string> used = config::apply(config, smmu_parameters(), settings, instance);
  // Checked when a geometry key was given (a configuration built in C++ keeps
  // whatever geometry it chose).
  const bool geometry_given = std::any_of(used.begin(), used.end(), [&](const std::string& key) {
    return key.rfind(instance + ".tlb.", 0) == 0 || key.rfind(instance + ".walk_cache.", 0) == 0;
  });
  if (geometry_given) {
    if (std::string problem = cache_geometry_problem(config, instance); !problem.empty()) {
      throw std::invalid_argument(problem);
    }
  }
  return used;
}

}  // namespace smmuv3tlm::smmu
