#pragma once

#include <string>

#include "cli/format.h"

namespace flightdeck::cli {

// `fdctl status`: GET /v1/overview (flightdeck.v1.Overview) for a person. One row per service
// and environment (SERVICE ENV CURRENT IN-FLIGHT HEALTH INCIDENTS), the services that did not
// answer, why what is not healthy is not, the open incidents, then a BACKUPS table. An overview
// with nothing in it says how to start.
std::string FormatOverview(const Json& overview);

}  // namespace flightdeck::cli
