#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include <grpcpp/support/status.h>

#include "common/clock/clock.h"
#include "services/health/rollup.h"
#include "services/health/store.h"

namespace grpc {
class Channel;
}
namespace flightdeck::jobs {
struct Job;
}

// Service health and ServiceDown alerts (issue 4). One replica evaluates (the holder of shard
// 0's lease, see coordinator.h), so a service's verdict and its alert are decided once.
namespace flightdeck::health {

// {"labels":{"alertname":"ServiceDown","service":..,"environment":..,"severity":"critical"},
//  "annotations":{"summary":"<service> is down in <env>: <reason>"},"status":"firing|resolved"}
std::string ServiceDownAlert(const std::string& service, const std::string& environment,
                             const std::string& reason, bool firing);

// The ALERT event of a ServiceDown alert firing or resolved. It is no change of state (SERVICE
// events are): from and to both hold the status the alert was raised in, and the reason reads
// "ServiceDown firing: <why>" or "ServiceDown resolved: <why>". `deliver` false: "recorded".
v1::HealthEvent AlertEvent(const std::pair<std::string, std::string>& service_env, Clock::TimePoint at,
                           const RollUpResult& verdict, bool firing, bool deliver);

class HealthEvaluator {
 public:
  struct Options {
    std::chrono::milliseconds interval{2000};
    std::chrono::milliseconds down_after{60000};  // FLIGHTDECK_HEALTH_DOWN_AFTER
    // False when FLIGHTDECK_INCIDENTS_ADDR is empty: alerts are only recorded.
    bool deliver = true;
  };
  // `is_leader` says whether this replica evaluates now; `nudge` wakes the job worker after an
  // alert delivery was enqueued.
  HealthEvaluator(HealthStore& store, const Clock& clock, Options options,
                  std::function<bool()> is_leader, std::function<void()> nudge = {});
  ~HealthEvaluator();

  // One evaluation of every service/environment (regardless of leadership; tests).
  grpc::Status EvaluateOnce();
  void Start();
  void Stop();

 private:
  void Loop();

  HealthStore& store_;
  const Clock& clock_;
  Options options_;
  std::function<bool()> is_leader_;
  std::function<void()> nudge_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

// Delivers the alert of an ALERT event to flightdeck.v1.IncidentService.PostAlerts (the
// "health_alert" job): sets delivery "sent" once incidents accepted it; a failure leaves it
// "pending" and the job retries with backoff.
class AlertDelivery {
 public:
  AlertDelivery(HealthStore& store, std::shared_ptr<grpc::Channel> incidents,
                std::chrono::milliseconds timeout = std::chrono::seconds(5));
  grpc::Status Deliver(long long event_id);
  grpc::Status Handle(const jobs::Job& job);  // payload {"event_id":N}

 private:
  HealthStore& store_;
  std::shared_ptr<grpc::Channel> incidents_;
  std::chrono::milliseconds timeout_;
};

}  // namespace flightdeck::health
