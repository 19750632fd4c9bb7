// The walk cache (IHI 0070 §16.2.1 "walk caches"): table descriptors found by
// earlier walks, so a later walk resumes below them. One set-associative cache
// per stage and level, sized like gem5's SMMUv3 (walk_S1L0..walk_S2L2,
// walk_assoc, walk_policy) so architects can carry a configuration over. A
// level with 0 entries is not cached; level 3 holds only leaves in a VMSAv8-64
// walk (they live in the TLB), so it has no walk-cache level.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>

#include "smmuv3tlm/models/smmu/core/iotlb.h"

namespace smmuv3tlm::smmu {

struct WalkCacheGeometry {
  static constexpr unsigned kLevels = 3;  // table descriptors at levels 0, 1 and 2
  std::array<unsigned, kLevels> stage1_entries{4, 28, 348};  // gem5's defaults
  std::array<unsigned, kLevels> stage2_entries{4, 28, 92};
  unsigned ways = 4;
  Replacement replacement = Replacement::Lru;

  bool enabled() const;
  void disable();  // every level 0 entries
};

class WalkCache {
 public:
  explicit WalkCache(const WalkCacheGeometry& geometry);

  bool enabled() const { return enabled_; }
  // The table descriptor at `level` of a walk of `input`, for `tag`.
  const TlbEntry* lookup(bool stage2, int level, const TlbTag& tag, std::uint64_t input, unsigned size_log2);
  void insert(bool stage2, int level, const TlbEntry& entry);
  std::size_t invalidate_if(const std::function<bool(const TlbEntry&)>& match);
  void reset();
  void reset_statistics();

  // Inspection: summed over every level, or one level (nullptr when not cached).
  std::size_t valid_entries() const;
  TlbStatistics statistics() const;
  void for_each_valid(const std::function<void(const TlbEntry&)>& visit) const;
  const Iotlb* level(bool stage2, int level) const;
  const WalkCacheGeometry& geometry() const { return geometry_; }

 private:
  Iotlb* level_cache(bool stage2, int level);

  WalkCacheGeometry geometry_;
  std::array<std::unique_ptr<Iotlb>, 2 * WalkCacheGeometry::kLevels> levels_;
  bool enabled_ = false;
};

}  // namespace smmuv3tlm::smmu
