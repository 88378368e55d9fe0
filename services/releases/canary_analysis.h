#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace flightdeck::releases {

// What a metric source saw of the canary over one analysis window.
struct Observation {
  long long requests = 0;
  long long errors = 0;
  std::optional<double> p99_latency_ms;
};

struct Thresholds {
  double max_error_rate = 0.05;  // an error rate equal to it passes
  std::optional<double> max_p99_latency_ms;
  long long min_requests = 100;  // fewer requests than this: INCONCLUSIVE
  int failure_limit = 1;         // consecutive FAILs that roll back
  int inconclusive_limit = 3;    // consecutive INCONCLUSIVEs that pause for a human
};

enum class Verdict { kPass, kFail, kInconclusive };
const char* VerdictName(Verdict verdict);  // "PASS", "FAIL", "INCONCLUSIVE"

struct Judgement {
  Verdict verdict = Verdict::kInconclusive;
  // For the timeline, with the numbers: "error rate 8.00% > 5.00% (80 errors / 1000 requests)".
  std::string reason;
  double error_rate = 0;  // errors / requests, 0 without requests
};

// Judges one window. No observation (the source had no data) or too few requests is
// INCONCLUSIVE, never PASS; a latency over the limit FAILs even with a good error rate, and a
// latency limit with no p99 reported is INCONCLUSIVE. Impossible counts (negative, more errors
// than requests) FAIL with "invalid observation: ...".
// no_data_reason explains a missing observation ("no observations pushed since ...").
Judgement Judge(const std::optional<Observation>& observation, const Thresholds& thresholds,
                const std::string& no_data_reason = "no data");

// Consecutive verdicts in the current canary step.
struct Streaks {
  int fail = 0;
  int inconclusive = 0;
};

enum class Decision { kContinue, kRollBack, kPause };

// Updates the streaks with a verdict and decides: a PASS resets both streaks; a FAIL resets the
// inconclusive streak and rolls back at failure_limit; an INCONCLUSIVE resets the fail streak
// and pauses at inconclusive_limit.
Decision Apply(Streaks& streaks, Verdict verdict, const Thresholds& thresholds);

}  // namespace flightdeck::releases
