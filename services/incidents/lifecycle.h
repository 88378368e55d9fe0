#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <grpcpp/support/status.h>

#include "common/clock/clock.h"
#include "common/jobs/jobs.h"
#include "common/net/egress.h"
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
  std::string escalation_policy;  // the integration's, else the settings' default (caller's choice)
};

// "SEV1=2s,SEV2=30s" (FLIGHTDECK_INCIDENTS_ACK_DEADLINES) to per-severity deadlines; false with
// a message naming the bad entry.
bool ParseAckDeadlines(const std::string& text, std::map<Severity, std::chrono::milliseconds>* out,
                       std::string* error);

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
  // The same for alerts of one group_key at once (the first opens the incident when none is
  // open): one lock, one statement for their timeline events, at most one severity change.
  // Every alert gets an ALERT_ATTACHED event: the caller passes only alerts attached to no
  // incident before this transaction (their rows locked by it). Storing incident_id on the
  // alerts is the caller's.
  grpc::Status AttachAlerts(pqxx::transaction_base& tx, const std::vector<AlertForIncident>& group,
                            const std::string& actor, std::string* incident_id, bool* opened);
  // The open incident of each of `group_keys` that has one, read without a lock: a guess that
  // AttachAlerts confirms under its lock.
  struct OpenIncident {
    std::string id;
    Severity severity = Severity::kSev3;
  };
  std::map<std::string, OpenIncident> OpenIncidentsOf(pqxx::transaction_base& tx,
                                                      const std::vector<std::string>& group_keys);
  // An alert of the incident resolved; `firing_left` is non-zero while any still fires: an incident
  // opened by alerts resolves when none is left.
  grpc::Status OnAlertResolved(pqxx::transaction_base& tx, const std::string& incident_id,
                               int firing_left, const std::string& actor);
  // PagerDuty "acknowledge": acknowledges the incident (no-op when already acknowledged or later).
  grpc::Status AcknowledgeIn(pqxx::transaction_base& tx, const std::string& incident_id,
                             const std::string& actor);

  // --- jobs (registered by main.cc) ---
  void RegisterJobs(jobs::Worker& worker);  // kinds "incident_*"

  // --- on behalf of a person (service.cc); each its own transaction ---
  grpc::Status Declare(const v1::DeclareIncidentRequest& request, const std::string& actor,
                       std::string* incident_id);
  grpc::Status Acknowledge(const std::string& id, const std::string& actor, const std::string& note);
  grpc::Status Resolve(const std::string& id, const std::string& actor, const std::string& note);
  // Notifies the policy's next level now (FAILED_PRECONDITION past the last level).
  grpc::Status Escalate(const std::string& id, const std::string& actor, const std::string& note);
  grpc::Status PostStatusUpdate(const std::string& id, const std::string& actor,
                                const std::string& message);
  // The review and the actions it carries, in one transaction, for a RESOLVED incident. It
  // never closes the incident: Close does.
  grpc::Status SubmitReview(const v1::SubmitReviewRequest& request, const std::string& actor);
  // Actions are taken until the incident is CLOSED (also while RESOLVED, after the review).
  grpc::Status AddAction(const v1::AddActionRequest& request, const std::string& actor,
                         v1::ActionItem* out);
  grpc::Status CompleteAction(const v1::CompleteActionRequest& request, const std::string& actor,
                              v1::ActionItem* out);
  // RESOLVED -> CLOSED once the review is in and every action is done or tracked; otherwise
  // FAILED_PRECONDITION saying what is missing (the review, which actions are open).
  grpc::Status Close(const std::string& id, const std::string& actor, const std::string& note);

  // --- settings (main.cc, tests) ---
  // Overrides the acknowledgement deadline of the given severities, measured from the opening
  // (FLIGHTDECK_INCIDENTS_ACK_DEADLINES: staging and end-to-end tests cannot wait 5 minutes).
  void SetAckDeadlines(std::map<Severity, std::chrono::milliseconds> deadlines);
  void SetDeliveryRetry(const jobs::RetryPolicy& policy) { delivery_retry_ = policy; }
  void SetDeliveryTimeout(std::chrono::milliseconds timeout) { delivery_timeout_ = timeout; }
  // Webhook deliveries connect only where it allows (null: anywhere).
  void SetEgressPolicy(const net::EgressPolicy* egress) { egress_ = egress; }
  // The acknowledgement deadline of an incident of severity `s` opened at `opened`.
  Clock::TimePoint AckDeadlineFor(Severity s, Clock::TimePoint opened) const;

  // Job kinds.
  static constexpr char kAckDeadlineJob[] = "incident_ack_deadline";
  static constexpr char kEscalateJob[] = "incident_escalate";
  static constexpr char kReminderJob[] = "incident_reminder";
  static constexpr char kReviewDueJob[] = "incident_review_due";
  static constexpr char kNotifyJob[] = "incident_notify";
  static constexpr char kDeliverJob[] = "incident_deliver";
  static constexpr char kCorrelateJob[] = "incident_correlate";

 private:
  struct Opening;
  grpc::Status OpenIn(pqxx::transaction_base& tx, const Opening& o, std::string* id);
  // Timeline entry plus, for kinds people are told about, the notification fan-out job.
  long long Record(pqxx::transaction_base& tx, const v1::Incident& incident, const std::string& actor,
                   const std::string& kind, const std::string& message,
                   const std::string& detail_json = "{}", int escalation_level = -1);
  void Schedule(pqxx::transaction_base& tx, const std::string& kind, const std::string& key,
                const std::string& payload, Clock::TimePoint due,
                const jobs::RetryPolicy& policy = {});
  void ScheduleDeadlines(pqxx::transaction_base& tx, const v1::Incident& incident);
  void AcknowledgeLocked(pqxx::transaction_base& tx, v1::Incident& incident, const std::string& actor,
                         const std::string& note);
  void ResolveLocked(pqxx::transaction_base& tx, v1::Incident& incident, const std::string& actor,
                     const std::string& why);
  void RaiseSeverityLocked(pqxx::transaction_base& tx, v1::Incident& incident, Severity to,
                           const std::string& actor, const std::string& why);
  // Attaches alerts to the incident whose row this transaction has locked.
  grpc::Status AttachToLocked(pqxx::transaction_base& tx, const std::string& incident_id,
                              int incident_severity, const std::vector<AlertForIncident>& alerts,
                              const std::string& actor);
  // Inserts one corrective action of the incident this transaction has locked.
  void AddActionLocked(pqxx::transaction_base& tx, const v1::Incident& incident,
                       const v1::AddActionRequest& request, const std::string& actor,
                       v1::ActionItem* out);
  // Notifies levels[level] of the policy (0-based), records ESCALATED and schedules the next.
  void EscalateLocked(pqxx::transaction_base& tx, v1::Incident& incident,
                      const v1::EscalationPolicy& policy, int level, const std::string& actor,
                      const std::string& why);
  grpc::Status Transition(const std::string& what, const std::string& id,
                          const std::function<grpc::Status(pqxx::transaction_base&, v1::Incident&)>& fn);

  // Job handlers (lifecycle_jobs.cc, notifications.cc).
  grpc::Status RunAckDeadline(const jobs::Job& job);
  grpc::Status RunEscalate(const jobs::Job& job);
  grpc::Status RunReminder(const jobs::Job& job);
  grpc::Status RunReviewDue(const jobs::Job& job);
  grpc::Status RunNotify(const jobs::Job& job);
  grpc::Status RunDeliver(const jobs::Job& job);
  grpc::Status RunCorrelate(const jobs::Job& job);
  grpc::Status PolicyOf(const std::string& incident_id, v1::EscalationPolicy* policy,
                        v1::Incident* incident);

  db::Pool& pool_;
  jobs::Queue& queue_;
  const Clock& clock_;
  const BusinessCalendar& calendar_;
  ConfigStore& config_;
  ReleasesClient* releases_;
  std::map<Severity, std::chrono::milliseconds> ack_deadlines_;
  jobs::RetryPolicy delivery_retry_{5, std::chrono::seconds(1), std::chrono::minutes(5)};
  std::chrono::milliseconds delivery_timeout_{10000};
  const net::EgressPolicy* egress_ = nullptr;
};

}  // namespace flightdeck::incidents
