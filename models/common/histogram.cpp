#include "smmuv3tlm/models/common/histogram.h"

#include <cmath>

namespace smmuv3tlm::stats {

namespace {
// The largest value bucket b holds (its bound, exclusive, less one).
std::uint64_t bucket_upper(unsigned b) {
  if (b == 0) return 0;
  return b >= 64 ? std::numeric_limits<std::uint64_t>::max() : (std::uint64_t{1} << b) - 1;
}
}  // namespace

std::uint64_t Histogram::quantile_upper_ps(double q) const {
  if (count_ == 0) return 0;
  const auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
  std::uint64_t seen = 0;
  for (unsigned b = 0; b < kBuckets; ++b) {
    seen += buckets_[b];
    if (seen >= rank) return std::min(bucket_upper(b), max_);
  }
  return max_;
}

nlohmann::json Histogram::to_json() const {
  const auto ns = [this](double value) { return value * scale_; };
  nlohmann::json j = {{"unit", unit_},
                      {"count", count_},
                      {"mean", ns(mean_ps())},
                      {"min", ns(static_cast<double>(min_ps()))},
                      {"max", ns(static_cast<double>(max_))},
                      {"p50", ns(static_cast<double>(quantile_upper_ps(0.5)))},
                      {"p90", ns(static_cast<double>(quantile_upper_ps(0.9)))},
                      {"p99", ns(static_cast<double>(quantile_upper_ps(0.99)))}};
  nlohmann::json buckets = nlohmann::json::array();
  for (unsigned b = 0; b < kBuckets; ++b) {
    if (buckets_[b] != 0) buckets.push_back({{"upper", ns(static_cast<double>(bucket_upper(b)))}, {"count", buckets_[b]}});
  }
  j["buckets"] = buckets;
  return j;
}

}  // namespace smmuv3tlm::stats
