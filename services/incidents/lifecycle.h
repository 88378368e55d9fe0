#pragma once

#include <string>
#include <vector>

#include <grpcpp/support/status.h>

#include "common/clock/clock.h"
#include "flightdeck/v1/incidents.pb.h"
#include "services/incidents/deadlines.h"
#include "services/incidents/model.h"

namespace flightdeck::db {
class Pool;
}
namespace flightdeck::jobs {
class Queue;
class Worker;
}
namespace pqxx {
class transaction_base;
}

// Incidents from opening to CLOSED (tables in migrations/incidents/0002_incidents.sql) and their
// due-work: acknowledgement deadlines and escalation, status-update reminders, review due,
// notification delivery, deploy correlation — all common/jobs rows on the injected clock.
namespace flightdeck::incidents {

class ConfigStore;
class ReleasesClient;

// A firing alert that is neither inhibited nor silenced, ready to be grouped.
struct AlertForIncident {
  std::string alert_id;
  std::string fingerprint;
  std::string alertname;
  std::string summary;
  Severity severity = Severity::kSev3;
  std::string group_key;  // group_by label values joined ("service=checkout,environment=prod")
  Labels group_labels;
  std::string service;      // labels.service (may be empty)
  std::string environment;  // labels.environment (may be empty)
  std::string escalation_policy;  // the integration's, else empty (settings default)
};

class Lifecycle {
 public:
  Lifecycle(db::Pool& pool, jobs::Queue& queue, const Clock& clock, const BusinessCalendar& calendar,
            ConfigStore& config, ReleasesClient* releases /* null: no correlation */);

  // --- called by intake inside its transaction ---
  // Attaches the alert to the open (TRIGGERED/ACKNOWLEDGED) incident of its group_key, or
  // opens one: at most one open incident per group, enforced by a unique index. A higher
  // severity raises the incident's. Opening schedules the ack deadline, reminders, the
  // on-open notifications and deploy correlation.
  grpc::Status AttachAlert(pqxx::transaction_base& tx, const AlertForIncident& alert,
                           const std::string& actor, std::string* incident_id, bool* opened);
  // An alert of the incident resolved and `firing_left` of its alerts still fire: an incident
  // opened by alerts resolves when none is left.
  grpc::Status OnAlertResolved(pqxx::transaction_base& tx, const std::string& incident_id,
                               int firing_left, const std::string& actor);
  // PagerDuty "acknowledge": acknowledges the incident (no-op when already acknowledged or later).
  grpc::Status AcknowledgeIn(pqxx::transaction_base& tx, const std::string& incident_id,
                             const std::string& actor);

  // --- jobs (registered by main.cc) ---
  void RegisterJobs(jobs::Worker& worker);  // kinds "incident_*"
};

}  // namespace flightdeck::incidents
