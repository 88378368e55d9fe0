#pragma once

#include <string>
#include <vector>

#include "services/gateway/auth.h"

namespace flightdeck::gateway {

// The services behind the gateway.
enum class Upstream { kReleases, kBackups, kHealth, kIncidents };
inline constexpr Upstream kAllUpstreams[] = {Upstream::kReleases, Upstream::kBackups,
                                             Upstream::kHealth, Upstream::kIncidents};
const char* UpstreamName(Upstream upstream);  // "releases"

// A REST route served by forwarding to a gRPC method: the request message is built from the
// JSON body, path and query parameters (transcode.h) and the answer is the response message.
struct ProxyRoute {
  const char* http_method;
  const char* pattern;      // "/v1/releases/{id}"
  Role role;                // least role allowed
  Upstream upstream;
  const char* grpc_method;  // fully qualified: "flightdeck.v1.ReleaseService.GetRelease"
  bool has_body;            // POST/PATCH bodies map onto the request message
  // Fields the request message does not know are ignored instead of refused: senders we do
  // not control (Alertmanager, PagerDuty clients) add fields over time.
  bool ignore_unknown_fields = false;
  // PagerDuty Events API v2 compatibility (/v2/enqueue): no bearer token needed (the routing
  // key in the body is the credential, checked upstream; a token, if sent, must be valid),
  // success is 202 with the bare response message, and invalid events are 400 in PagerDuty's
  // error shape (PagerDutyErrorJson).
  bool pagerduty = false;
};

const std::vector<ProxyRoute>& ProxyRoutes();

}  // namespace flightdeck::gateway
