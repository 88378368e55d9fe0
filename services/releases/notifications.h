#pragma once

#include <chrono>

#include <grpcpp/support/status.h>

#include "common/clock/clock.h"
#include "common/jobs/jobs.h"
#include "common/net/egress.h"
#include "services/releases/notification_store.h"
#include "services/releases/policy.h"
#include "services/releases/store.h"

// Release notifications: the environment policy's "notify" targets hear of started, awaiting
// approval, canary paused, rolled back and succeeded. Like incidents' (and with the same
// formats, signature and delivery, common/notify): the change that records the event enqueues
// kNotifyJob; its fan-out writes one row per target, each delivered by its own job with retries
// and backoff, every attempt recorded; a receiver that is down never holds up a release.
namespace flightdeck::releases {

class ReleaseNotifier {
 public:
  ReleaseNotifier(ReleaseStore& releases, NotificationStore& notifications, const PolicySet& policies,
                  const Clock& clock, const net::EgressPolicy* egress);

  // For ReleaseStore::SetNotifications: does the environment have a target for the kind?
  bool Wants(const std::string& environment, const std::string& kind) const;

  // kNotifyJob: the rows and delivery jobs of one event.
  grpc::Status RunFanOut(const jobs::Job& job);
  // kDeliverNotificationJob: one attempt. A failure returns UNAVAILABLE so that the queue retries
  // it with backoff; the last one marks the row failed and says so on the release's timeline.
  grpc::Status RunDeliver(const jobs::Job& job);

  void SetRetry(const jobs::RetryPolicy& retry) { retry_ = retry; }
  void SetTimeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }

 private:
  const NotifyTarget* FindTarget(const std::string& environment, const std::string& name) const;

  ReleaseStore& releases_;
  NotificationStore& notifications_;
  const PolicySet& policies_;
  const Clock& clock_;
  const net::EgressPolicy* egress_;
  jobs::RetryPolicy retry_{5, std::chrono::seconds(1), std::chrono::minutes(5)};
  std::chrono::milliseconds timeout_{10000};
};

}  // namespace flightdeck::releases
