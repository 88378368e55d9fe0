#pragma once

#include <cstddef>
#include <string>

#include "cli/command.h"
#include "cli/format.h"
#include "cli/http_client.h"

namespace flightdeck::cli {

// A release's timeline read page by page from GET /v1/releases/{id}/events.
struct Timeline {
  bool ok = false;
  HttpResult failed;            // the answer that stopped the reading, when !ok
  Json events = Json::array();  // oldest first, as the server orders them
  bool complete = false;        // false when max_pages ran out before the last page
};

// The first request asks for `first_page_size` events (release get wants only a few when the
// timeline is short); later ones for `page_size`.
Timeline FetchTimeline(const HttpClient& client, const std::string& release_id, int first_page_size,
                       int page_size, int max_pages);

// The columns release output wraps to: the terminal's width (COLUMNS when set, else what the
// terminal says) when fdctl writes to a terminal; 0 otherwise, so that a pipe, a file or a CI
// log gets every line whole.
size_t OutputWidth(Context& ctx);

// A release stopped here waits on whoever watches it: VERIFYING with no smoke suite to give
// the verdict. `release` is the release as GET /v1/releases/{id} answers it.
bool WaitsForCallersVerification(const Json& release);

}  // namespace flightdeck::cli
