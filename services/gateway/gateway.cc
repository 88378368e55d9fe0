#include "services/gateway/gateway.h"

#include <algorithm>

#include <grpcpp/grpcpp.h>

#include "common/db/db.h"
#include "common/grpc/channel.h"
#include "common/log/log.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "services/gateway/chatops/chatops_front.h"
#include "services/gateway/core/call.h"
#include "services/gateway/core/errors.h"
#include "services/gateway/grpcweb/grpcweb_front.h"
#include "services/gateway/http_call.h"
#include "services/gateway/pagerduty/pagerduty_front.h"
#include "services/gateway/rest/rest_front.h"
#include "services/gateway/ui/ui_front.h"

namespace flightdeck::gateway {
namespace {

grpc::StatusCode CodeForHttp(int status) {
  switch (status) {
    case 400: return grpc::StatusCode::INVALID_ARGUMENT;
    case 408: return grpc::StatusCode::DEADLINE_EXCEEDED;
    case 413: case 431: return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case 501: return grpc::StatusCode::UNIMPLEMENTED;
    default: return grpc::StatusCode::UNKNOWN;
  }
}

}  // namespace

Gateway::Gateway(Core& core, db::Pool& db, metrics::Registry& registry, GatewayOptions options)
    : core_(core), db_(db), registry_(registry), http_metrics_(registry),
      rest_(std::make_unique<RestFront>(core)), pagerduty_(std::make_unique<PagerDutyFront>(core)),
      grpcweb_(std::make_unique<GrpcWebFront>(core, std::move(options.cors_origins))),
      ui_(std::make_unique<UiFront>(options.ui_directory)) {}

Gateway::~Gateway() = default;

http::ServerResponse Gateway::ErrorResponse(int status, const std::string& message) {
  return http::ServerResponse{status, {{"Content-Type", "application/json"}},
                              ErrorJson(CodeForHttp(status), message)};
}

bool Gateway::Shutdown(http::Server& server, std::chrono::milliseconds grace) {
  const auto deadline = std::chrono::steady_clock::now() + grace;
  core_.EndStreams();
  if (!server.Drain(grace)) {
    log::Warn("connections still open after the shutdown grace; closing them",
              {{"open", static_cast<long long>(server.open_connections())}});
  }
  server.Stop();
  // The streams ended first, so their last answers are under way, and so are the answers of
  // calls whose clients left before the drain: what is left of the grace, and at least 2 s when
  // the drain used it all.
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  if (!live_calls_.WaitNone(std::max(left, std::chrono::milliseconds(2000)))) {
    log::Warn("requests still being answered after the shutdown grace", {});
    return false;
  }
  return true;
}

void Gateway::Handle(http::ServerRequest request, std::shared_ptr<http::Exchange> exchange) {
  auto call = std::make_shared<HttpCall>(std::move(request), std::move(exchange), http_metrics_, live_calls_);
  const std::string& path = call->request().path;
  const std::string& method = call->request().method;
  if (path == PagerDutyFront::kPath) return pagerduty_->Handle(call);
  if (chatops_ != nullptr && chatops::ChatOpsFront::Serves(path)) return chatops_->Handle(call);
  if (GrpcWebFront::Serves(path)) return grpcweb_->Handle(call);
  if (UiFront::Serves(path)) return ui_->Handle(call);
  if (method == "GET" && path == "/healthz") {
    call->StartSpan(path);
    return call->Send(200, "{\"status\":\"ok\"}");
  }
  if (method == "GET" && path == "/metrics") {
    call->StartSpan(path);
    return call->Send(200, registry_.Expose(), {}, "text/plain; version=0.0.4; charset=utf-8");
  }
  if (method == "GET" && path == "/readyz") {
    call->StartSpan(path);
    return Readiness(call);
  }
  rest_->Handle(call);
}

// Green when PostgreSQL and every service answer; the checks block, so they run on a worker.
void Gateway::Readiness(const std::shared_ptr<HttpCall>& call) {
  bool posted = core_.RunBlocking(call->trace_context(), [this, call] {
    bool ok = true;
    std::string checks;
    auto add = [&](const std::string& name, const std::string& result) {
      checks += (checks.empty() ? "" : ",") + ("\"" + name + "\":\"" + result + "\"");
    };
    grpc::Status db_status = db_.Ping();
    ok = ok && db_status.ok();
    add("postgresql", db_status.ok() ? "ok" : "unavailable");
    for (const auto& [which, channel] : core_.upstreams()) {
      auto health = grpc::health::v1::Health::NewStub(channel);
      grpc::ClientContext context;
      context.set_deadline(rpc::DeadlineAfter(std::chrono::milliseconds(1000)));
      grpc::health::v1::HealthCheckRequest request;
      grpc::health::v1::HealthCheckResponse response;
      grpc::Status s = health->Check(&context, request, &response);
      bool serving = s.ok() && response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
      ok = ok && serving;
      add(api::ServiceName(which), serving ? "ok" : (s.ok() ? "not serving" : "unavailable"));
    }
    call->Send(ok ? 200 : 503,
               std::string("{\"status\":\"") + (ok ? "ok" : "unavailable") + "\",\"checks\":{" + checks + "}}");
  });
  if (!posted) call->Send(503, ErrorJson(grpc::StatusCode::UNAVAILABLE, "gateway overloaded"));
}

}  // namespace flightdeck::gateway
