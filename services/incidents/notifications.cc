// Outgoing notifications: one row per (timeline event, target), each delivered by its own job
// with retries and backoff, every attempt recorded. Intake only enqueues the fan-out job in its
// transaction, so a receiver that is down never blocks it.
#include <nlohmann/json.hpp>

#include "common/clock/timestamps.h"
#include "common/db/db.h"
#include "services/incidents/config_store.h"
#include "services/incidents/incident_store.h"
#include "services/incidents/lifecycle.h"
#include "services/incidents/lifecycle_internal.h"
#include "services/incidents/notifier.h"

namespace flightdeck::incidents {
namespace {

nlohmann::json Payload(const jobs::Job& job) {
  nlohmann::json p = nlohmann::json::parse(job.payload, nullptr, false);
  return p.is_object() ? p : nlohmann::json::object();
}

// The target of that name in the policy, secret included; false when it is gone.
bool FindTarget(const v1::EscalationPolicy& policy, const std::string& name, v1::NotificationTarget* out) {
  for (const auto& t : policy.on_open()) {
    if (t.name() == name) return *out = t, true;
  }
  for (const auto& level : policy.levels()) {
    for (const auto& t : level.targets()) {
      if (t.name() == name) return *out = t, true;
    }
  }
  return false;
}

// A notification's copy of its target's url is bound to its row (unique by event and target).
secrets::Binding NotificationUrlBinding(long long event_id, const std::string& target_name) {
  return {"incidents.notifications.url", std::to_string(event_id) + "/" + target_name};
}

}  // namespace

grpc::Status Lifecycle::RunNotify(const jobs::Job& job) {
  nlohmann::json p = Payload(job);
  std::string id = p.value("incident_id", "");
  long long event_id = p.value("event_id", 0LL);
  int level = p.value("level", -1);
  v1::EscalationPolicy policy;
  v1::Incident incident;
  grpc::Status s = PolicyOf(id, &policy, &incident);
  if (s.error_code() == grpc::StatusCode::NOT_FOUND) return grpc::Status::OK;
  if (!s.ok()) return s;
  std::vector<v1::NotificationTarget> targets;
  if (level < 0) {
    targets.assign(policy.on_open().begin(), policy.on_open().end());
  } else if (level < policy.levels_size()) {
    targets.assign(policy.levels(level).targets().begin(), policy.levels(level).targets().end());
  }
  if (targets.empty()) return grpc::Status::OK;
  // Each row keeps the url it is delivered to (the policy may change meanwhile), sealed like the
  // policy's own copy.
  std::vector<std::string> stored_urls;
  for (const v1::NotificationTarget& t : targets) {
    if (grpc::Status sealed = config_.SealCopy(t.url(), NotificationUrlBinding(event_id, t.name()),
                                               &stored_urls.emplace_back());
        !sealed.ok()) {
      return sealed;
    }
  }
  return pool_.Transact("notification fan-out", [&](pqxx::transaction_base& tx) {
    Clock::TimePoint now = clock_.Now();
    for (size_t i = 0; i < targets.size(); ++i) {
      const v1::NotificationTarget& t = targets[i];
      pqxx::result r = Sql(tx, "incidents_notification_insert",
                           "INSERT INTO incidents.notifications (incident_id, event_id, policy, target_name, "
                           "url, format, state, created_at) VALUES ($1, $2, $3, $4, $5, $6, 'pending', " +
                               At(7) + ") ON CONFLICT (event_id, target_name) DO NOTHING RETURNING id",
                           id, event_id, policy.name(), t.name(), stored_urls[i],
                           t.format().empty() ? "json" : t.format(), ToMicros(now));
      if (r.empty()) continue;
      long long nid = r[0][0].as<long long>();
      Schedule(tx, kDeliverJob, "deliver:" + std::to_string(nid),
               nlohmann::json{{"notification_id", nid}}.dump(), now, delivery_retry_);
    }
    return grpc::Status::OK;
  });
}

grpc::Status Lifecycle::RunDeliver(const jobs::Job& job) {
  long long nid = Payload(job).value("notification_id", 0LL);
  std::string policy_name, target_name, url, format, state, kind, message, detail, delivery_id;
  long long event_id = 0;
  v1::Incident incident;
  grpc::Status s = pool_.Transact("notification read", [&](pqxx::transaction_base& tx) {
    pqxx::result r = Sql(tx, "incidents_notification_get",
                         "SELECT n.incident_id, n.policy, n.target_name, n.url, n.format, n.state, e.kind, "
                         "e.message, e.detail::text, n.event_id, n.delivery_id::text FROM incidents.notifications n "
                         "JOIN incidents.events e "
                         "ON e.id = n.event_id WHERE n.id = $1",
                         nid);
    if (r.empty()) {
      state = "gone";
      return grpc::Status::OK;
    }
    policy_name = r[0][1].as<std::string>();
    target_name = r[0][2].as<std::string>();
    url = r[0][3].as<std::string>();
    event_id = r[0][9].as<long long>();
    format = r[0][4].as<std::string>();
    state = r[0][5].as<std::string>();
    kind = r[0][6].as<std::string>();
    message = r[0][7].as<std::string>();
    detail = r[0][8].as<std::string>();
    delivery_id = r[0][10].as<std::string>();
    LoadIncident(tx, r[0][0].as<std::string>(), clock_.Now(), &incident);
    return grpc::Status::OK;
  });
  if (!s.ok()) return s;
  if (state != "pending") return grpc::Status::OK;
  // Rows written before sealing existed hold the url in plain text: OpenCopy passes them through.
  if (grpc::Status opened = config_.OpenCopy(url, NotificationUrlBinding(event_id, target_name), &url); !opened.ok()) {
    return grpc::Status(opened.error_code(), "notification " + std::to_string(nid) + " url: " + opened.error_message());
  }

  v1::NotificationTarget target;
  target.set_name(target_name);
  target.set_url(url);
  target.set_format(format);
  v1::EscalationPolicy policy;
  if (config_.GetEscalationPolicy(policy_name, true, &policy).ok()) {
    v1::NotificationTarget current;
    if (FindTarget(policy, target_name, &current)) target.set_secret(current.secret());
  }
  NotificationEvent event;
  event.kind = NotificationKindOf(kind);
  event.message = message;
  event.incident = incident;
  nlohmann::json d = nlohmann::json::parse(detail, nullptr, false);
  if (kind == "ESCALATED" && d.is_object() && d.contains("level") && d["level"].is_number_integer()) {
    event.escalation_level = d["level"].get<int>();
  }
  notify::DeliveryRequest request;
  request.url = url;
  request.body = BodyFor(target, event);
  request.delivery_id = delivery_id;
  request.secret = target.secret();
  request.unix_seconds = std::chrono::duration_cast<std::chrono::seconds>(clock_.Now().time_since_epoch()).count();
  request.timeout = delivery_timeout_;
  request.user_agent = "flightdeck-incidents";
  request.egress = egress_;
  const DeliveryResult result = notify::Deliver(request);
  bool final_failure = !result.ok && job.attempts >= job.max_attempts;

  s = pool_.Transact("notification attempt", [&](pqxx::transaction_base& tx) {
    Clock::TimePoint now = clock_.Now();
    Sql(tx, "incidents_notification_attempt",
        "INSERT INTO incidents.notification_attempts (notification_id, attempt, at, http_status, ok, "
        "error, latency_ms) VALUES ($1, $2, " + At(3) + ", $4, $5, $6, $7)",
        nid, job.attempts, ToMicros(now), result.http_status, result.ok, result.error, result.latency_ms);
    std::string new_state = result.ok ? "delivered" : (final_failure ? "failed" : "pending");
    Sql(tx, "incidents_notification_update",
        "UPDATE incidents.notifications SET state = $2, attempts = $3, last_error = $4, delivered_at = "
        "CASE WHEN $2 = 'delivered' THEN " + At(5) + " END WHERE id = $1",
        nid, new_state, job.attempts, result.error, ToMicros(now));
    if (result.ok) {
      InsertEvent(tx, incident.id(), now, "flightdeck", "NOTIFIED",
                  "notified " + target_name + " (" + event.kind + ")",
                  nlohmann::json{{"notification_id", nid}, {"delivery_id", delivery_id}, {"target", target_name}}.dump());
    } else if (final_failure) {
      InsertEvent(tx, incident.id(), now, "flightdeck", "NOTIFY_FAILED",
                  "notification of " + target_name + " (" + event.kind + ") failed after " +
                      std::to_string(job.attempts) + " attempts: " + result.error,
                  nlohmann::json{{"notification_id", nid}, {"delivery_id", delivery_id}, {"target", target_name}}.dump());
    }
    return grpc::Status::OK;
  });
  if (!s.ok()) return s;
  if (result.ok) return grpc::Status::OK;
  return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                      "delivery to " + target_name + " failed: " + result.error);
}

}  // namespace flightdeck::incidents
