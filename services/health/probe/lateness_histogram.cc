#include "services/health/probe/lateness_histogram.h"

#include <algorithm>
#include <cmath>

namespace flightdeck::health::internal {
namespace {

constexpr double kFloorMs = 0.01;  // bucket 0 holds everything up to 10 µs
constexpr double kGrowth = 1.05;

}  // namespace

int LatenessHistogram::BucketOf(double ms) {
  if (ms <= kFloorMs) return 0;
  int b = static_cast<int>(std::ceil(std::log(ms / kFloorMs) / std::log(kGrowth)));
  return std::clamp(b, 0, kBuckets - 1);
}

double LatenessHistogram::UpperBoundMs(int bucket) {
  return kFloorMs * std::pow(kGrowth, bucket);
}

void LatenessHistogram::Add(double ms) {
  if (ms < 0) ms = 0;
  ++buckets_[BucketOf(ms)];
  ++count_;
  max_ms_ = std::max(max_ms_, ms);
}

double LatenessHistogram::Quantile(double q) const {
  if (count_ == 0) return 0;
  long long rank = static_cast<long long>(std::ceil(q * static_cast<double>(count_)));
  rank = std::clamp<long long>(rank, 1, count_);
  long long seen = 0;
  for (int b = 0; b < kBuckets; ++b) {
    seen += buckets_[b];
    if (seen >= rank) return std::min(UpperBoundMs(b), max_ms_);
  }
  return max_ms_;
}

void LatenessHistogram::Reset() {
  buckets_.fill(0);
  count_ = 0;
  max_ms_ = 0;
}

}  // namespace flightdeck::health::internal
