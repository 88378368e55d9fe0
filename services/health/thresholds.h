#pragma once

#include <chrono>

#include "common/clock/clock.h"
#include "flightdeck/v1/health.pb.h"

// Kubernetes probe semantics (issue 4): a target's status changes only after `threshold`
// consecutive results the other way; UNKNOWN until enough results to decide. Pure.
namespace flightdeck::health {

struct Thresholds {
  int success = 1;
  int failure = 3;
};

struct ThresholdState {
  v1::HealthStatus status = v1::UNKNOWN;
  Clock::TimePoint since;
  int consecutive_successes = 0;
  int consecutive_failures = 0;
};

// Counts one result at `at`; returns true when the status changed (since is then `at`).
bool ApplyResult(const Thresholds& thresholds, bool ok, Clock::TimePoint at, ThresholdState* state);

// No probe runs before a target's created_at + initial_delay.
Clock::TimePoint EarliestProbe(Clock::TimePoint created_at, std::chrono::milliseconds initial_delay);
bool MayProbe(Clock::TimePoint created_at, std::chrono::milliseconds initial_delay, Clock::TimePoint now);

const char* StatusName(v1::HealthStatus status);
v1::HealthStatus StatusFromName(const std::string& name);  // UNKNOWN for anything else

}  // namespace flightdeck::health
