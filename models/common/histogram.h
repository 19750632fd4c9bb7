// A histogram cheap enough for the translation hit path: power-of-two buckets
// of a base unit (bucket 0 holds 0, bucket b holds [2^(b-1), 2^b)), with
// count, sum, minimum and maximum. Latencies are added in picoseconds and
// dumped in nanoseconds (the default); other quantities (queue occupancy in
// entries) name their own unit and scale. The dump has the mean, percentiles
// estimated from the buckets (a bucket's upper bound), and each non-empty bucket.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>

#include <nlohmann/json.hpp>

namespace smmuv3tlm::stats {

class Histogram {
 public:
  static constexpr unsigned kBuckets = 64;

  Histogram() = default;  // latencies: picoseconds in, nanoseconds out
  // `unit` names what a dumped value is; a value added is multiplied by `scale` to get it.
  Histogram(const char* unit, double scale) : unit_(unit), scale_(scale) {}

  void add(std::uint64_t picoseconds) { add_repeated(picoseconds, 1); }
  // `times` samples of one value at once (a caller that batches repeats).
  void add_repeated(std::uint64_t picoseconds, std::uint64_t times) {
    const unsigned b = picoseconds == 0 ? 0 : 64 - static_cast<unsigned>(__builtin_clzll(picoseconds));
    buckets_[std::min(b, kBuckets - 1)] += times;
    count_ += times;
    sum_ += picoseconds * times;
    min_ = std::min(min_, picoseconds);
    max_ = std::max(max_, picoseconds);
  }
  std::uint64_t count() const { return count_; }
  double mean_ps() const { return count_ == 0 ? 0.0 : static_cast<double>(sum_) / static_cast<double>(count_); }
  std::uint64_t min_ps() const { return count_ == 0 ? 0 : min_; }
  std::uint64_t max_ps() const { return max_; }
  // The upper bound (ps) of the bucket holding the q-quantile (0 < q <= 1).
  std::uint64_t quantile_upper_ps(double q) const;
  const std::array<std::uint64_t, kBuckets>& buckets() const { return buckets_; }
  // {"unit": "ns", "count", "mean", "min", "max", "p50", "p90", "p99",
  //  "buckets": [{"upper": ..., "count": ...}, ...]} (non-empty buckets only; values in `unit`).
  nlohmann::json to_json() const;

 private:
  const char* unit_ = "ns";
  double scale_ = 1e-3;
  std::array<std::uint64_t, kBuckets> buckets_{};
  std::uint64_t count_ = 0;
  std::uint64_t sum_ = 0;
  std::uint64_t min_ = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t max_ = 0;
};

}  // namespace smmuv3tlm::stats
