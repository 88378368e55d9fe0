#pragma once

#include <string>

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

}  // namespace flightdeck::cli
