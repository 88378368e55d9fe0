// The incidents' due-work: acknowledgement deadlines and escalation through the policy's levels,
// status-update reminders, review due, and deploy correlation. Every handler re-reads the
// incident under a row lock and acts only when there is still something to do, so that a job
// that runs twice, late, or after the incident moved on does no harm.
#include <nlohmann/json.hpp>

#include "common/clock/timestamps.h"
#include "common/db/db.h"
#include "common/log/log.h"
#include "services/incidents/config_store.h"
#include "services/incidents/correlation.h"
#include "services/incidents/incident_store.h"
#include "services/incidents/lifecycle.h"
#include "services/incidents/lifecycle_internal.h"
#include "services/incidents/severity.h"

namespace flightdeck::incidents {
namespace {

bool IsOpen(const v1::Incident& i) {
  return i.state() == v1::Incident::TRIGGERED || i.state() == v1::Incident::ACKNOWLEDGED;
}

std::string PayloadString(const jobs::Job& job, const char* field) {
  nlohmann::json p = nlohmann::json::parse(job.payload, nullptr, false);
  return p.is_object() && p.contains(field) && p[field].is_string() ? p[field].get<std::string>() : "";
}

int PayloadInt(const jobs::Job& job, const char* field, int fallback) {
  nlohmann::json p = nlohmann::json::parse(job.payload, nullptr, false);
  return p.is_object() && p.contains(field) && p[field].is_number_integer() ? p[field].get<int>() : fallback;
}

std::string TargetNames(const v1::EscalationLevel& level) {
  std::string names;
  for (const v1::NotificationTarget& t : level.targets()) {
    if (!names.empty()) names += ", ";
    names += t.name();
  }
  return names.empty() ? "no targets" : names;
}

std::string AckDeadlinePassed(const v1::Incident& i) {
  auto window = std::chrono::duration_cast<std::chrono::milliseconds>(TimeOf(i.ack_deadline()) -
                                                                      TimeOf(i.opened_at()));
  return "acknowledgement deadline (" + SeverityName(static_cast<Severity>(i.severity())) + ", " +
         FormatDuration(window) + ") passed";
}

}  // namespace

std::string NotificationKindOf(const std::string& kind) {
  static const std::map<std::string, std::string> kinds = {
      {"OPENED", "opened"},         {"ESCALATED", "escalated"},
      {"ACKNOWLEDGED", "acknowledged"}, {"RESOLVED", "resolved"},
      {"CLOSED", "closed"},         {"UPDATE_REMINDER", "update_reminder"},
      {"REVIEW_OVERDUE", "review_overdue"}, {"STATUS_UPDATE", "status_update"}};
  auto it = kinds.find(kind);
  return it == kinds.end() ? "" : it->second;
}

std::string FormatDuration(std::chrono::milliseconds d) {
  long long ms = d.count();
  if (ms <= 0) return "0s";
  if (ms < 1000) return std::to_string(ms) + "ms";
  long long s = ms / 1000;
  std::string out;
  const std::pair<long long, const char*> units[] = {{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}};
  for (const auto& [size, name] : units) {
    if (s >= size) {
      out += std::to_string(s / size) + name;
      s %= size;
    }
  }
  return out;
}

void Lifecycle::RegisterJobs(jobs::Worker& worker) {
  worker.Handle(kAckDeadlineJob, [this](const jobs::Job& j) { return RunAckDeadline(j); });
  worker.Handle(kEscalateJob, [this](const jobs::Job& j) { return RunEscalate(j); });
  worker.Handle(kReminderJob, [this](const jobs::Job& j) { return RunReminder(j); });
  worker.Handle(kReviewDueJob, [this](const jobs::Job& j) { return RunReviewDue(j); });
  worker.Handle(kNotifyJob, [this](const jobs::Job& j) { return RunNotify(j); });
  worker.Handle(kDeliverJob, [this](const jobs::Job& j) { return RunDeliver(j); });
  worker.Handle(kCorrelateJob, [this](const jobs::Job& j) { return RunCorrelate(j); });
}

grpc::Status Lifecycle::PolicyOf(const std::string& incident_id, v1::EscalationPolicy* policy,
                                 v1::Incident* incident) {
  policy->Clear();
  grpc::Status s = pool_.Transact("incident policy", [&](pqxx::transaction_base& tx) {
    return LoadIncidentByTypedId(tx, incident_id, "id", clock_.Now(), incident);
  });
  if (!s.ok() || incident->escalation_policy().empty()) return s;
  s = config_.GetEscalationPolicy(incident->escalation_policy(), true, policy);
  if (s.error_code() == grpc::StatusCode::NOT_FOUND) {
    // A deleted policy pages no one; the incident itself goes on.
    log::Warn("incident " + incident_id + ": escalation policy \"" + incident->escalation_policy() +
              "\" not found");
    policy->Clear();
    policy->set_name(incident->escalation_policy());
    return grpc::Status::OK;
  }
  return s;
}

void Lifecycle::EscalateLocked(pqxx::transaction_base& tx, v1::Incident& incident,
                               const v1::EscalationPolicy& policy, int level, const std::string& actor,
                               const std::string& why) {
  Clock::TimePoint now = clock_.Now();
  Sql(tx, "incidents_escalate",
      "UPDATE incidents.incidents SET escalation_level = $2, updated_at = " + At(3) + " WHERE id = $1",
      incident.id(), level + 1, ToMicros(now));
  LoadIncident(tx, incident.id(), now, &incident);
  Record(tx, incident, actor, "ESCALATED",
         why + ": escalated to level " + std::to_string(level + 1) + " (" +
             TargetNames(policy.levels(level)) + ")",
         nlohmann::json{{"level", level + 1}, {"policy", policy.name()}}.dump(), level);
  int next = level + 1;
  if (next < policy.levels_size()) {
    Schedule(tx, kEscalateJob, "escalate:" + incident.id() + ":" + std::to_string(next),
             nlohmann::json{{"incident_id", incident.id()}, {"level", next}}.dump(),
             now + MillisOf(policy.levels(next).delay()));
  }
}

grpc::Status Lifecycle::RunAckDeadline(const jobs::Job& job) {
  std::string id = PayloadString(job, "incident_id");
  v1::EscalationPolicy policy;
  v1::Incident current;
  grpc::Status s = PolicyOf(id, &policy, &current);
  if (s.error_code() == grpc::StatusCode::NOT_FOUND) return grpc::Status::OK;
  if (!s.ok()) return s;
  return pool_.Transact("ack deadline", [&](pqxx::transaction_base& tx) {
    Clock::TimePoint now = clock_.Now();
    v1::Incident i;
    if (!LoadIncident(tx, id, now, &i, true)) return grpc::Status::OK;
    if (i.state() != v1::Incident::TRIGGERED || i.ack_breached() || !i.has_ack_deadline() ||
        TimeOf(i.ack_deadline()) > now) {
      return grpc::Status::OK;
    }
    Sql(tx, "incidents_ack_breached",
        "UPDATE incidents.incidents SET ack_breached = true, updated_at = " + At(2) + " WHERE id = $1",
        id, ToMicros(now));
    LoadIncident(tx, id, now, &i);
    int next = i.escalation_level();
    if (next >= policy.levels_size()) {
      std::string why = policy.levels_size() == 0
                            ? "no further level (escalation policy \"" + i.escalation_policy() + "\" has no levels)"
                            : "no further level";
      InsertEvent(tx, id, now, "flightdeck", "ESCALATED", AckDeadlinePassed(i) + ": " + why,
                  nlohmann::json{{"level", i.escalation_level()}}.dump());
      return grpc::Status::OK;
    }
    auto delay = MillisOf(policy.levels(next).delay());
    if (next == 0 && delay.count() > 0) {
      // Level 0's delay counts from the deadline.
      Schedule(tx, kEscalateJob, "escalate:" + id + ":0",
               nlohmann::json{{"incident_id", id}, {"level", 0}}.dump(), now + delay);
      return grpc::Status::OK;
    }
    EscalateLocked(tx, i, policy, next, "flightdeck", AckDeadlinePassed(i));
    return grpc::Status::OK;
  });
}

grpc::Status Lifecycle::RunEscalate(const jobs::Job& job) {
  std::string id = PayloadString(job, "incident_id");
  int level = PayloadInt(job, "level", -1);
  v1::EscalationPolicy policy;
  v1::Incident current;
  grpc::Status s = PolicyOf(id, &policy, &current);
  if (s.error_code() == grpc::StatusCode::NOT_FOUND) return grpc::Status::OK;
  if (!s.ok()) return s;
  return pool_.Transact("escalate", [&](pqxx::transaction_base& tx) {
    v1::Incident i;
    if (!LoadIncident(tx, id, clock_.Now(), &i, true)) return grpc::Status::OK;
    // Acknowledged, resolved, or already past this level (a person escalated by hand).
    if (i.state() != v1::Incident::TRIGGERED || level < 0 || i.escalation_level() != level ||
        level >= policy.levels_size()) {
      return grpc::Status::OK;
    }
    std::string why = level == 0 ? AckDeadlinePassed(i)
                                 : "not acknowledged " + FormatDuration(MillisOf(policy.levels(level).delay())) +
                                       " after level " + std::to_string(level);
    EscalateLocked(tx, i, policy, level, "flightdeck", why);
    return grpc::Status::OK;
  });
}

grpc::Status Lifecycle::RunReminder(const jobs::Job& job) {
  std::string id = PayloadString(job, "incident_id");
  return pool_.Transact("update reminder", [&](pqxx::transaction_base& tx) {
    Clock::TimePoint now = clock_.Now();
    v1::Incident i;
    if (!LoadIncident(tx, id, now, &i, true)) return grpc::Status::OK;
    if (!IsOpen(i) || !i.has_next_update_due() || TimeOf(i.next_update_due()) > now) {
      return grpc::Status::OK;
    }
    Severity severity = static_cast<Severity>(i.severity());
    std::optional<Clock::TimePoint> next = NextUpdateDue(severity, now);
    std::optional<long long> next_us;
    if (next) next_us = ToMicros(*next);
    pqxx::result last = Sql(tx, "incidents_last_update_of",
                            "SELECT (extract(epoch from coalesce(last_update_at, opened_at)) * 1000000)::bigint "
                            "FROM incidents.incidents WHERE id = $1", id);
    auto since = std::chrono::duration_cast<std::chrono::milliseconds>(
        now - FromMicros(last[0][0].as<long long>()));
    Sql(tx, "incidents_next_update",
        "UPDATE incidents.incidents SET next_update_due = " + At(2) + ", updated_at = " + At(3) +
            " WHERE id = $1",
        id, next_us, ToMicros(now));
    LoadIncident(tx, id, now, &i);
    std::string every = next ? " (" + SeverityName(severity) + ": every " +
                                   FormatDuration(std::chrono::duration_cast<std::chrono::milliseconds>(*next - now)) + ")"
                             : "";
    Record(tx, i, "flightdeck", "UPDATE_REMINDER",
           "no status update for " + FormatDuration(since) + ": post one" + every);
    ScheduleDeadlines(tx, i);
    return grpc::Status::OK;
  });
}

grpc::Status Lifecycle::RunReviewDue(const jobs::Job& job) {
  std::string id = PayloadString(job, "incident_id");
  return pool_.Transact("review due", [&](pqxx::transaction_base& tx) {
    Clock::TimePoint now = clock_.Now();
    v1::Incident i;
    if (!LoadIncident(tx, id, now, &i, true)) return grpc::Status::OK;
    if (i.state() != v1::Incident::RESOLVED || !i.has_review_due() || TimeOf(i.review_due()) > now) {
      return grpc::Status::OK;
    }
    if (HasReview(tx, id)) return grpc::Status::OK;
    Record(tx, i, "flightdeck", "REVIEW_OVERDUE",
           "post-incident review overdue: due 48h after resolution");
    return grpc::Status::OK;
  });
}

// Deploy correlation (correlation.h decides). The job retries only what may succeed later (the
// releases service unreachable or busy) and stops once the incident is resolved; every outcome
// is on the incident's timeline, and, when it concerns a release, on the release's too.
grpc::Status Lifecycle::RunCorrelate(const jobs::Job& job) {
  if (releases_ == nullptr) return grpc::Status::OK;
  std::string id = PayloadString(job, "incident_id");
  v1::Incident incident;
  bool auto_rollback = false;
  grpc::Status s = pool_.Transact("correlation read", [&](pqxx::transaction_base& tx) {
    if (!LoadIncident(tx, id, clock_.Now(), &incident)) return NotFound(id);
    ConfigStore::Settings settings = config_.ReadSettings(tx);
    auto_rollback = false;
    for (Severity sev : settings.auto_rollback) {
      if (static_cast<int>(sev) == incident.severity()) auto_rollback = true;
    }
    return grpc::Status::OK;
  });
  if (s.error_code() == grpc::StatusCode::NOT_FOUND) return grpc::Status::OK;
  if (!s.ok()) return s;
  if (incident.service().empty()) return grpc::Status::OK;
  const std::string scope = incident.service() + "/" + incident.environment();
  const std::string severity = SeverityName(static_cast<Severity>(incident.severity()));
  const std::string who = "incident " + id + " (" + severity + ", " + scope + ")";
  // A retry after the incident was resolved acts on nothing: the reason for it is gone. (A
  // first run after a quick resolution still links; the link transaction then acts on nothing.)
  if (!IsOpen(incident) && job.attempts > 1) {
    return pool_.Transact("correlation stopped", [&](pqxx::transaction_base& tx) {
      InsertEvent(tx, id, clock_.Now(), "flightdeck", "CORRELATION_STOPPED",
                  "deploy correlation stopped: the incident is " +
                      v1::Incident::State_Name(incident.state()),
                  "{}");
      return grpc::Status::OK;
    });
  }

  // Records a failed call: a retryable one fails the job (retried with backoff until its
  // attempts are used up), any other completes it.
  auto failed = [&](const std::string& what, const std::string& release_id,
                    const grpc::Status& error) -> grpc::Status {
    const bool retry = IsRetryable(error) && job.attempts < job.max_attempts;
    const std::string message =
        what + " failed: " + error.error_message() +
        (retry ? " (attempt " + std::to_string(job.attempts) + " of " +
                     std::to_string(job.max_attempts) + "; retrying)"
               : IsRetryable(error) ? " (giving up after " + std::to_string(job.attempts) + " attempts)"
                                    : " (not retried: it cannot succeed by trying again)");
    grpc::Status recorded = pool_.Transact("correlation failed", [&](pqxx::transaction_base& tx) {
      InsertEvent(tx, id, clock_.Now(), "flightdeck",
                  release_id.empty() ? "CORRELATION_FAILED" : "ROLLBACK_FAILED", message,
                  nlohmann::json{{"release_id", release_id},
                                 {"code", static_cast<int>(error.error_code())},
                                 {"retry", retry}}.dump());
      return grpc::Status::OK;
    });
    if (!recorded.ok()) return recorded;
    if (!release_id.empty() && !retry) {
      grpc::Status noted = releases_->Annotate(release_id, who + ": " + message);
      if (!noted.ok()) {
        log::Warn("incident " + id + ": cannot note the failed attempt on release " + release_id +
                  ": " + noted.error_message());
      }
    }
    return retry ? grpc::Status(error.error_code(), what + ": " + error.error_message())
                 : grpc::Status::OK;
  };

  Clock::TimePoint opened = TimeOf(incident.opened_at());
  std::vector<v1::Release> releases;
  s = releases_->RecentReleases(incident.service(), incident.environment(),
                                opened - std::chrono::minutes(60), &releases);
  if (!s.ok()) return failed("listing releases of " + scope, "", s);
  v1::ServiceEnvironment now_running;
  if (incident.environment().empty()) {
    // No environment named: the service's releases everywhere are linked, none is acted on.
    auto_rollback = false;
  } else {
    s = releases_->Environment(incident.service(), incident.environment(), &now_running);
    if (!s.ok()) return failed("reading what runs in " + scope, "", s);
  }
  CorrelationDecision decision = Correlate(releases, now_running, opened, auto_rollback);
  const bool acting = decision.action != CorrelationAction::kNone;
  bool rollback_pending = false;
  bool newly_skipped = false;
  s = pool_.Transact("correlation link", [&](pqxx::transaction_base& tx) {
    rollback_pending = false;
    newly_skipped = false;
    v1::Incident i;
    if (!LoadIncident(tx, id, clock_.Now(), &i, true)) return grpc::Status::OK;
    for (const v1::RelatedRelease& r : decision.related) {
      std::optional<long long> created, finished;
      if (r.has_created_at()) created = MicrosOf(r.created_at());
      if (r.has_finished_at()) finished = MicrosOf(r.finished_at());
      pqxx::result inserted = Sql(
          tx, "incidents_related_insert",
          "INSERT INTO incidents.related_releases (incident_id, release_id, version, commit_sha, state, "
          "created_at, finished_at, note, linked_at) VALUES ($1, $2, $3, $4, $5, " + At(6) + ", " + At(7) +
              ", $8, " + At(9) + ") ON CONFLICT DO NOTHING RETURNING release_id",
          id, r.release_id(), r.version(), r.commit_sha(), r.state(), created, finished, r.note(),
          ToMicros(clock_.Now()));
      if (!inserted.empty()) {
        InsertEvent(tx, id, clock_.Now(), "flightdeck", "RELEASE_LINKED",
                    "release " + r.release_id() + " (" + r.version() + ", " + r.state() + ") of " +
                        i.service() + "/" + i.environment() + " linked" +
                        (r.note().empty() ? "" : ": " + r.note()),
                    nlohmann::json{{"release_id", r.release_id()}}.dump());
      }
    }
    if (!decision.related.empty()) {
      Sql(tx, "incidents_correlated", "UPDATE incidents.incidents SET deploy_correlated = true WHERE id = $1", id);
    }
    if (!IsOpen(i)) return grpc::Status::OK;  // resolved meanwhile: link, but act on nothing
    if (acting) {
      pqxx::result done = Sql(tx, "incidents_rollback_requested",
                              "SELECT rollback_requested FROM incidents.related_releases WHERE "
                              "incident_id = $1 AND release_id = $2",
                              id, decision.target_release_id);
      rollback_pending = done.empty() || !done[0][0].as<bool>();
    } else if (auto_rollback && !decision.related.empty()) {
      // Once per incident: a job run again after a crash does not say it twice.
      pqxx::result said = Sql(tx, "incidents_rollback_skipped_said",
                              "SELECT 1 FROM incidents.events WHERE incident_id = $1 AND kind = "
                              "'ROLLBACK_SKIPPED' LIMIT 1",
                              id);
      if (said.empty()) {
        newly_skipped = true;
        InsertEvent(tx, id, clock_.Now(), "flightdeck", "ROLLBACK_SKIPPED",
                    "no automatic rollback: " + decision.why,
                    nlohmann::json{{"release_ids", decision.skipped_release_ids}}.dump());
      }
    }
    return grpc::Status::OK;
  });
  if (!s.ok()) return s;
  if (newly_skipped) {
    for (const std::string& release_id : decision.skipped_release_ids) {
      grpc::Status noted = releases_->Annotate(release_id, who + ": no automatic rollback: " + decision.why);
      if (!noted.ok()) {
        log::Warn("incident " + id + ": cannot note the skipped rollback on release " + release_id +
                  ": " + noted.error_message());
      }
    }
  }
  if (!rollback_pending) return grpc::Status::OK;

  const bool abort = decision.action == CorrelationAction::kAbort;
  const std::string reason = who + ": automatic " + (abort ? "abort" : "rollback") +
                             " of a correlated deploy";
  v1::Release rolled;
  grpc::Status rollback = abort ? releases_->Abort(decision.target_release_id, reason, &rolled)
                                : releases_->RollBack(decision.target_release_id, reason, &rolled);
  const std::string what = std::string(abort ? "abort" : "rollback") + " of release " +
                           decision.target_release_id;
  if (!rollback.ok()) return failed(what, decision.target_release_id, rollback);
  return pool_.Transact("correlation rollback", [&](pqxx::transaction_base& tx) {
    Sql(tx, "incidents_rollback_mark",
        "UPDATE incidents.related_releases SET rollback_requested = true WHERE incident_id = $1 AND "
        "release_id = $2",
        id, decision.target_release_id);
    InsertEvent(tx, id, clock_.Now(), "flightdeck", "ROLLBACK_REQUESTED",
                what + " requested: " + decision.why +
                    (rolled.kind() == v1::Release::ROLLBACK ? " (rollback release " + rolled.id() + ")" : ""),
                nlohmann::json{{"release_id", decision.target_release_id},
                               {"action", abort ? "abort" : "rollback"},
                               {"rollback_release_id", rolled.kind() == v1::Release::ROLLBACK ? rolled.id() : ""}}
                    .dump());
    return grpc::Status::OK;
  });
}

}  // namespace flightdeck::incidents
