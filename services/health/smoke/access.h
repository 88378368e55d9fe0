#pragma once

#include <string>

#include "flightdeck/v1/health.pb.h"

// Who may see and do what with smoke runs, from the role the gateway passes (x-flightdeck-role).
namespace flightdeck::health::smoke {

// Fetched bodies can hold anything the checked service answers (metrics, internal errors): only
// OPERATOR and ADMIN read them. A call without a role comes from another service, not a user.
bool MayReadBodyExcerpts(const std::string& role);

// A run of a saved suite may point it at another base_url, unless the suite sends secret
// headers: those would go to a host of the caller's choosing, so only an ADMIN may.
bool MayOverrideBaseUrl(const v1::SmokeSuite& suite, const std::string& requested_base_url,
                        const std::string& role);

}  // namespace flightdeck::health::smoke
