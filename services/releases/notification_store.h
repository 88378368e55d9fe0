#pragma once

#include <string>
#include <vector>

#include <grpcpp/support/status.h>

#include "common/clock/clock.h"
#include "common/jobs/jobs.h"
#include "common/notify/delivery.h"

namespace flightdeck::db {
class Pool;
}

namespace flightdeck::releases {

// Delivers one release notification row (payload {"notification_id"}), retried with backoff.
inline constexpr char kDeliverNotificationJob[] = "release.notification.deliver";

struct NewNotification {
  std::string target_name;
  std::string format;
  std::string body;
};

struct NotificationRow {
  long long id = 0;
  std::string release_id;
  std::string environment;
  std::string kind;
  std::string target_name;
  std::string format;
  std::string body;
  std::string state;  // pending, delivered, failed
  std::string delivery_id;  // X-Flightdeck-Delivery, the same on every attempt
};

// SQL of release notifications (migrations/releases/0007_notifications.sql). No method throws.
class NotificationStore {
 public:
  NotificationStore(db::Pool& pool, jobs::Queue& jobs);

  // One row per target for the event, each with its delivery job; a target that already has a
  // row for the event (a fan-out run twice) is left alone.
  grpc::Status AddDeliveries(const std::string& release_id, long long event_id, const std::string& environment,
                             const std::string& kind, const std::vector<NewNotification>& rows,
                             Clock::TimePoint now, const jobs::RetryPolicy& retry);
  // NOT_FOUND when the row is gone (its release deleted).
  grpc::Status Get(long long id, NotificationRow* out);
  // Records the attempt and the row's new state. When `timeline_message` is non-empty (delivered,
  // or failed for good), the release's timeline gets a NOTIFIED or NOTIFY_FAILED event with
  // {"notification_id","target","kind","url_host","attempts"} in the same transaction.
  grpc::Status RecordAttempt(const NotificationRow& row, int attempt, const notify::DeliveryResult& result,
                             const std::string& new_state, const std::string& url_host,
                             const std::string& timeline_message, Clock::TimePoint now);

 private:
  db::Pool& pool_;
  jobs::Queue& jobs_;
};

}  // namespace flightdeck::releases
