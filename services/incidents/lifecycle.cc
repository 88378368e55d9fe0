#include "services/incidents/lifecycle.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "common/clock/timestamps.h"
#include "common/config/config.h"
#include "common/db/db.h"
#include "common/protojson/json_text.h"
#include "common/text/utf8.h"
#include "common/trace/trace.h"
#include "services/incidents/config_store.h"
#include "services/incidents/incident_store.h"
#include "services/incidents/lifecycle_internal.h"
#include "services/incidents/severity.h"
#include "services/incidents/validation.h"

namespace flightdeck::incidents {

// What a new incident starts with, from an alert or a declaration.
struct Lifecycle::Opening {
  std::string title;
  Severity severity = Severity::kSev3;
  std::string service;
  std::string environment;
  std::string commander;
  std::optional<std::string> group_key;  // nullopt: declared, never absorbs alerts
  Labels group_labels;
  std::string declared_by;
  std::string escalation_policy;
  std::string actor;
  std::string message;  // for the OPENED entry
};

namespace {

grpc::Status Invalid(const std::string& message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

bool IsOpen(const v1::Incident& i) {
  return i.state() == v1::Incident::TRIGGERED || i.state() == v1::Incident::ACKNOWLEDGED;
}

std::string WithNote(std::string message, const std::string& note) {
  if (!note.empty()) message += ": " + note;
  return message;
}

}  // namespace

bool ParseAckDeadlines(const std::string& text, std::map<Severity, std::chrono::milliseconds>* out,
                       std::string* error) {
  out->clear();
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string entry = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    start = comma == std::string::npos ? text.size() + 1 : comma + 1;
    if (entry.empty()) continue;
    size_t eq = entry.find('=');
    Severity severity;
    std::optional<std::chrono::milliseconds> d;
    if (eq != std::string::npos) d = config::ParseDuration(entry.substr(eq + 1));
    if (eq == std::string::npos || !ParseSeverity(entry.substr(0, eq), &severity) || !d || d->count() <= 0) {
      *error = "\"" + entry + "\" is not SEVn=<duration> (e.g. SEV1=2s,SEV2=30s)";
      return false;
    }
    (*out)[severity] = *d;
  }
  if (out->empty()) {
    *error = "no SEVn=<duration> entries";
    return false;
  }
  return true;
}

Lifecycle::Lifecycle(db::Pool& pool, jobs::Queue& queue, const Clock& clock,
                     const BusinessCalendar& calendar, ConfigStore& config, ReleasesClient* releases)
    : pool_(pool), queue_(queue), clock_(clock), calendar_(calendar), config_(config),
      releases_(releases) {
  // The statements of every alert batch, prepared once per connection (the rest of the
  // lifecycle runs per person or per job and stays unprepared).
  const std::string open_states = " AND state IN ('TRIGGERED', 'ACKNOWLEDGED')";
  pool_.Prepare("incidents_open_of_group",
                "SELECT id, severity FROM incidents.incidents WHERE group_key = $1" + open_states);
  pool_.Prepare("incidents_lock_open_for_attach",
                "SELECT id, severity FROM incidents.incidents WHERE id = $1" + open_states + " FOR SHARE");
  pool_.Prepare("incidents_lock_open_for_raise",
                "SELECT id, severity FROM incidents.incidents WHERE id = $1" + open_states + " FOR UPDATE");
  pool_.Prepare("incidents_open_of_groups",
                "SELECT group_key, id, severity FROM incidents.incidents WHERE group_key IN "
                "(SELECT jsonb_array_elements_text($1::jsonb))" + open_states);
  // No test of whether an alert is attached already: intake passes only alerts that it holds
  // the row lock of and that are in no incident, or that its own insert stored in this one. (A
  // NOT EXISTS test here was planned as a hash of every alert of the incident, once per batch:
  // an alert storm into one incident went quadratic.)
  pool_.Prepare("incidents_alerts_attached",
                "INSERT INTO incidents.events (incident_id, at, actor, kind, message, trace_id, detail) "
                "SELECT $1, " + At(2) + ", $3, 'ALERT_ATTACHED', e.message, $4, e.detail "
                "FROM jsonb_to_recordset($5::jsonb) AS e(message text, detail jsonb)");
}

void Lifecycle::SetAckDeadlines(std::map<Severity, std::chrono::milliseconds> deadlines) {
  ack_deadlines_ = std::move(deadlines);
}

Clock::TimePoint Lifecycle::AckDeadlineFor(Severity s, Clock::TimePoint opened) const {
  auto it = ack_deadlines_.find(s);
  if (it != ack_deadlines_.end()) return opened + it->second;
  return AckDeadline(s, opened, calendar_);
}

void Lifecycle::Schedule(pqxx::transaction_base& tx, const std::string& kind, const std::string& key,
                         const std::string& payload, Clock::TimePoint due,
                         const jobs::RetryPolicy& policy) {
  grpc::Status s = queue_.EnqueueIn(tx, kind, key, payload, due, policy);
  // ALREADY_EXISTS: the same work is already scheduled, which is what was wanted.
  if (!s.ok() && s.error_code() != grpc::StatusCode::ALREADY_EXISTS) {
    throw std::runtime_error("scheduling " + kind + ": " + s.error_message());
  }
}

long long Lifecycle::Record(pqxx::transaction_base& tx, const v1::Incident& incident,
                            const std::string& actor, const std::string& kind,
                            const std::string& message, const std::string& detail_json,
                            int escalation_level) {
  long long event_id = InsertEvent(tx, incident.id(), clock_.Now(), actor, kind, message, detail_json);
  if (!NotificationKindOf(kind).empty()) {
    nlohmann::json payload = {{"incident_id", incident.id()}, {"event_id", event_id},
                              {"level", escalation_level}};
    Schedule(tx, kNotifyJob, "notify:" + std::to_string(event_id), payload.dump(), clock_.Now());
  }
  return event_id;
}

void Lifecycle::ScheduleDeadlines(pqxx::transaction_base& tx, const v1::Incident& incident) {
  nlohmann::json payload = {{"incident_id", incident.id()}};
  // Keys carry the due time: a recomputed deadline is a new job, and the old one finds nothing
  // to do when it runs.
  if (incident.state() == v1::Incident::TRIGGERED && !incident.ack_breached() &&
      incident.has_ack_deadline()) {
    Schedule(tx, kAckDeadlineJob,
             "ack:" + incident.id() + ":" + std::to_string(MicrosOf(incident.ack_deadline())),
             payload.dump(), TimeOf(incident.ack_deadline()));
  }
  if (IsOpen(incident) && incident.has_next_update_due()) {
    Schedule(tx, kReminderJob,
             "reminder:" + incident.id() + ":" + std::to_string(MicrosOf(incident.next_update_due())),
             payload.dump(), TimeOf(incident.next_update_due()));
  }
}

grpc::Status Lifecycle::OpenIn(pqxx::transaction_base& tx, const Opening& o, std::string* id) {
  Clock::TimePoint now = clock_.Now();
  std::optional<Clock::TimePoint> next_update = NextUpdateDue(o.severity, now);
  std::optional<long long> next_update_us;
  if (next_update) next_update_us = ToMicros(*next_update);
  nlohmann::json labels(o.group_labels);
  pqxx::result r = Sql(
      tx, "incidents_open",
      "INSERT INTO incidents.incidents (title, severity, service, environment, state, commander, "
      "group_key, group_labels, declared_by, escalation_policy, opened_at, ack_deadline, "
      "next_update_due, updated_at) VALUES ($1, $2, $3, $4, 'TRIGGERED', $5, $6, $7::jsonb, $8, $9, " +
          At(10) + ", " + At(11) + ", " + At(12) + ", " + At(10) + ") "
      "ON CONFLICT (group_key) WHERE state IN ('TRIGGERED', 'ACKNOWLEDGED') DO NOTHING RETURNING id",
      o.title, static_cast<int>(o.severity), o.service, o.environment, o.commander, o.group_key,
      labels.dump(), o.declared_by, o.escalation_policy, ToMicros(now),
      ToMicros(AckDeadlineFor(o.severity, now)), next_update_us);
  if (r.empty()) {
    id->clear();  // another transaction opened the group's incident first
    return grpc::Status::OK;
  }
  *id = r[0][0].as<std::string>();
  v1::Incident incident;
  LoadIncident(tx, *id, now, &incident);
  Record(tx, incident, o.actor, "OPENED", o.message,
         nlohmann::json{{"severity", SeverityName(o.severity)}}.dump());
  ScheduleDeadlines(tx, incident);
  if (!incident.service().empty()) {
    Schedule(tx, kCorrelateJob, "correlate:" + *id, nlohmann::json{{"incident_id", *id}}.dump(), now,
             jobs::RetryPolicy{5, std::chrono::seconds(5), std::chrono::minutes(2)});
  }
  return grpc::Status::OK;
}

grpc::Status Lifecycle::AttachAlert(pqxx::transaction_base& tx, const AlertForIncident& alert,
                                    const std::string& actor, std::string* incident_id, bool* opened) {
  return AttachAlerts(tx, {alert}, actor, incident_id, opened);
}

grpc::Status Lifecycle::AttachAlerts(pqxx::transaction_base& tx, const std::vector<AlertForIncident>& group,
                                     const std::string& actor, std::string* incident_id, bool* opened) {
  *opened = false;
  incident_id->clear();
  if (group.empty()) return grpc::Status::OK;
  const AlertForIncident& first = group.front();
  Opening o;
  o.title = !first.summary.empty() ? first.summary : first.alertname;
  if (o.title.empty()) o.title = "alert " + first.fingerprint;
  // An alert's summary annotation has no limit of its own; its incident's title has.
  if (text::CharacterCount(o.title) > kMaxTitleCharacters) {
    o.title = std::string(text::CharacterPrefix(o.title, kMaxTitleCharacters - 1)) + "\u2026";
  }
  o.severity = first.severity;
  o.service = first.service;
  o.environment = first.environment;
  o.group_key = first.group_key;
  o.group_labels = first.group_labels;
  o.declared_by = "alert";
  o.escalation_policy = first.escalation_policy;
  o.actor = actor;
  o.message = "opened by alert " + first.alertname + " (" + SeverityName(first.severity) + ")" +
              (first.summary.empty() ? "" : ": " + first.summary);
  Severity most_severe = first.severity;
  for (const AlertForIncident& a : group) most_severe = std::min(most_severe, a.severity);
  // SELECT, then INSERT ... ON CONFLICT DO NOTHING: a concurrent opener makes the insert find
  // nothing to do and the next round attach to its incident; an incident resolved between the
  // two makes the next round open one.
  for (int attempt = 0; attempt < 3; ++attempt) {
    // Only what attaching needs: an alert storm attaches thousands of alerts to one incident,
    // and attaching must not cost more as the incident grows.
    pqxx::result r = db::Exec(tx, "incidents_open_of_group", first.group_key);
    if (r.empty()) {
      if (grpc::Status s = OpenIn(tx, o, incident_id); !s.ok()) return s;
      if (incident_id->empty()) continue;
      *opened = true;
      return AttachToLocked(tx, *incident_id, static_cast<int>(first.severity),
                            std::vector<AlertForIncident>(group.begin() + 1, group.end()), actor);
    }
    // Alerts that leave the severity as it is only need the incident to stay open: a share
    // lock, so that batches of one group attach side by side (each alert row is locked by its
    // own upsert) while a resolve or acknowledge (FOR UPDATE) waits for them. Raising the
    // severity writes the incident: an exclusive lock, taken first so that two raisers queue
    // instead of both upgrading a share lock (a deadlock).
    bool raises = static_cast<int>(most_severe) < r[0][1].as<int>();
    const std::string id = r[0][0].as<std::string>();
    pqxx::result locked =
        db::Exec(tx, raises ? "incidents_lock_open_for_raise" : "incidents_lock_open_for_attach", id);
    if (locked.empty()) continue;  // resolved meanwhile: the next round opens one
    if (!raises && static_cast<int>(most_severe) < locked[0][1].as<int>()) {
      // Lowered meanwhile by a person: the raise needs the exclusive lock after all.
      locked = db::Exec(tx, "incidents_lock_open_for_raise", id);
      if (locked.empty()) continue;
    }
    *incident_id = id;
    return AttachToLocked(tx, *incident_id, locked[0][1].as<int>(), group, actor);
  }
  return grpc::Status(grpc::StatusCode::ABORTED,
                      "could not open or find the open incident of group " + first.group_key);
}

std::map<std::string, Lifecycle::OpenIncident> Lifecycle::OpenIncidentsOf(pqxx::transaction_base& tx,
                                                                          const std::vector<std::string>& group_keys) {
  std::map<std::string, OpenIncident> out;
  if (group_keys.empty()) return out;
  for (const pqxx::row& row : db::Exec(tx, "incidents_open_of_groups", nlohmann::json(group_keys).dump())) {
    out[row[0].as<std::string>()] = OpenIncident{row[1].as<std::string>(), static_cast<Severity>(row[2].as<int>())};
  }
  return out;
}

grpc::Status Lifecycle::AttachToLocked(pqxx::transaction_base& tx, const std::string& incident_id,
                                       int incident_severity, const std::vector<AlertForIncident>& alerts,
                                       const std::string& actor) {
  if (alerts.empty()) return grpc::Status::OK;
  // One timeline event per alert, written by one statement.
  protojson::JsonRows events;
  const AlertForIncident* most_severe = nullptr;
  for (const AlertForIncident& a : alerts) {
    events.Row();
    events.Add("message", "alert " + a.alertname + " (" + SeverityName(a.severity) + ") attached" +
                              (a.summary.empty() ? "" : ": " + a.summary));
    events.Add("detail", std::map<std::string, std::string>{{"alert_id", a.alert_id}, {"fingerprint", a.fingerprint}});
    events.EndRow();
    if (most_severe == nullptr || a.severity < most_severe->severity) most_severe = &a;
  }
  trace::SpanContext ctx = trace::CurrentContext();
  db::Exec(tx, "incidents_alerts_attached", incident_id, ToMicros(clock_.Now()), actor,
           ctx.IsValid() ? ctx.TraceIdHex() : "", events.Done());
  if (static_cast<int>(most_severe->severity) < incident_severity) {
    v1::Incident incident;
    LoadIncident(tx, incident_id, clock_.Now(), &incident);
    RaiseSeverityLocked(tx, incident, most_severe->severity, actor, "alert " + most_severe->alertname);
  }
  return grpc::Status::OK;
}

void Lifecycle::RaiseSeverityLocked(pqxx::transaction_base& tx, v1::Incident& incident, Severity to,
                                    const std::string& actor, const std::string& why) {
  Severity from = static_cast<Severity>(incident.severity());
  Clock::TimePoint opened = TimeOf(incident.opened_at());
  Clock::TimePoint last_update = opened;
  pqxx::result lu = Sql(tx, "incidents_last_update",
                        "SELECT (extract(epoch from last_update_at) * 1000000)::bigint FROM "
                        "incidents.incidents WHERE id = $1", incident.id());
  if (!lu.empty() && !lu[0][0].is_null()) last_update = FromMicros(lu[0][0].as<long long>());
  std::optional<Clock::TimePoint> next_update = NextUpdateDue(to, last_update);
  std::optional<long long> next_update_us;
  if (next_update && IsOpen(incident)) next_update_us = ToMicros(*next_update);
  Sql(tx, "incidents_severity",
      "UPDATE incidents.incidents SET severity = $2, ack_deadline = CASE WHEN acknowledged_at IS NULL "
      "AND NOT ack_breached THEN " + At(3) + " ELSE ack_deadline END, next_update_due = " + At(4) +
          ", updated_at = " + At(5) + " WHERE id = $1",
      incident.id(), static_cast<int>(to), ToMicros(AckDeadlineFor(to, opened)), next_update_us,
      ToMicros(clock_.Now()));
  LoadIncident(tx, incident.id(), clock_.Now(), &incident);
  Record(tx, incident, actor, "SEVERITY_CHANGED",
         "severity raised from " + SeverityName(from) + " to " + SeverityName(to) + " by " + why,
         nlohmann::json{{"from", SeverityName(from)}, {"to", SeverityName(to)}}.dump());
  ScheduleDeadlines(tx, incident);
}

grpc::Status Lifecycle::OnAlertResolved(pqxx::transaction_base& tx, const std::string& incident_id,
                                        int firing_left, const std::string& actor) {
  if (firing_left > 0) return grpc::Status::OK;
  v1::Incident incident;
  if (!LoadIncident(tx, incident_id, clock_.Now(), &incident, true)) return NotFound(incident_id);
  // A person who declared an incident decides when it is over; alerts do not.
  if (incident.declared_by() != "alert" || !IsOpen(incident)) return grpc::Status::OK;
  ResolveLocked(tx, incident, actor, "all alerts resolved");
  return grpc::Status::OK;
}

grpc::Status Lifecycle::AcknowledgeIn(pqxx::transaction_base& tx, const std::string& incident_id,
                                      const std::string& actor) {
  v1::Incident incident;
  if (!LoadIncident(tx, incident_id, clock_.Now(), &incident, true)) return NotFound(incident_id);
  if (incident.state() == v1::Incident::TRIGGERED) AcknowledgeLocked(tx, incident, actor, "");
  return grpc::Status::OK;
}

void Lifecycle::AcknowledgeLocked(pqxx::transaction_base& tx, v1::Incident& incident,
                                  const std::string& actor, const std::string& note) {
  Sql(tx, "incidents_ack",
      "UPDATE incidents.incidents SET state = 'ACKNOWLEDGED', acknowledged_at = " + At(2) +
          ", updated_at = " + At(2) + " WHERE id = $1",
      incident.id(), ToMicros(clock_.Now()));
  LoadIncident(tx, incident.id(), clock_.Now(), &incident);
  Record(tx, incident, actor, "ACKNOWLEDGED", WithNote("acknowledged by " + actor, note));
}

void Lifecycle::ResolveLocked(pqxx::transaction_base& tx, v1::Incident& incident,
                              const std::string& actor, const std::string& why) {
  Clock::TimePoint now = clock_.Now();
  Clock::TimePoint review_due = ReviewDue(now);
  Sql(tx, "incidents_resolve",
      "UPDATE incidents.incidents SET state = 'RESOLVED', resolved_at = " + At(2) +
          ", next_update_due = NULL, review_due = " + At(3) + ", updated_at = " + At(2) +
          " WHERE id = $1",
      incident.id(), ToMicros(now), ToMicros(review_due));
  LoadIncident(tx, incident.id(), now, &incident);
  Record(tx, incident, actor, "RESOLVED", "resolved by " + actor + (why.empty() ? "" : ": " + why));
  Schedule(tx, kReviewDueJob, "review:" + incident.id(),
           nlohmann::json{{"incident_id", incident.id()}}.dump(), review_due);
}

grpc::Status Lifecycle::Transition(
    const std::string& what, const std::string& id,
    const std::function<grpc::Status(pqxx::transaction_base&, v1::Incident&)>& fn) {
  if (id.empty()) return Invalid("id: required");
  return pool_.Transact(what, [&](pqxx::transaction_base& tx) {
    v1::Incident incident;
    grpc::Status found = LoadIncidentByTypedId(tx, id, "id", clock_.Now(), &incident, true);
    return found.ok() ? fn(tx, incident) : found;
  });
}

grpc::Status Lifecycle::Declare(const v1::DeclareIncidentRequest& request, const std::string& actor,
                                std::string* incident_id) {
  FieldErrors errors;
  if (request.title().empty()) errors.Add("title", "required");
  errors.AddIfLonger("title", request.title(), kMaxTitleCharacters);
  errors.AddIfLonger("service", request.service(), kMaxNameCharacters);
  errors.AddIfLonger("environment", request.environment(), kMaxNameCharacters);
  errors.AddIfLonger("commander", request.commander(), kMaxNameCharacters);
  errors.AddIfLonger("summary", request.summary(), kMaxNoteCharacters);
  Severity severity = Severity::kSev3;
  if (request.severity().empty()) {
    errors.Add("severity", "required (SEV1, SEV2, SEV3 or SEV4)");
  } else if (!ParseSeverity(request.severity(), &severity)) {
    errors.Add("severity", EnumProblem(request.severity(), {"SEV1", "SEV2", "SEV3", "SEV4"}));
  }
  if (!request.escalation_policy().empty()) {
    v1::EscalationPolicy policy;
    grpc::Status s = config_.GetEscalationPolicy(request.escalation_policy(), false, &policy);
    if (s.error_code() == grpc::StatusCode::NOT_FOUND) {
      errors.Add("escalation_policy", "no policy named \"" + request.escalation_policy() + "\"");
    } else if (!s.ok()) {
      return s;
    }
  }
  if (!errors.empty()) return errors.ToStatus();
  return pool_.Transact("declare incident", [&](pqxx::transaction_base& tx) {
    Opening o;
    o.title = request.title();
    o.severity = severity;
    o.service = request.service();
    o.environment = request.environment();
    o.commander = request.commander();
    o.declared_by = actor;
    o.escalation_policy = !request.escalation_policy().empty()
                              ? request.escalation_policy()
                              : config_.ReadSettings(tx).default_escalation_policy;
    o.actor = actor;
    o.message = "declared by " + actor + " (" + SeverityName(severity) + ")" +
                (request.summary().empty() ? "" : ": " + request.summary());
    return OpenIn(tx, o, incident_id);
  });
}

namespace {

// The note a transition may carry (the request's `message`).
grpc::Status CheckNote(const std::string& note) {
  FieldErrors errors;
  errors.AddIfLonger("message", note, kMaxNoteCharacters);
  return errors.ToStatus();
}

}  // namespace

grpc::Status Lifecycle::Acknowledge(const std::string& id, const std::string& actor,
                                    const std::string& note) {
  if (grpc::Status s = CheckNote(note); !s.ok()) return s;
  return Transition("acknowledge incident", id, [&](pqxx::transaction_base& tx, v1::Incident& i) {
    if (i.state() != v1::Incident::TRIGGERED) return WrongState(i, "only a TRIGGERED incident can be acknowledged");
    AcknowledgeLocked(tx, i, actor, note);
    return grpc::Status::OK;
  });
}

grpc::Status Lifecycle::Resolve(const std::string& id, const std::string& actor, const std::string& note) {
  if (grpc::Status s = CheckNote(note); !s.ok()) return s;
  return Transition("resolve incident", id, [&](pqxx::transaction_base& tx, v1::Incident& i) {
    if (!IsOpen(i)) return WrongState(i, "only a TRIGGERED or ACKNOWLEDGED incident can be resolved");
    ResolveLocked(tx, i, actor, note);
    return grpc::Status::OK;
  });
}

grpc::Status Lifecycle::Escalate(const std::string& id, const std::string& actor, const std::string& note) {
  if (id.empty()) return Invalid("id: required");
  if (grpc::Status s = CheckNote(note); !s.ok()) return s;
  v1::EscalationPolicy policy;
  v1::Incident current;
  if (grpc::Status s = PolicyOf(id, &policy, &current); !s.ok()) return s;
  return Transition("escalate incident", current.id(), [&](pqxx::transaction_base& tx, v1::Incident& i) {
    if (!IsOpen(i)) return WrongState(i, "only a TRIGGERED or ACKNOWLEDGED incident can be escalated");
    int next = i.escalation_level();
    if (next >= policy.levels_size()) {
      return WrongState(i, "no further level in escalation policy \"" + i.escalation_policy() + "\" (" +
                               std::to_string(policy.levels_size()) + " levels)");
    }
    EscalateLocked(tx, i, policy, next, actor, WithNote("escalated by " + actor, note));
    return grpc::Status::OK;
  });
}

grpc::Status Lifecycle::PostStatusUpdate(const std::string& id, const std::string& actor,
                                         const std::string& message) {
  FieldErrors errors;
  if (id.empty()) errors.Add("id", "required");
  if (message.empty()) errors.Add("message", "required");
  errors.AddIfLonger("message", message, kMaxNoteCharacters);
  if (!errors.empty()) return errors.ToStatus();
  return Transition("post status update", id, [&](pqxx::transaction_base& tx, v1::Incident& i) {
    if (i.state() == v1::Incident::CLOSED) return WrongState(i, "a CLOSED incident takes no updates");
    Clock::TimePoint now = clock_.Now();
    std::optional<long long> next_us;
    if (IsOpen(i)) {
      if (auto next = NextUpdateDue(static_cast<Severity>(i.severity()), now)) next_us = ToMicros(*next);
    }
    Sql(tx, "incidents_update_insert",
        "INSERT INTO incidents.status_updates (incident_id, at, author, message) VALUES ($1, " + At(2) +
            ", $3, $4)",
        i.id(), ToMicros(now), actor, message);
    Sql(tx, "incidents_update_reset",
        "UPDATE incidents.incidents SET last_update_at = " + At(2) + ", next_update_due = " + At(3) +
            ", updated_at = " + At(2) + " WHERE id = $1",
        i.id(), ToMicros(now), next_us);
    LoadIncident(tx, i.id(), now, &i);
    Record(tx, i, actor, "STATUS_UPDATE", message);
    ScheduleDeadlines(tx, i);
    return grpc::Status::OK;
  });
}

namespace {

// AddAction's fields, alone or inside a review (`field` is "" or "actions[2].").
void CheckAction(const v1::AddActionRequest& action, const std::string& field, FieldErrors* errors) {
  if (action.title().empty()) errors->Add(field + "title", "required");
  if (action.owner().empty()) errors->Add(field + "owner", "required");
  errors->AddIfLonger(field + "title", action.title(), kMaxTitleCharacters);
  errors->AddIfLonger(field + "owner", action.owner(), kMaxNameCharacters);
  errors->AddIfLonger(field + "tracking_url", action.tracking_url(), kMaxUrlCharacters);
}

}  // namespace

void Lifecycle::AddActionLocked(pqxx::transaction_base& tx, const v1::Incident& incident,
                                const v1::AddActionRequest& request, const std::string& actor,
                                v1::ActionItem* out) {
  std::optional<long long> due_us;
  if (request.has_due()) due_us = MicrosOf(request.due());
  Clock::TimePoint now = clock_.Now();
  pqxx::result r = Sql(tx, "incidents_action_insert",
                       "INSERT INTO incidents.actions (incident_id, title, owner, due, state, "
                       "tracking_url, created_at) VALUES ($1, $2, $3, " + At(4) + ", 'OPEN', $5, " +
                           At(6) + ") RETURNING " + kActionColumns,
                       incident.id(), request.title(), request.owner(), due_us, request.tracking_url(),
                       ToMicros(now));
  ActionFromRow(r[0], now, out);
  Record(tx, incident, actor, "ACTION_ADDED",
         "action " + out->id() + " added for " + request.owner() + ": " + request.title(),
         nlohmann::json{{"action_id", out->id()}}.dump());
}

grpc::Status Lifecycle::SubmitReview(const v1::SubmitReviewRequest& request, const std::string& actor) {
  FieldErrors errors;
  if (request.id().empty()) errors.Add("id", "required");
  if (request.summary().empty()) errors.Add("summary", "required");
  errors.AddIfLonger("summary", request.summary(), kMaxNoteCharacters);
  errors.AddIfLonger("impact", request.impact(), kMaxReviewCharacters);
  errors.AddIfLonger("root_cause", request.root_cause(), kMaxReviewCharacters);
  errors.AddIfLonger("timeline_notes", request.timeline_notes(), kMaxReviewCharacters);
  for (int i = 0; i < request.actions_size(); ++i) {
    CheckAction(request.actions(i), "actions[" + std::to_string(i) + "].", &errors);
  }
  if (!errors.empty()) return errors.ToStatus();
  return Transition("submit review", request.id(), [&](pqxx::transaction_base& tx, v1::Incident& i) {
    if (i.state() != v1::Incident::RESOLVED) {
      return WrongState(i, "a review is submitted for a RESOLVED incident");
    }
    Sql(tx, "incidents_review_upsert",
        "INSERT INTO incidents.reviews (incident_id, summary, impact, root_cause, timeline_notes, "
        "author, submitted_at) VALUES ($1, $2, $3, $4, $5, $6, " + At(7) + ") ON CONFLICT (incident_id) "
        "DO UPDATE SET summary = excluded.summary, impact = excluded.impact, root_cause = "
        "excluded.root_cause, timeline_notes = excluded.timeline_notes, author = excluded.author, "
        "submitted_at = excluded.submitted_at",
        i.id(), request.summary(), request.impact(), request.root_cause(), request.timeline_notes(),
        actor, ToMicros(clock_.Now()));
    Record(tx, i, actor, "REVIEW_SUBMITTED", "review submitted by " + actor + ": " + request.summary());
    // Its actions in the same transaction: a review is never half in. Closing is CloseIncident's.
    for (const v1::AddActionRequest& action : request.actions()) {
      v1::ActionItem added;
      AddActionLocked(tx, i, action, actor, &added);
    }
    return grpc::Status::OK;
  });
}

grpc::Status Lifecycle::AddAction(const v1::AddActionRequest& request, const std::string& actor,
                                  v1::ActionItem* out) {
  FieldErrors errors;
  if (request.id().empty()) errors.Add("id", "required");
  CheckAction(request, "", &errors);
  if (!errors.empty()) return errors.ToStatus();
  return Transition("add action", request.id(), [&](pqxx::transaction_base& tx, v1::Incident& i) {
    if (i.state() == v1::Incident::CLOSED) return WrongState(i, "a CLOSED incident takes no new actions");
    AddActionLocked(tx, i, request, actor, out);
    return grpc::Status::OK;
  });
}

grpc::Status Lifecycle::Close(const std::string& id, const std::string& actor, const std::string& note) {
  if (grpc::Status s = CheckNote(note); !s.ok()) return s;
  return Transition("close incident", id, [&](pqxx::transaction_base& tx, v1::Incident& i) {
    if (i.state() == v1::Incident::CLOSED) return WrongState(i, "it is closed already");
    if (i.state() != v1::Incident::RESOLVED) {
      return WrongState(i, "only a RESOLVED incident can be closed: resolve it, submit its review, then close it");
    }
    std::vector<std::string> missing;
    // Worded for REST and fdctl users alike: no command names in it.
    if (!HasReview(tx, i.id())) missing.push_back("no review submitted yet");
    std::vector<std::string> open = ActionsHoldingOpen(tx, i.id());
    if (!open.empty()) {
      std::string list;
      for (const std::string& a : open) list += (list.empty() ? "" : ", ") + a;
      missing.push_back(std::to_string(open.size()) + (open.size() == 1 ? " action is" : " actions are") +
                        " still open: " + list +
                        " (complete each, or mark it tracked elsewhere with a tracking_url)");
    }
    if (!missing.empty()) {
      std::string why;
      for (const std::string& m : missing) why += (why.empty() ? "" : "; ") + m;
      return WrongState(i, "cannot close it: " + why);
    }
    MarkClosed(tx, i.id(), clock_.Now());
    LoadIncident(tx, i.id(), clock_.Now(), &i);
    Record(tx, i, actor, "CLOSED",
           WithNote("closed by " + actor + ": the review is in and every action is done or tracked", note));
    return grpc::Status::OK;
  });
}

grpc::Status Lifecycle::CompleteAction(const v1::CompleteActionRequest& request,
                                       const std::string& actor, v1::ActionItem* out) {
  FieldErrors errors;
  if (request.id().empty()) errors.Add("id", "required");
  errors.AddIfLonger("tracking_url", request.tracking_url(), kMaxUrlCharacters);
  if (!errors.empty()) return errors.ToStatus();
  return pool_.Transact("complete action", [&](pqxx::transaction_base& tx) {
    Clock::TimePoint now = clock_.Now();
    auto lock = [&](const std::string& id) {
      return Sql(tx, "incidents_action_lock",
                 std::string("SELECT ") + kActionColumns + " FROM incidents.actions WHERE id = $1 FOR UPDATE", id);
    };
    pqxx::result r = lock(request.id());
    if (r.empty()) {
      std::string id;
      if (grpc::Status s = ResolveActionId(tx, request.id(), "id", &id); !s.ok()) return s;
      r = lock(id);
      if (r.empty()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "action " + request.id() + " not found");
    }
    ActionFromRow(r[0], now, out);
    const std::string action_id = out->id();
    if (out->state() == v1::ActionItem::DONE) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "action " + action_id + " is DONE already");
    }
    v1::Incident incident;
    LoadIncident(tx, out->incident_id(), now, &incident, true);
    std::string message;
    if (!request.tracking_url().empty()) {
      r = Sql(tx, "incidents_action_track",
              "UPDATE incidents.actions SET tracking_url = $2 WHERE id = $1 RETURNING " +
                  std::string(kActionColumns),
              action_id, request.tracking_url());
      message = "action " + action_id + " tracked at " + request.tracking_url() + " by " + actor;
    } else {
      r = Sql(tx, "incidents_action_done",
              "UPDATE incidents.actions SET state = 'DONE', completed_at = " + At(2) +
                  ", completed_by = $3 WHERE id = $1 RETURNING " + std::string(kActionColumns),
              action_id, ToMicros(now), actor);
      message = "action " + action_id + " done (" + actor + ")";
    }
    ActionFromRow(r[0], now, out);
    Record(tx, incident, actor, "ACTION_COMPLETED", message,
           nlohmann::json{{"action_id", out->id()}}.dump());
    return grpc::Status::OK;
  });
}

}  // namespace flightdeck::incidents
