#pragma once

#include <string>

#include "cli/format.h"

namespace flightdeck::cli {

// How fdctl shows health targets, service health, health events and smoke runs to a human;
// --json prints the server's answer instead.

// NAME SERVICE ENVIRONMENT ROLE KIND STATUS LAST; a JSON array of targets.
std::string FormatHealthTargetTable(const Json& targets);
// "key: value" settings and state, then uptime/latency figures and the recent results.
std::string FormatHealthTargetDetails(const Json& target);
// One block per environment: "checkout/production: UNHEALTHY since T (reason)" and its targets.
std::string FormatServiceHealth(const Json& answer);
// AT KIND SERVICE ENVIRONMENT TARGET CHANGE REASON; a JSON array of events (ALERT rows show
// their delivery).
std::string FormatHealthEventTable(const Json& events);
// "PASS  name  200  12 ms" or "FAIL  name  503  15 ms  status 503, want 200", then the body
// excerpt of a failing check on an indented line.
std::string FormatSmokeResult(const Json& result);
// "Smoke run ID PASSED: 3 passed, 0 failed".
std::string FormatSmokeSummary(const Json& run);

}  // namespace flightdeck::cli
