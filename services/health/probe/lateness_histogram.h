#pragma once

#include <array>
#include <cstdint>

// Constant-memory percentiles of scheduling lateness: log-spaced buckets (5% wide) from 10 µs
// to about 45 minutes, so that a long run at 10k targets costs the same as a short one.
namespace flightdeck::health::internal {

class LatenessHistogram {
 public:
  void Add(double ms);
  long long count() const { return count_; }
  double max_ms() const { return max_ms_; }
  // The upper bound of the bucket holding the q-quantile (q in [0, 1]); 0 when empty.
  double Quantile(double q) const;
  void Reset();

  static int BucketOf(double ms);
  static double UpperBoundMs(int bucket);
  static constexpr int kBuckets = 400;

 private:
  std::array<uint32_t, kBuckets> buckets_{};
  long long count_ = 0;
  double max_ms_ = 0;
};

}  // namespace flightdeck::health::internal
