#include "services/health/result_ring.h"

#include <cmath>
#include <cstdlib>

namespace flightdeck::health {

double BucketUpperBoundMs(int bucket) { return 0.5 * std::pow(2.0, bucket / 2.0); }

int LatencyBucket(double latency_ms) {
  for (int i = 0; i < kLatencyBuckets - 1; ++i) {
    if (latency_ms <= BucketUpperBoundMs(i)) return i;
  }
  return kLatencyBuckets - 1;
}

long long MinuteOf(Clock::TimePoint t) {
  long long seconds = std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  return seconds >= 0 ? seconds / 60 : (seconds - 59) / 60;
}

double Quantile(const LatencyHistogram& h, double q) {
  int64_t total = 0;
  for (int64_t c : h) total += c;
  if (total == 0) return 0;
  double rank = q * static_cast<double>(total);
  int64_t below = 0;
  for (int i = 0; i < kLatencyBuckets; ++i) {
    if (h[i] == 0) continue;
    if (static_cast<double>(below + h[i]) >= rank) {
      double lower = i == 0 ? 0 : BucketUpperBoundMs(i - 1);
      // The overflow bucket has no upper bound: report its lower edge rather than invent one.
      double upper = i == kLatencyBuckets - 1 ? lower : BucketUpperBoundMs(i);
      double fraction = (rank - static_cast<double>(below)) / static_cast<double>(h[i]);
      return lower + (upper - lower) * fraction;
    }
    below += h[i];
  }
  return BucketUpperBoundMs(kLatencyBuckets - 2);
}

WindowFigures Summarise(const std::vector<MinuteRow>& rows, long long from_minute, long long to_minute) {
  WindowFigures f;
  LatencyHistogram sum{};
  for (const MinuteRow& r : rows) {
    if (r.minute < from_minute || r.minute > to_minute) continue;
    f.probes += r.probes;
    f.successes += r.successes;
    for (int i = 0; i < kLatencyBuckets; ++i) sum[i] += r.latency[i];
  }
  if (f.probes > 0) f.success_ratio = static_cast<double>(f.successes) / static_cast<double>(f.probes);
  f.p50_ms = Quantile(sum, 0.50);
  f.p99_ms = Quantile(sum, 0.99);
  return f;
}

std::string HistogramLiteral(const LatencyHistogram& h) {
  std::string out = "{";
  for (int i = 0; i < kLatencyBuckets; ++i) {
    if (i > 0) out += ',';
    out += std::to_string(h[i]);
  }
  return out + "}";
}

LatencyHistogram ParseHistogramLiteral(const std::string& text) {
  LatencyHistogram h{};
  const char* p = text.c_str();
  int i = 0;
  while (*p != '\0' && i < kLatencyBuckets) {
    if (*p >= '0' && *p <= '9') {
      char* end = nullptr;
      h[i++] = std::strtoll(p, &end, 10);
      p = end;
    } else {
      ++p;
    }
  }
  return h;
}

}  // namespace flightdeck::health
