#include "common/alerts/alerts.h"

#include <cstdlib>

#include <nlohmann/json.hpp>

#include "common/config/config.h"
#include "common/grpc/channel.h"
#include "common/grpc/metadata.h"
#include "common/log/log.h"
#include "flightdeck/v1/incidents.grpc.pb.h"

namespace flightdeck::alerts {
namespace {

void CopyStrings(const nlohmann::json& from, google::protobuf::Map<std::string, std::string>* to) {
  if (!from.is_object()) return;
  for (const auto& [k, v] : from.items()) {
    (*to)[k] = v.is_string() ? v.get<std::string>() : v.dump();
  }
}

bool Retryable(grpc::StatusCode code) {
  return code != grpc::StatusCode::INVALID_ARGUMENT && code != grpc::StatusCode::NOT_FOUND &&
         code != grpc::StatusCode::PERMISSION_DENIED && code != grpc::StatusCode::UNIMPLEMENTED;
}

}  // namespace

jobs::RetryPolicy DeliveryRetry() {
  jobs::RetryPolicy p;
  p.max_attempts = 300;
  p.initial_backoff = std::chrono::seconds(1);
  p.max_backoff = std::chrono::minutes(5);
  return p;
}

std::string JobPayload(const std::string& source, const std::string& alert_json) {
  nlohmann::json alert = nlohmann::json::parse(alert_json, nullptr, false);
  return nlohmann::json{{"source", source}, {"alert", alert}}.dump();
}

Sender::Sender(std::shared_ptr<grpc::Channel> channel, std::chrono::milliseconds timeout)
    : channel_(std::move(channel)), timeout_(timeout) {}

grpc::Status Sender::Deliver(const jobs::Job& job) {
  nlohmann::json payload = nlohmann::json::parse(job.payload, nullptr, false);
  if (!payload.is_object() || !payload.contains("alert") || !payload["alert"].is_object()) {
    log::Error("alert job without an alert: dropped", {{"job", std::to_string(job.id)}});
    return grpc::Status::OK;
  }
  const nlohmann::json& alert = payload["alert"];
  if (!channel_) {
    log::Warn("alert recorded (no incidents service configured)", {{"alert", alert.dump()}});
    return grpc::Status::OK;
  }
  v1::PostAlertsRequest request;
  request.set_source(payload.value("source", ""));
  v1::NativeAlert* a = request.add_alerts();
  CopyStrings(alert.value("labels", nlohmann::json::object()), a->mutable_labels());
  CopyStrings(alert.value("annotations", nlohmann::json::object()), a->mutable_annotations());
  a->set_status(alert.value("status", "firing"));

  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + timeout_);
  // A service calls on its own authority (its certificate): it names what sends the alert and
  // passes no role.
  context.AddMetadata(rpc::kActorKey, request.source().empty() ? "system" : request.source());
  v1::IngestResponse response;
  grpc::Status s = v1::IncidentService::NewStub(channel_)->PostAlerts(&context, request, &response);
  if (s.ok()) {
    log::Info("alert sent to incidents",
              {{"alert", alert.dump()},
               {"incidents", response.incident_ids_size() ? response.incident_ids(0) : ""}});
    return s;
  }
  if (!Retryable(s.error_code())) {
    log::Error("incidents refused an alert: dropped",
               {{"alert", alert.dump()}, {"error", s.error_message()}});
    return grpc::Status::OK;
  }
  return s;
}

std::shared_ptr<grpc::Channel> IncidentsChannel(const config::Env& env) {
  // Env::Raw cannot tell set-but-empty from unset; empty means "no incidents service".
  const char* raw = std::getenv("FLIGHTDECK_INCIDENTS_ADDR");
  if (raw != nullptr && *raw == '\0') return nullptr;
  return rpc::MakeChannel(env.Address("FLIGHTDECK_INCIDENTS_ADDR", "127.0.0.1:50054"), "incidents");
}

}  // namespace flightdeck::alerts
