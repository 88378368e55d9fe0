#include "services/releases/notification_store.h"

#include <nlohmann/json.hpp>

#include "common/clock/timestamps.h"
#include "common/db/db.h"
#include "common/db/detail_json.h"

namespace flightdeck::releases {

NotificationStore::NotificationStore(db::Pool& pool, jobs::Queue& jobs) : pool_(pool), jobs_(jobs) {
  pool_.Prepare("release_notification_insert",
                "INSERT INTO releases.notifications (release_id, event_id, environment, kind, target_name, "
                "format, body, state, created_at) VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, 'pending', " +
                    db::MicrosParam(8) + ") ON CONFLICT (event_id, target_name) DO NOTHING RETURNING id");
  pool_.Prepare("release_notification_get",
                "SELECT id, release_id::text, environment, kind, target_name, format, body, state, delivery_id::text "
                "FROM releases.notifications WHERE id = $1");
  pool_.Prepare("release_notification_attempt",
                "INSERT INTO releases.notification_attempts (notification_id, attempt, at, http_status, ok, "
                "error, latency_ms) VALUES ($1, $2, " + db::MicrosParam(3) + ", $4, $5, $6, $7) "
                "ON CONFLICT (notification_id, attempt) DO NOTHING");
  pool_.Prepare("release_notification_update",
                "UPDATE releases.notifications SET state = $2, attempts = $3, last_error = $4, delivered_at = "
                "CASE WHEN $2 = 'delivered' THEN " + db::MicrosParam(5) + " END WHERE id = $1");
  pool_.Prepare("release_notification_event",
                "INSERT INTO releases.events (release_id, at, type, actor, message, data) "
                "VALUES ($1::uuid, " + db::MicrosParam(2) + ", $3, 'flightdeck', $4, $5::jsonb)");
}

grpc::Status NotificationStore::AddDeliveries(const std::string& release_id, long long event_id,
                                              const std::string& environment, const std::string& kind,
                                              const std::vector<NewNotification>& rows, Clock::TimePoint now,
                                              const jobs::RetryPolicy& retry) {
  return pool_.Transact("add release notifications", [&](pqxx::transaction_base& tx) {
    for (const NewNotification& n : rows) {
      pqxx::result r = db::Exec(tx, "release_notification_insert", release_id, event_id, environment, kind,
                                n.target_name, n.format, n.body, ToMicros(now));
      if (r.empty()) continue;
      const long long id = r[0][0].as<long long>();
      grpc::Status s = jobs_.EnqueueIn(tx, kDeliverNotificationJob, "deliver:" + std::to_string(id),
                                       nlohmann::json{{"notification_id", id}}.dump(), now, retry);
      if (!s.ok() && s.error_code() != grpc::StatusCode::ALREADY_EXISTS) return s;
    }
    return grpc::Status::OK;
  });
}

grpc::Status NotificationStore::Get(long long id, NotificationRow* out) {
  return pool_.Transact("get release notification", [&](pqxx::transaction_base& tx) {
    pqxx::result r = db::Exec(tx, "release_notification_get", id);
    if (r.empty()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "release notification " + std::to_string(id) + " not found");
    }
    out->id = r[0][0].as<long long>();
    out->release_id = r[0][1].as<std::string>();
    out->environment = r[0][2].as<std::string>();
    out->kind = r[0][3].as<std::string>();
    out->target_name = r[0][4].as<std::string>();
    out->format = r[0][5].as<std::string>();
    out->delivery_id = r[0][8].as<std::string>();
    out->body = r[0][6].as<std::string>();
    out->state = r[0][7].as<std::string>();
    return grpc::Status::OK;
  });
}

grpc::Status NotificationStore::RecordAttempt(const NotificationRow& row, int attempt,
                                              const notify::DeliveryResult& result, const std::string& new_state,
                                              const std::string& url_host, const std::string& timeline_message,
                                              Clock::TimePoint now) {
  return pool_.Transact("record release notification attempt", [&](pqxx::transaction_base& tx) {
    db::Exec(tx, "release_notification_attempt", row.id, attempt, ToMicros(now), result.http_status, result.ok,
             result.error, result.latency_ms);
    db::Exec(tx, "release_notification_update", row.id, new_state, attempt, result.error, ToMicros(now));
    if (!timeline_message.empty()) {
      const nlohmann::json data = {{"notification_id", row.id}, {"delivery_id", row.delivery_id},
                                   {"target", row.target_name}, {"kind", row.kind},
                                   {"url_host", url_host},      {"attempts", attempt}};
      db::Exec(tx, "release_notification_event", row.release_id, ToMicros(now),
               std::string(result.ok ? "NOTIFIED" : "NOTIFY_FAILED"), timeline_message, data.dump());
    }
    return grpc::Status::OK;
  });
}

}  // namespace flightdeck::releases
