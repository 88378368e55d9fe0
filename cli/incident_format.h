#pragma once

#include <string>

#include "cli/format.h"

namespace flightdeck::cli {

// How `fdctl incident ...` prints the incidents service's answers (proto JSON).

// ID, SEV, STATE, SERVICE, ENV, TITLE, OPENED; one incident per line.
std::string FormatIncidentTable(const Json& incidents);
// One incident: its fields, then timeline, alerts, related releases, review and actions.
std::string FormatIncidentDetails(const Json& incident);
std::string FormatActionTable(const Json& actions);
std::string FormatSilenceTable(const Json& silences);
// Counts, MTTA/MTTR mean and p90, deploy-correlated share, breached and overdue lists.
std::string FormatWeeklyReport(const Json& report);
// 0 -> "0s", 95 -> "1m35s", 7384.2 -> "2h3m4s".
std::string HumanSeconds(double seconds);

}  // namespace flightdeck::cli
