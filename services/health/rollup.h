#pragma once

#include <string>
#include <vector>

#include "common/clock/clock.h"
#include "flightdeck/v1/health.pb.h"

// Service health per environment from its targets' statuses (issue 4). Pure.
namespace flightdeck::health {

struct TargetView {
  std::string name;
  std::string role;  // liveness | readiness | canary
  v1::HealthStatus status = v1::UNKNOWN;
  Clock::TimePoint since;
};

struct RollUpResult {
  v1::HealthStatus status = v1::UNKNOWN;
  std::string reason;
  // Liveness is failing (some liveness target UNHEALTHY) since the earliest such target's
  // status change: what ServiceDown's down_after counts from.
  bool liveness_failing = false;
  Clock::TimePoint liveness_failing_since;
};

// UNHEALTHY: any liveness failing, or every readiness target failing.
// DEGRADED:  some (not all) readiness failing.
// UNKNOWN:   no liveness/readiness targets, or some without a verdict yet.
// HEALTHY:   every liveness and readiness target passing.
// canary targets never count: a canary failing is the release's business, not the service's.
RollUpResult RollUp(const std::vector<TargetView>& targets);

}  // namespace flightdeck::health
