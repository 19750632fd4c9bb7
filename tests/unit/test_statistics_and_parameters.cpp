// The statistics registry (groups by hierarchical name, prefix dumps, removal
// with the owner) and configuration keys (ranges, unknown keys, instance
// prefixes so two SMMUs read their own keys from one settings object).
#include <gtest/gtest.h>

#include "smmuv3tlm/models/common/parameter.h"
#include "smmuv3tlm/models/common/statistics.h"

namespace smmuv3tlm {
namespace {

struct Counters {
  std::uint64_t hits = 0;
  std::array<std::uint64_t, 2> per_level{};
};
inline auto statistic_fields(const Counters&) {
  return std::make_tuple(stats::field("hits", &Counters::hits), stats::field("per_level", &Counters::per_level));
}

TEST(StatisticsRegistry, GroupsAreKeyedByHierarchicalNameAndLeaveWithTheirOwner) {
  Counters a;
  a.hits = 3;
  a.per_level = {1, 2};
  {
    stats::Registration registration;
    registration.add_struct("top.unit", a);
    registration.add("top.unit.child", [] { return nlohmann::json{{"x", 1}}; });
    registration.add("topology", [] { return nlohmann::json{{"y", 2}}; });
    const nlohmann::json all = stats::Registry::global().dump();
    EXPECT_EQ(all.at("top.unit").at("hits"), 3);
    EXPECT_EQ(all.at("top.unit").at("per_level"), nlohmann::json::array({1, 2}));
    const nlohmann::json below = stats::Registry::global().dump("top.unit");
    EXPECT_EQ(below.size(), 2u) << "the group and its child, not 'topology'";
    a.hits = 4;  // producers read the live counters
    EXPECT_EQ(stats::Registry::global().dump("top").at("top.unit").at("hits"), 4);
  }
  EXPECT_FALSE(stats::Registry::global().contains("top.unit"));
  EXPECT_FALSE(stats::Registry::global().contains("topology"));
}

struct Timed {
  std::uint64_t walks = 0;
  stats::Histogram latency;
  stats::Histogram occupancy{"entries", 1.0};
};
inline auto statistic_fields(const Timed&) {
  return std::make_tuple(stats::field("walks", &Timed::walks), stats::field("latency", &Timed::latency),
                         stats::field("occupancy", &Timed::occupancy));
}

TEST(StatisticsHistogram, PowerOfTwoBucketsWithMeanExtremesAndPercentiles) {
  stats::Histogram h;  // picoseconds in, nanoseconds out
  for (std::uint64_t ps : {0ull, 1000ull, 1000ull, 3000ull, 10000ull}) h.add(ps);
  EXPECT_EQ(h.count(), 5u);
  EXPECT_DOUBLE_EQ(h.mean_ps(), 3000.0);
  EXPECT_EQ(h.min_ps(), 0u);
  EXPECT_EQ(h.max_ps(), 10000u);
  // 1000 ps lies in [512, 1024): bucket 10; 3000 in [2048, 4096); 10000 in [8192, 16384).
  EXPECT_EQ(h.buckets()[0], 1u);
  EXPECT_EQ(h.buckets()[10], 2u);
  EXPECT_EQ(h.buckets()[12], 1u);
  EXPECT_EQ(h.buckets()[14], 1u);
  EXPECT_EQ(h.quantile_upper_ps(0.5), 1023u) << "the median's bucket bound";
  EXPECT_EQ(h.quantile_upper_ps(1.0), 10000u) << "never beyond the maximum";
  const nlohmann::json j = h.to_json();
  EXPECT_EQ(j.at("unit"), "ns");
  EXPECT_DOUBLE_EQ(j.at("mean").get<double>(), 3.0);
  EXPECT_DOUBLE_EQ(j.at("max").get<double>(), 10.0);
  EXPECT_EQ(j.at("buckets").size(), 4u) << "only non-empty buckets";
  stats::Histogram empty;
  EXPECT_EQ(empty.to_json().at("count"), 0);
  EXPECT_EQ(empty.to_json().at("min"), 0.0);
}

TEST(StatisticsRegistry, ResettableGroupsStartAgainAtAPhaseBoundary) {
  Timed timed;
  Counters fixed;
  stats::Registration registration;
  registration.add_struct("soc.tcu", timed);
  registration.add_struct("soc.other", static_cast<const Counters&>(fixed));  // read-only: never reset
  timed.walks = 7;
  timed.latency.add(5000);
  timed.occupancy.add(3);
  fixed.hits = 2;
  EXPECT_EQ(stats::Registry::global().dump("soc").at("soc.tcu").at("occupancy").at("unit"), "entries");
  EXPECT_EQ(stats::Registry::global().reset("soc.tcu"), 1u);
  EXPECT_EQ(timed.walks, 0u);
  EXPECT_EQ(timed.latency.count(), 0u);
  EXPECT_EQ(stats::Registry::global().dump("soc").at("soc.tcu").at("occupancy").at("unit"), "entries")
      << "a reset keeps each histogram's unit";
  EXPECT_EQ(stats::Registry::global().reset("soc"), 1u) << "the read-only group is not reset";
  EXPECT_EQ(fixed.hits, 2u);
}

struct Settings {
  unsigned entries = 16;
  double latency = 1.0;
  bool enabled = false;
};
const std::vector<config::Parameter<Settings>>& table() {
  static const std::vector<config::Parameter<Settings>> t = {
      config::number<Settings>("cache.entries", "entries", &Settings::entries, 1, 1024),
      config::number<Settings>("latency_ns", "latency", &Settings::latency, 0, 100),
      config::boolean<Settings>("enabled", "on", &Settings::enabled)};
  return t;
}

TEST(ConfigurationKeys, ValuesAreCheckedAgainstTheirRangeAndTheFullKeyIsNamed) {
  Settings s;
  config::apply(s, table(), nlohmann::json{{"cache.entries", 64}, {"latency_ns", 2.5}, {"enabled", true}});
  EXPECT_EQ(s.entries, 64u);
  EXPECT_DOUBLE_EQ(s.latency, 2.5);
  EXPECT_TRUE(s.enabled);
  for (const nlohmann::json& bad : {nlohmann::json{{"cache.entries", 0}}, nlohmann::json{{"cache.entries", 2.5}},
                                    nlohmann::json{{"cache.entries", "8"}}, nlohmann::json{{"latency_ns", -1}},
                                    nlohmann::json{{"enabled", 1}}}) {
    try {
      config::apply(s, table(), bad);
      ADD_FAILURE() << bad.dump() << " was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(bad.items().begin().key()), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(config::apply(s, table(), nlohmann::json{{"cache.size", 1}}), std::invalid_argument);
  EXPECT_THROW(config::apply(s, table(), nlohmann::json::array()), std::invalid_argument);
}

TEST(ConfigurationKeys, AnInstancePrefixTakesOnlyItsOwnKeys) {
  const nlohmann::json settings = {{"a.cache.entries", 8}, {"b.cache.entries", 32}, {"platform.x", 1}};
  Settings a;
  Settings b;
  EXPECT_EQ(config::apply(a, table(), settings, "a"), std::vector<std::string>{"a.cache.entries"});
  config::apply(b, table(), settings, "b");
  EXPECT_EQ(a.entries, 8u);
  EXPECT_EQ(b.entries, 32u);
  EXPECT_THROW(config::apply(a, table(), nlohmann::json{{"a.bogus", 1}}, "a"), std::invalid_argument);
}

}  // namespace
}  // namespace smmuv3tlm
