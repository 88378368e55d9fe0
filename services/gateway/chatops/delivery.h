#pragma once

#include <chrono>
#include <string>

#include "common/net/egress.h"

namespace flightdeck::gateway::chatops {

struct DeliveryAttempt {
  bool ok = false;      // a 2xx answer
  int http_status = 0;  // 0 when there was no answer
  std::string error;    // "status 500", "timeout after 5000 ms", the egress policy's refusal
  double latency_ms = 0;
};

// POSTs a JSON answer to a chat platform's response_url. Never throws; never logs the URL (it
// is a short-lived credential). The address connected to is checked against `egress` (null:
// none) at connect time.
DeliveryAttempt PostJson(const std::string& url, const std::string& body, std::chrono::milliseconds timeout,
                         const net::EgressPolicy* egress);

}  // namespace flightdeck::gateway::chatops
