// Cross-key rules of the SMMU's configuration keys (smmuv3_parameters.h).
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "smmuv3tlm/models/smmu/smmuv3_parameters.h"

namespace smmuv3tlm {
namespace {

// Found by the robustness issue: 5 ways over 1024 entries ran with 1020.
TEST(ConfigurationKeys, CacheWaysMustDivideTheEntries) {
  const auto refused = [](const nlohmann::json& settings, const std::string& key) {
    smmu::Smmuv3Config config;
    try {
      smmu::apply_smmu_settings(config, "smmu", settings);
      ADD_FAILURE() << settings.dump() << " was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_EQ(std::string(e.what()).rfind(key, 0), 0U) << e.what();
    }
  };
  refused({{"smmu.tlb.ways", 5}}, "smmu.tlb.ways");
  refused({{"smmu.tlb.entries", 1001}}, "smmu.tlb.ways");  // 4 ways do not divide 1001
  refused({{"smmu.walk_cache.ways", 8}}, "smmu.walk_cache.s1l1");  // 28 entries: 3 sets of 8 hold 24
  refused({{"smmu.walk_cache.s2l2", 90}}, "smmu.walk_cache.s2l2");
  smmu::Smmuv3Config config;
  EXPECT_NO_THROW(smmu::apply_smmu_settings(config, "smmu", {{"smmu.tlb.entries", 12}, {"smmu.tlb.ways", 3}}));
  EXPECT_EQ(config.translation.tlb.entries, 12U);
  EXPECT_NO_THROW(smmu::apply_smmu_settings(config, "smmu", {{"smmu.walk_cache.s1l0", 0}}));  // none cached
  // Fewer entries than ways: one fully associative set, nothing lost.
  EXPECT_NO_THROW(smmu::apply_smmu_settings(config, "smmu", {{"smmu.tlb.entries", 1}, {"smmu.tlb.ways", 4}}));
  // A geometry chosen in C++ and no geometry key: taken as it is.
  smmu::Smmuv3Config tiny;
  tiny.translation.tlb.entries = 6;
  EXPECT_NO_THROW(smmu::apply_smmu_settings(tiny, "smmu", {{"smmu.dmi", false}}));
  EXPECT_NE(smmu::cache_geometry_problem(tiny, "smmu"), "");
}

}  // namespace
}  // namespace smmuv3tlm
