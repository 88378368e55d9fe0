#pragma once

#include <string>

#include "cli/format.h"

namespace flightdeck::cli {

// How fdctl shows releases, their timelines and a service's environment to a human; --json
// prints the server's answer instead.

// ID SERVICE ENV VERSION COMMIT STATE CREATED; `releases` is a JSON array.
std::string FormatReleaseTable(const Json& releases);

// "key: value" lines: the release's fields in a fixed order (the canary progress, the next
// action and the canary plan summarised on one line each), then any others the server sent.
// Empty strings and fields that only mean something in another state are left out.
std::string FormatReleaseDetails(const Json& release);

// One timeline event on one line: "TIME  TYPE  ACTOR  MESSAGE" (the data as compact JSON
// when there is no message).
std::string FormatEventLine(const Json& event);

// `release get`'s timeline section: "events:" or "events (last N of M ...):" then one
// indented line per event; `total` is how many the timeline has (-1 when unknown).
std::string FormatEventsSection(const Json& events, const std::string& release_id, long long total);

// GET /v1/services/{s}/environments/{e}: which release runs, which one is on its way.
std::string FormatServiceEnvironment(const Json& service_environment);

}  // namespace flightdeck::cli
