#include "smmuv3tlm/models/smmu/core/walk_cache.h"

namespace smmuv3tlm::smmu {

bool WalkCacheGeometry::enabled() const {
  for (unsigned i = 0; i < kLevels; ++i) {
    if (stage1_entries[i] != 0 || stage2_entries[i] != 0) return true;
  }
  return false;
}

void WalkCacheGeometry::disable() {
  stage1_entries.fill(0);
  stage2_entries.fill(0);
}

WalkCache::WalkCache(const WalkCacheGeometry& geometry) : geometry_(geometry), enabled_(geometry.enabled()) {
  for (unsigned stage = 0; stage < 2; ++stage) {
    for (unsigned level = 0; level < WalkCacheGeometry::kLevels; ++level) {
      const unsigned entries = (stage == 0 ? geometry_.stage1_entries : geometry_.stage2_entries)[level];
      if (entries == 0) continue;
      levels_[stage * WalkCacheGeometry::kLevels + level] =
          std::make_unique<Iotlb>(TlbGeometry{entries, geometry_.ways, geometry_.replacement});
    }
  }
}

Iotlb* WalkCache::level_cache(bool stage2, int level) {
  if (level < 0 || level >= static_cast<int>(WalkCacheGeometry::kLevels)) return nullptr;
  return levels_[(stage2 ? WalkCacheGeometry::kLevels : 0) + static_cast<unsigned>(level)].get();
}

const Iotlb* WalkCache::level(bool stage2, int level) const {
  return const_cast<WalkCache*>(this)->level_cache(stage2, level);
}

const TlbEntry* WalkCache::lookup(bool stage2, int level, const TlbTag& tag, std::uint64_t input,
                                  unsigned size_log2) {
  Iotlb* cache = level_cache(stage2, level);
  return cache != nullptr ? cache->lookup_exact(tag, input, size_log2) : nullptr;
}

void WalkCache::insert(bool stage2, int level, const TlbEntry& entry) {
  if (Iotlb* cache = level_cache(stage2, level)) cache->insert(entry);
}

std::size_t WalkCache::invalidate_if(const std::function<bool(const TlbEntry&)>& match) {
  std::size_t removed = 0;
  for (auto& cache : levels_) {
    if (cache) removed += cache->invalidate_if(match);
  }
  return removed;
}

void WalkCache::reset() {
  for (auto& cache : levels_) {
    if (cache) cache->reset();
  }
}

void WalkCache::reset_statistics() {
  for (auto& cache : levels_) {
    if (cache) cache->reset_statistics();
  }
}

std::size_t WalkCache::valid_entries() const {
  std::size_t n = 0;
  for (const auto& cache : levels_) {
    if (cache) n += cache->valid_entries();
  }
  return n;
}

TlbStatistics WalkCache::statistics() const {
  TlbStatistics total;
  for (const auto& cache : levels_) {
    if (!cache) continue;
    const TlbStatistics& s = cache->statistics();
    total.lookups += s.lookups;
    total.hits += s.hits;
    total.misses += s.misses;
    total.insertions += s.insertions;
    total.evictions += s.evictions;
    total.invalidated += s.invalidated;
  }
  return total;
}

void WalkCache::for_each_valid(const std::function<void(const TlbEntry&)>& visit) const {
  for (const auto& cache : levels_) {
    if (cache) cache->for_each_valid(visit);
  }
}

}  // namespace smmuv3tlm::smmu
