#pragma once

#include <string>
#include <vector>

#include <grpcpp/support/status.h>

#include "common/clock/clock.h"
#include "flightdeck/v1/incidents.pb.h"
#include "services/incidents/model.h"

namespace flightdeck::db {
class Pool;
}

// Alerts in (tables in migrations/incidents/0003_intake.sql): dedup by fingerprint (one firing
// occurrence per fingerprint, enforced by a unique index, so concurrent duplicate deliveries
// make one alert), resolve, new occurrence after resolve, silences and inhibition (stored and
// marked, no incident), then grouping through Lifecycle::AttachAlerts — all in one transaction
// per batch, so that a 200 means the batch is durably stored. The batch is decided in memory
// and written with a few multi-row statements (alert_store.h) whatever its size, with the
// result of delivering its alerts one at a time in fingerprint order.
namespace flightdeck::incidents {

class ConfigStore;
class Lifecycle;

class Intake {
 public:
  Intake(db::Pool& pool, ConfigStore& config, Lifecycle& lifecycle, const Clock& clock);

  // Any database failure is UNAVAILABLE (the sender retries). When a firing alert that
  // inhibited others resolves, the alerts it inhibited that still fire and are no longer
  // inhibited by anything are grouped in the same transaction.
  grpc::Status Ingest(const std::vector<AlertInput>& alerts, const std::string& actor,
                      v1::IngestResponse* out);
  // Looks the routing key up, parses (PagerDuty-style errors joined by "\n" in an
  // INVALID_ARGUMENT message; an unknown routing key is INVALID_ARGUMENT too) and ingests.
  // The event acts only on alerts of its own integration: alerts are identified by
  // (integration, fingerprint), so another integration's dedup_key is an unknown one here.
  grpc::Status PagerDuty(const v1::PagerDutyEvent& event, const std::string& actor,
                         v1::PagerDutyResponse* out);
  grpc::Status ListAlerts(const v1::ListAlertsRequest& request, v1::ListAlertsResponse* out);
  // The newest `limit` alerts of the incident, newest first.
  grpc::Status AlertsOfIncident(const std::string& incident_id, int limit, std::vector<v1::Alert>* out);

 private:
  db::Pool& pool_;
  ConfigStore& config_;
  Lifecycle& lifecycle_;
  const Clock& clock_;
};

}  // namespace flightdeck::incidents
