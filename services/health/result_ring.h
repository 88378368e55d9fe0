#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/clock/clock.h"

// The bounded window of recent results (issue 4): per target, one row per minute in a ring of
// 1440 slots (a day), each holding probe and success counts and a latency histogram over fixed
// log-scale buckets. Uptime and latency percentiles over any window up to 24h come from summing
// the rows of the window. This is the arithmetic; store.cc keeps the rows.
namespace flightdeck::health {

inline constexpr int kRingSlots = 1440;
// Bucket i holds latencies in (bound(i-1), bound(i)] with bound(i) = 0.5 ms * 2^(i/2): about
// ±20% resolution from 0.5 ms to 46 s; the last bucket takes everything slower.
inline constexpr int kLatencyBuckets = 35;

using LatencyHistogram = std::array<int64_t, kLatencyBuckets>;

double BucketUpperBoundMs(int bucket);
int LatencyBucket(double latency_ms);

long long MinuteOf(Clock::TimePoint t);  // minutes since the epoch
inline int SlotOf(long long minute) { return static_cast<int>(minute % kRingSlots); }

struct MinuteRow {
  long long minute = 0;
  int64_t probes = 0;
  int64_t successes = 0;
  LatencyHistogram latency{};
};

struct WindowFigures {
  int64_t probes = 0;
  int64_t successes = 0;
  double success_ratio = 0;  // 0 without probes
  double p50_ms = 0;
  double p99_ms = 0;
};

// Sums the rows whose minute is in [from_minute, to_minute].
WindowFigures Summarise(const std::vector<MinuteRow>& rows, long long from_minute, long long to_minute);

// The q-quantile (0..1) of a histogram, interpolated within its bucket; 0 when empty.
double Quantile(const LatencyHistogram& histogram, double q);

// "{1,0,3,...}": the int[] literal the store writes.
std::string HistogramLiteral(const LatencyHistogram& histogram);
LatencyHistogram ParseHistogramLiteral(const std::string& text);

}  // namespace flightdeck::health
