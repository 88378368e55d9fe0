#include "services/health/thresholds.h"

#include <string>

namespace flightdeck::health {

bool ApplyResult(const Thresholds& thresholds, bool ok, Clock::TimePoint at, ThresholdState* state) {
  if (ok) {
    ++state->consecutive_successes;
    state->consecutive_failures = 0;
  } else {
    ++state->consecutive_failures;
    state->consecutive_successes = 0;
  }
  v1::HealthStatus next = state->status;
  if (ok && state->status != v1::HEALTHY && state->consecutive_successes >= thresholds.success) {
    next = v1::HEALTHY;
  } else if (!ok && state->status != v1::UNHEALTHY &&
             state->consecutive_failures >= thresholds.failure) {
    next = v1::UNHEALTHY;
  }
  if (next == state->status) return false;
  state->status = next;
  state->since = at;
  return true;
}

Clock::TimePoint EarliestProbe(Clock::TimePoint created_at, std::chrono::milliseconds initial_delay) {
  return created_at + initial_delay;
}

bool MayProbe(Clock::TimePoint created_at, std::chrono::milliseconds initial_delay, Clock::TimePoint now) {
  return now >= EarliestProbe(created_at, initial_delay);
}

const char* StatusName(v1::HealthStatus status) {
  switch (status) {
    case v1::HEALTHY:
      return "HEALTHY";
    case v1::DEGRADED:
      return "DEGRADED";
    case v1::UNHEALTHY:
      return "UNHEALTHY";
    default:
      return "UNKNOWN";
  }
}

v1::HealthStatus StatusFromName(const std::string& name) {
  v1::HealthStatus status = v1::UNKNOWN;
  if (!v1::HealthStatus_Parse(name, &status)) return v1::UNKNOWN;
  return status;
}

}  // namespace flightdeck::health
