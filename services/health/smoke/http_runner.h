#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/net/egress.h"
#include "services/health/smoke/checks.h"

namespace flightdeck::health::smoke {

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // sent when non-empty
  long long timeout_ms = kDefaultTimeoutMs;
};

// Performs the requests at the same time on one libcurl multi handle, on the calling thread,
// and returns their outcomes in the same order. Each request ends at its own timeout; a slow
// one never holds the others' latency figures. Redirects are not followed: a smoke check
// states the answer it expects.
// Every connection's address is checked against `egress` as it is opened (null: no check); a
// refused one is a transport error naming the address and the rule.
std::vector<HttpOutcome> PerformConcurrently(const std::vector<HttpRequest>& requests,
                                             const net::EgressPolicy* egress = nullptr);

}  // namespace flightdeck::health::smoke
