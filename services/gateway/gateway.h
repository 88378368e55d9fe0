#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/http/server.h"
#include "common/metrics/metrics.h"
#include "services/gateway/http_call.h"

namespace flightdeck::db {
class Pool;
}

namespace flightdeck::gateway {

class Core;
class GrpcWebFront;
class PagerDutyFront;
class RestFront;
class UiFront;
namespace chatops {
class ChatOpsFront;
}

struct GatewayOptions {
  // FLIGHTDECK_CORS_ORIGINS: origins browsers may call gRPC-web from, besides the gateway's own.
  std::vector<std::string> cors_origins;
  // FLIGHTDECK_UI_DIR: the dashboard's built files, served at /ui.
  std::string ui_directory;
};

// The gateway's HTTP entrance: hands each request to the front that speaks its protocol
// (gRPC-web for "/package.Service/Method", the dashboard under /ui, PagerDuty's /v2/enqueue,
// Slack's and Mattermost's requests under /v1/chatops/{slack,mattermost}/, REST everywhere else) and
// serves the process endpoints (/healthz, /readyz, /metrics). Fronts translate; the call core
// (core/call.h) does the rest.
class Gateway {
 public:
  Gateway(Core& core, db::Pool& db, metrics::Registry& registry, GatewayOptions options = {});
  ~Gateway();

  // The chat front (chatops/), when chat-ops is wired; without it its routes are not served.
  void SetChatOps(chatops::ChatOpsFront* chatops) { chatops_ = chatops; }

  void Handle(http::ServerRequest request, std::shared_ptr<http::Exchange> exchange);
  // Graceful stop of `server`, which hands its requests to Handle: new connections are refused,
  // open streams end at once with UNAVAILABLE ("watch again": watches never end by themselves),
  // calls in flight get their answers within `grace`, the server stops, and then this waits
  // until no request is left alive (answers run through the fronts and record into this
  // Gateway's metrics, even for a client that has gone), so that this Gateway may be
  // destroyed. Logs what the grace cut short; false when a request was still alive, and then
  // this Gateway must not be destroyed.
  bool Shutdown(http::Server& server, std::chrono::milliseconds grace);
  // What the HTTP server answers itself (malformed or oversized requests), in the one error
  // shape.
  static http::ServerResponse ErrorResponse(int status, const std::string& message);

 private:
  void Readiness(const std::shared_ptr<HttpCall>& call);

  Core& core_;
  db::Pool& db_;
  metrics::Registry& registry_;
  metrics::HttpMetrics http_metrics_;
  LiveCalls live_calls_;
  std::unique_ptr<RestFront> rest_;
  std::unique_ptr<PagerDutyFront> pagerduty_;
  std::unique_ptr<GrpcWebFront> grpcweb_;
  std::unique_ptr<UiFront> ui_;
  chatops::ChatOpsFront* chatops_ = nullptr;
};

}  // namespace flightdeck::gateway
