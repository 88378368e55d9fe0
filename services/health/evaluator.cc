#include "services/health/evaluator.h"

#include <map>
#include <utility>

#include <nlohmann/json.hpp>

#include "common/clock/timestamps.h"
#include "common/grpc/channel.h"
#include "common/jobs/jobs.h"
#include "common/log/log.h"
#include "flightdeck/v1/incidents.grpc.pb.h"

namespace flightdeck::health {
namespace {

using Key = std::pair<std::string, std::string>;  // service, environment

v1::HealthEvent Event(const char* kind, const Key& key, Clock::TimePoint at, v1::HealthStatus from,
                      v1::HealthStatus to, const std::string& reason) {
  v1::HealthEvent e;
  SetTimestamp(e.mutable_at(), at);
  e.set_kind(kind);
  e.set_service(key.first);
  e.set_environment(key.second);
  e.set_from(from);
  e.set_to(to);
  e.set_reason(reason);
  return e;
}

}  // namespace

v1::HealthEvent AlertEvent(const std::pair<std::string, std::string>& service_env, Clock::TimePoint at,
                           const RollUpResult& verdict, bool firing, bool deliver) {
  v1::HealthEvent alert = Event("ALERT", service_env, at, verdict.status, verdict.status,
                                std::string("ServiceDown ") + (firing ? "firing" : "resolved") + ": " + verdict.reason);
  alert.set_alert(ServiceDownAlert(service_env.first, service_env.second, verdict.reason, firing));
  alert.set_delivery(deliver ? "pending" : "recorded");
  return alert;
}

std::string ServiceDownAlert(const std::string& service, const std::string& environment,
                             const std::string& reason, bool firing) {
  // ordered_json: the documented key order is part of "the exact alert".
  nlohmann::ordered_json alert;
  alert["labels"]["alertname"] = "ServiceDown";
  alert["labels"]["service"] = service;
  alert["labels"]["environment"] = environment;
  alert["labels"]["severity"] = "critical";
  alert["annotations"]["summary"] = service + " is down in " + environment + ": " + reason;
  alert["status"] = firing ? "firing" : "resolved";
  return alert.dump();
}

HealthEvaluator::HealthEvaluator(HealthStore& store, const Clock& clock, Options options,
                                 std::function<bool()> is_leader, std::function<void()> nudge)
    : store_(store), clock_(clock), options_(options), is_leader_(std::move(is_leader)), nudge_(std::move(nudge)) {}

HealthEvaluator::~HealthEvaluator() { Stop(); }

grpc::Status HealthEvaluator::EvaluateOnce() {
  Clock::TimePoint now = clock_.Now();
  std::vector<TargetRecord> targets;
  if (grpc::Status s = store_.AllTargets(&targets); !s.ok()) return s;
  std::vector<ServiceHealthRow> stored;
  if (grpc::Status s = store_.LoadServiceHealth(&stored); !s.ok()) return s;

  std::map<Key, std::vector<TargetView>> groups;
  for (const TargetRecord& r : targets) {
    TargetView v;
    v.name = r.target.name();
    v.role = r.target.role();
    v.status = r.state.status;
    v.since = r.state.since;
    groups[{r.target.service(), r.target.environment()}].push_back(std::move(v));
  }
  std::map<Key, ServiceHealthRow> previous;
  for (const ServiceHealthRow& row : stored) {
    previous[{row.service, row.environment}] = row;
    groups.emplace(Key{row.service, row.environment}, std::vector<TargetView>{});  // all targets gone
  }

  bool enqueued = false;
  grpc::Status result = grpc::Status::OK;
  for (const auto& [key, views] : groups) {
    RollUpResult verdict = RollUp(views);
    auto prev_it = previous.find(key);
    bool known = prev_it != previous.end();
    ServiceHealthRow row = known ? prev_it->second : ServiceHealthRow{};
    row.service = key.first;
    row.environment = key.second;
    std::vector<v1::HealthEvent> events;

    if (!known) row.since = now;
    if (row.status != verdict.status) {
      events.push_back(Event("SERVICE", key, now, row.status, verdict.status, verdict.reason));
      row.since = now;
    }
    bool reason_changed = row.reason != verdict.reason;
    row.status = verdict.status;
    row.reason = verdict.reason;

    bool down = verdict.liveness_failing && now - verdict.liveness_failing_since >= options_.down_after;
    if (down && !row.alert_firing) {
      events.push_back(AlertEvent(key, now, verdict, true, options_.deliver));
      row.alert_firing = true;
    } else if (!verdict.liveness_failing && row.alert_firing) {
      events.push_back(AlertEvent(key, now, verdict, false, options_.deliver));
      row.alert_firing = false;
    }
    if (events.empty() && known && !reason_changed) continue;
    if (grpc::Status s = store_.SaveServiceHealth(row, &events, now); !s.ok()) {
      result = s;
      continue;
    }
    for (const v1::HealthEvent& e : events) {
      if (e.kind() == "ALERT") {
        enqueued = enqueued || e.delivery() == "pending";
        log::Info("health: ServiceDown alert", {{"service", key.first}, {"environment", key.second},
                                                {"alert", e.alert()}, {"delivery", e.delivery()}});
      }
    }
  }
  if (enqueued && nudge_) nudge_();
  return result;
}

void HealthEvaluator::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void HealthEvaluator::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void HealthEvaluator::Loop() {
  long long rounds = 0;
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    lock.unlock();
    if (is_leader_()) {
      if (grpc::Status s = EvaluateOnce(); !s.ok()) {
        log::Warn("health: evaluating service health failed", {{"error", s.error_message()}});
      }
      // Deleted targets stay (soft-deleted) long enough for every replica to see the deletion
      // by revision, then go with their state and ring.
      if (++rounds % 30 == 0) (void)store_.PurgeDeleted(clock_.Now() - std::chrono::hours(1));
    }
    lock.lock();
    cv_.wait_for(lock, options_.interval, [this] { return stopping_; });
  }
}

AlertDelivery::AlertDelivery(HealthStore& store, std::shared_ptr<grpc::Channel> incidents,
                             std::chrono::milliseconds timeout)
    : store_(store), incidents_(std::move(incidents)), timeout_(timeout) {}

grpc::Status AlertDelivery::Handle(const jobs::Job& job) {
  nlohmann::json p = nlohmann::json::parse(job.payload, nullptr, false);
  if (!p.is_object() || !p.contains("event_id") || !p["event_id"].is_number_integer()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "health_alert job without event_id");
  }
  return Deliver(p["event_id"].get<long long>());
}

grpc::Status AlertDelivery::Deliver(long long event_id) {
  v1::HealthEvent event;
  if (grpc::Status s = store_.GetEvent(event_id, &event); !s.ok()) return s;
  if (event.delivery() == "sent") return grpc::Status::OK;  // a retried job after success
  nlohmann::json alert = nlohmann::json::parse(event.alert(), nullptr, false);
  if (!alert.is_object()) {
    return grpc::Status(grpc::StatusCode::INTERNAL, "event " + std::to_string(event_id) + " has no alert");
  }
  v1::PostAlertsRequest request;
  request.set_source("health");
  v1::NativeAlert* native = request.add_alerts();
  for (const auto& [k, v] : alert["labels"].items()) (*native->mutable_labels())[k] = v.get<std::string>();
  for (const auto& [k, v] : alert["annotations"].items()) {
    (*native->mutable_annotations())[k] = v.get<std::string>();
  }
  native->set_status(alert.value("status", "firing"));
  if (native->status() == "resolved") {
    *native->mutable_ends_at() = event.at();
  } else {
    *native->mutable_starts_at() = event.at();
  }

  v1::IncidentService::Stub stub(incidents_);
  grpc::ClientContext ctx;
  ctx.set_deadline(rpc::DeadlineAfter(timeout_));
  v1::IngestResponse response;
  grpc::Status s = stub.PostAlerts(&ctx, request, &response);
  if (!s.ok()) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        "PostAlerts to incidents failed: " + s.error_message());
  }
  return store_.SetDelivery(event_id, "sent");
}

}  // namespace flightdeck::health
