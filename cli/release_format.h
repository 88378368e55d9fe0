#pragma once

#include <cstddef>
#include <string>

#include "cli/format.h"

namespace flightdeck::cli {

// How fdctl shows releases, their timelines and a service's environment to a human; --json
// prints the server's answer instead.

// Every text below is whole: nothing the server said is cut. `width` is the terminal's width
// in columns; a line longer than it wraps at blanks, its continuation lines indented under
// where its text began. 0 means no terminal: one line each, however long.

// ID SERVICE ENV KIND VERSION COMMIT STATE CREATED; `releases` is a JSON array.
std::string FormatReleaseTable(const Json& releases);

// "key: value" lines: the release's fields in a fixed order (the canary progress, the next
// action and the canary plan summarised on one line each), then any others the server sent.
// Empty strings and fields that only mean something in another state are left out.
std::string FormatReleaseDetails(const Json& release, size_t width = 0);

// One timeline event: "TIME  TYPE  ACTOR  MESSAGE" (the data as compact JSON when there is no
// message), newlines in the message as blanks.
std::string FormatEventLine(const Json& event, size_t width = 0);

// `release get`'s timeline section: "events:" or "events (last N of M ...):" then one
// indented line per event; `total` is how many the timeline has (-1 when unknown).
std::string FormatEventsSection(const Json& events, const std::string& release_id, long long total,
                                size_t width = 0);

// `text` after `first_prefix`, wrapped to `width` columns (0: not wrapped) with continuation
// lines starting with `indent`; a word longer than a line is split. Ends with "\n".
std::string WrapText(const std::string& first_prefix, const std::string& text,
                     const std::string& indent, size_t width);

// GET /v1/services/{s}/environments/{e}: which release runs, which one is on its way.
std::string FormatServiceEnvironment(const Json& service_environment);

}  // namespace flightdeck::cli
