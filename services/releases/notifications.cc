#include "services/releases/notifications.h"

#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>

#include "common/log/log.h"
#include "common/notify/format.h"
#include "services/releases/notification_body.h"

namespace flightdeck::releases {
namespace {

using Json = nlohmann::json;

Json Payload(const jobs::Job& job) {
  Json p = Json::parse(job.payload, nullptr, false);
  return p.is_object() ? p : Json::object();
}

// The newest failing ANALYSIS verdict of the release, for a rollback's notification: what the
// canary or bake analysis measured against its limits. Null when the rollback had another cause.
grpc::Status FailingVerdict(ReleaseStore& store, const std::string& release_id, Json* out) {
  *out = nullptr;
  long long after = 0;
  bool more = true;
  // Bounded: a timeline is read in pages of 500, at most 20 of them.
  for (int page = 0; more && page < 20; ++page) {
    std::vector<v1::ReleaseEvent> events;
    if (grpc::Status s = store.ListEvents(release_id, after, 500, &events, &more); !s.ok()) return s;
    for (const v1::ReleaseEvent& e : events) {
      after = e.id();
      if (e.type() != "ANALYSIS") continue;
      std::string text;
      if (!google::protobuf::util::MessageToJsonString(e.data(), &text).ok()) continue;
      Json data = Json::parse(text, nullptr, false);
      if (data.is_object() && data.value("verdict", "") == "FAIL") *out = std::move(data);
    }
    if (events.empty()) break;
  }
  return grpc::Status::OK;
}

}  // namespace

ReleaseNotifier::ReleaseNotifier(ReleaseStore& releases, NotificationStore& notifications,
                                 const PolicySet& policies, const Clock& clock, const net::EgressPolicy* egress)
    : releases_(releases), notifications_(notifications), policies_(policies), clock_(clock), egress_(egress) {}

bool ReleaseNotifier::Wants(const std::string& environment, const std::string& kind) const {
  for (const NotifyTarget& t : policies_.For(environment).notify) {
    if (t.Wants(kind)) return true;
  }
  return false;
}

const NotifyTarget* ReleaseNotifier::FindTarget(const std::string& environment, const std::string& name) const {
  for (const NotifyTarget& t : policies_.For(environment).notify) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

grpc::Status ReleaseNotifier::RunFanOut(const jobs::Job& job) {
  const Json p = Payload(job);
  const std::string release_id = p.value("release_id", "");
  const long long event_id = p.value("event_id", 0LL);
  ReleaseNotification n;
  n.kind = p.value("kind", "");
  grpc::Status s = releases_.Get(release_id, &n.release);
  if (s.error_code() == grpc::StatusCode::NOT_FOUND) return grpc::Status::OK;
  if (!s.ok()) return s;
  // The event itself: its message and actor say what happened.
  long long after = event_id - 1;
  std::vector<v1::ReleaseEvent> events;
  bool more = false;
  if (s = releases_.ListEvents(release_id, after, 1, &events, &more); !s.ok()) return s;
  if (events.empty() || events[0].id() != event_id) return grpc::Status::OK;  // gone
  n.message = events[0].message();
  n.actor = events[0].actor();
  if (n.kind == "rolled_back") {
    if (s = FailingVerdict(releases_, release_id, &n.verdict); !s.ok()) return s;
  }
  std::vector<NewNotification> rows;
  for (const NotifyTarget& t : policies_.For(n.release.environment()).notify) {
    if (t.Wants(n.kind)) rows.push_back({t.name, t.format, ReleaseBodyFor(t, n)});
  }
  if (rows.empty()) return grpc::Status::OK;
  return notifications_.AddDeliveries(release_id, event_id, n.release.environment(), n.kind, rows, clock_.Now(),
                                      retry_);
}

grpc::Status ReleaseNotifier::RunDeliver(const jobs::Job& job) {
  const long long id = Payload(job).value("notification_id", 0LL);
  NotificationRow row;
  grpc::Status s = notifications_.Get(id, &row);
  if (s.error_code() == grpc::StatusCode::NOT_FOUND) return grpc::Status::OK;
  if (!s.ok()) return s;
  if (row.state != "pending") return grpc::Status::OK;

  notify::DeliveryResult result;
  std::string url_host;
  const NotifyTarget* target = FindTarget(row.environment, row.target_name);
  if (target == nullptr) {
    // The environments file changed across a restart and dropped the target: nowhere to send.
    result.error = "target " + row.target_name + " is no longer in the " + row.environment + " policy";
  } else {
    url_host = notify::UrlSchemeAndHost(target->url);
    notify::DeliveryRequest request;
    request.url = target->url;
    request.body = row.body;
    request.delivery_id = row.delivery_id;
    request.secret = target->secret;
    request.unix_seconds =
        std::chrono::duration_cast<std::chrono::seconds>(clock_.Now().time_since_epoch()).count();
    request.timeout = timeout_;
    request.user_agent = "flightdeck-releases";
    request.egress = egress_;
    result = notify::Deliver(request);
  }
  const bool final_failure = !result.ok && (target == nullptr || job.attempts >= job.max_attempts);
  const std::string state = result.ok ? "delivered" : final_failure ? "failed" : "pending";
  std::string timeline;
  if (result.ok) {
    timeline = "notified " + row.target_name + " (" + row.kind + ")";
  } else if (final_failure) {
    timeline = "notification of " + row.target_name + " (" + row.kind + ") failed after " +
               std::to_string(job.attempts) + " attempt(s): " + result.error;
  }
  s = notifications_.RecordAttempt(row, job.attempts, result, state, url_host, timeline, clock_.Now());
  if (!s.ok()) return s;
  if (result.ok || final_failure) {
    if (!result.ok) {
      log::Warn("release notification failed", {{"notification_id", row.id}, {"target", row.target_name},
                                                {"error", result.error}});
    }
    return grpc::Status::OK;
  }
  return grpc::Status(grpc::StatusCode::UNAVAILABLE, "delivery to " + row.target_name + " failed: " + result.error);
}

}  // namespace flightdeck::releases
