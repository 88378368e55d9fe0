#include "services/health/rollup.h"

namespace flightdeck::health {
namespace {

std::string Join(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

}  // namespace

RollUpResult RollUp(const std::vector<TargetView>& targets) {
  RollUpResult r;
  std::vector<std::string> failing_liveness, failing_readiness, unknown;
  int readiness = 0, counted = 0;
  for (const TargetView& t : targets) {
    if (t.role != "liveness" && t.role != "readiness") continue;
    ++counted;
    if (t.role == "readiness") ++readiness;
    if (t.status == v1::UNHEALTHY) {
      if (t.role == "liveness") {
        failing_liveness.push_back(t.name);
        if (!r.liveness_failing || t.since < r.liveness_failing_since) {
          r.liveness_failing_since = t.since;
        }
        r.liveness_failing = true;
      } else {
        failing_readiness.push_back(t.name);
      }
    } else if (t.status != v1::HEALTHY) {
      unknown.push_back(t.name);
    }
  }
  if (counted == 0) {
    r.status = v1::UNKNOWN;
    r.reason = "no liveness or readiness targets";
    return r;
  }
  if (!failing_liveness.empty()) {
    r.status = v1::UNHEALTHY;
    r.reason = "liveness " + Join(failing_liveness) + " failing";
    return r;
  }
  if (readiness > 0 && static_cast<int>(failing_readiness.size()) == readiness) {
    r.status = v1::UNHEALTHY;
    r.reason = "all readiness failing: " + Join(failing_readiness);
    return r;
  }
  if (!failing_readiness.empty()) {
    r.status = v1::DEGRADED;
    r.reason = "readiness " + Join(failing_readiness) + " failing";
    return r;
  }
  if (!unknown.empty()) {
    r.status = v1::UNKNOWN;
    r.reason = "no results yet from " + Join(unknown);
    return r;
  }
  r.status = v1::HEALTHY;
  r.reason = "all liveness and readiness passing";
  return r;
}

}  // namespace flightdeck::health
