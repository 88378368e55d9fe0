#include "services/releases/canary_analysis.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace flightdeck::releases {
namespace {

// Error counts are compared as errors <= max_rate * requests. The product of two doubles can
// land a hair above or below the exact value (0.05 is not representable), so an error count
// exactly at the limit is given a relative slack far below one error at any realistic volume.
constexpr double kRelativeTolerance = 1e-12;

std::string Fixed(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

// "4.90%" and "5.00%"; with more decimals when two decimals would print a passing and a failing
// rate the same ("5.00% > 5.00%" would read as a bug to whoever looks at the timeline).
std::pair<std::string, std::string> PercentPair(double rate, double limit) {
  for (int decimals = 2; decimals < 8; ++decimals) {
    std::string a = Fixed(rate * 100, decimals);
    std::string b = Fixed(limit * 100, decimals);
    if (a != b || rate == limit) return {a + "%", b + "%"};
  }
  return {Fixed(rate * 100, 8) + "%", Fixed(limit * 100, 8) + "%"};
}

// Milliseconds without noise: 950 -> "950", 812.5 -> "812.5".
std::string Millis(double ms) {
  std::string s = Fixed(ms, 3);
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

Judgement Verdicted(Verdict verdict, std::string reason, double error_rate = 0) {
  Judgement j;
  j.verdict = verdict;
  j.reason = std::move(reason);
  j.error_rate = error_rate;
  return j;
}

}  // namespace

const char* VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kPass:
      return "PASS";
    case Verdict::kFail:
      return "FAIL";
    case Verdict::kInconclusive:
      return "INCONCLUSIVE";
  }
  return "INCONCLUSIVE";
}

Judgement Judge(const std::optional<Observation>& observation, const Thresholds& thresholds,
                const std::string& no_data_reason) {
  if (!observation) {
    if (no_data_reason.empty() || no_data_reason == "no data") {
      return Verdicted(Verdict::kInconclusive, "no data");
    }
    return Verdicted(Verdict::kInconclusive, "no data: " + no_data_reason);
  }
  const Observation& o = *observation;
  const std::string counts =
      std::to_string(o.errors) + " errors / " + std::to_string(o.requests) + " requests";

  // The service validates observations; a source that still hands over nonsense must not be
  // read as healthy.
  if (o.requests < 0 || o.errors < 0) {
    return Verdicted(Verdict::kFail, "invalid observation: negative count (" + counts + ")");
  }
  if (o.errors > o.requests) {
    return Verdicted(Verdict::kFail,
                     "invalid observation: more errors than requests (" + counts + ")");
  }
  if (o.p99_latency_ms && (!std::isfinite(*o.p99_latency_ms) || *o.p99_latency_ms < 0)) {
    return Verdicted(Verdict::kFail, "invalid observation: p99 latency " +
                                         Millis(*o.p99_latency_ms) + " ms");
  }

  if (o.requests == 0) return Verdicted(Verdict::kInconclusive, "no requests in the window");
  if (o.requests < thresholds.min_requests) {
    return Verdicted(Verdict::kInconclusive,
                     "only " + std::to_string(o.requests) + " requests (< " +
                         std::to_string(thresholds.min_requests) + " minimum)");
  }

  const double rate = static_cast<double>(o.errors) / static_cast<double>(o.requests);
  const double allowed_errors = thresholds.max_error_rate * static_cast<double>(o.requests);
  const bool rate_ok =
      static_cast<double>(o.errors) <= allowed_errors + std::abs(allowed_errors) * kRelativeTolerance;
  auto [rate_text, limit_text] = PercentPair(rate, thresholds.max_error_rate);
  std::string reason = "error rate " + rate_text + (rate_ok ? " <= " : " > ") + limit_text +
                       " (" + counts + ")";

  bool latency_ok = true;
  bool latency_missing = false;
  if (thresholds.max_p99_latency_ms) {
    const std::string limit = Millis(*thresholds.max_p99_latency_ms) + " ms";
    if (!o.p99_latency_ms) {
      latency_missing = true;
      reason += "; no p99 latency reported (limit " + limit + ")";
    } else {
      latency_ok = *o.p99_latency_ms <= *thresholds.max_p99_latency_ms;
      reason += "; p99 latency " + Millis(*o.p99_latency_ms) + " ms" +
                (latency_ok ? " <= " : " > ") + limit;
    }
  } else if (o.p99_latency_ms) {
    reason += "; p99 latency " + Millis(*o.p99_latency_ms) + " ms";
  }

  if (!rate_ok || !latency_ok) return Verdicted(Verdict::kFail, reason, rate);
  // A latency limit was asked for and nothing measured it: not evidence of health.
  if (latency_missing) return Verdicted(Verdict::kInconclusive, reason, rate);
  return Verdicted(Verdict::kPass, reason, rate);
}

Decision Apply(Streaks& streaks, Verdict verdict, const Thresholds& thresholds) {
  // A limit below 1 would act before any verdict counted; read it as 1.
  const int failure_limit = std::max(1, thresholds.failure_limit);
  const int inconclusive_limit = std::max(1, thresholds.inconclusive_limit);
  switch (verdict) {
    case Verdict::kPass:
      streaks = Streaks{};
      return Decision::kContinue;
    case Verdict::kFail:
      streaks.inconclusive = 0;
      ++streaks.fail;
      return streaks.fail >= failure_limit ? Decision::kRollBack : Decision::kContinue;
    case Verdict::kInconclusive:
      streaks.fail = 0;
      ++streaks.inconclusive;
      return streaks.inconclusive >= inconclusive_limit ? Decision::kPause : Decision::kContinue;
  }
  return Decision::kContinue;
}

}  // namespace flightdeck::releases
