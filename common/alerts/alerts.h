#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "common/jobs/jobs.h"

namespace flightdeck::config {
class Env;
}

// Alerts raised by releases, backups and health go to the incidents service's native intake
// (flightdeck.v1.IncidentService.PostAlerts). Raising one enqueues a durable job in the
// raiser's own schema, in the transaction that decided it, so that an alert is neither lost
// when incidents is down nor sent for a change that rolled back.
namespace flightdeck::alerts {

inline constexpr char kSendAlertJob[] = "send_alert";

// Retried for about a day: incidents may be down for a while, the alert must still arrive.
jobs::RetryPolicy DeliveryRetry();

// The job payload for one alert: `alert_json` is {"labels":{..},"annotations":{..},
// "status":"firing"|"resolved"} (status defaults to firing).
std::string JobPayload(const std::string& source, const std::string& alert_json);

class Sender {
 public:
  // A null channel: no incidents service configured; alerts are logged as recorded only.
  explicit Sender(std::shared_ptr<grpc::Channel> channel,
                  std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // The send_alert job handler: UNAVAILABLE/DEADLINE_EXCEEDED and the like fail the attempt
  // (retried with backoff); an alert incidents refuses as invalid is logged and dropped.
  grpc::Status Deliver(const jobs::Job& job);
  bool configured() const { return channel_ != nullptr; }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::chrono::milliseconds timeout_;
};

// FLIGHTDECK_INCIDENTS_ADDR (default 127.0.0.1:50054); set but empty: no incidents service.
std::shared_ptr<grpc::Channel> IncidentsChannel(const config::Env& env);

}  // namespace flightdeck::alerts
