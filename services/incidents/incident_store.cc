#include "services/incidents/incident_store.h"

#include <nlohmann/json.hpp>

#include "common/clock/timestamps.h"
#include "common/trace/trace.h"
#include "services/incidents/ids.h"
#include "services/incidents/intake.h"
#include "services/incidents/severity.h"
#include "services/incidents/validation.h"

namespace flightdeck::incidents {
namespace {

std::string Us(const char* column) {
  return std::string("(extract(epoch from ") + column + ") * 1000000)::bigint";
}

const std::string& IncidentColumns() {
  static const std::string columns =
      "i.id, i.title, i.severity, i.service, i.environment, i.state, i.commander, "
      "coalesce(i.group_key, ''), i.group_labels::text, i.declared_by, i.escalation_policy, "
      "i.escalation_level, " + Us("i.opened_at") + ", " + Us("i.acknowledged_at") + ", " +
      Us("i.resolved_at") + ", " + Us("i.closed_at") + ", " + Us("i.ack_deadline") +
      ", i.ack_breached, " + Us("i.next_update_due") + ", " + Us("i.review_due") +
      ", i.deploy_correlated, "
      // Kept by triggers as alerts change (migrations/incidents/0012_incident_counts.sql): a
      // sum of a few rows, not a count of the incident's alerts.
      "(SELECT coalesce(sum(c.alerts), 0)::bigint FROM incidents.incident_counts c WHERE c.incident_id = i.id), "
      "(SELECT coalesce(sum(c.firing), 0)::bigint FROM incidents.incident_counts c WHERE c.incident_id = i.id), "
      "EXISTS (SELECT 1 FROM incidents.reviews r WHERE r.incident_id = i.id)";
  return columns;
}

// Takes the field's mutable accessor, not its result: calling mutable_x() sets x.
template <typename Mutable>
void SetIfPresent(const pqxx::field& f, Mutable mutable_timestamp) {
  if (!f.is_null()) SetTimestamp(mutable_timestamp(), f.as<long long>());
}

void IncidentFromRow(const pqxx::row& row, Clock::TimePoint now, v1::Incident* out) {
  out->Clear();
  out->set_id(row[0].as<std::string>());
  out->set_title(row[1].as<std::string>());
  out->set_severity(static_cast<v1::Incident::Severity>(row[2].as<int>()));
  out->set_service(row[3].as<std::string>());
  out->set_environment(row[4].as<std::string>());
  v1::Incident::State state = v1::Incident::STATE_UNSPECIFIED;
  v1::Incident::State_Parse(row[5].as<std::string>(), &state);
  out->set_state(state);
  out->set_commander(row[6].as<std::string>());
  out->set_group_key(row[7].as<std::string>());
  nlohmann::json labels = nlohmann::json::parse(row[8].as<std::string>(), nullptr, false);
  if (labels.is_object()) {
    for (auto it = labels.begin(); it != labels.end(); ++it) {
      if (it.value().is_string()) (*out->mutable_group_labels())[it.key()] = it.value().get<std::string>();
    }
  }
  out->set_declared_by(row[9].as<std::string>());
  out->set_escalation_policy(row[10].as<std::string>());
  out->set_escalation_level(row[11].as<int>());
  SetIfPresent(row[12], [&] { return out->mutable_opened_at(); });
  SetIfPresent(row[13], [&] { return out->mutable_acknowledged_at(); });
  SetIfPresent(row[14], [&] { return out->mutable_resolved_at(); });
  SetIfPresent(row[15], [&] { return out->mutable_closed_at(); });
  SetIfPresent(row[16], [&] { return out->mutable_ack_deadline(); });
  out->set_ack_breached(row[17].as<bool>());
  SetIfPresent(row[18], [&] { return out->mutable_next_update_due(); });
  SetIfPresent(row[19], [&] { return out->mutable_review_due(); });
  out->set_deploy_correlated(row[20].as<bool>());
  out->set_alert_count(row[21].as<int>());
  out->set_firing_alert_count(row[22].as<int>());
  bool has_review = row[23].as<bool>();
  out->set_review_overdue(state == v1::Incident::RESOLVED && !has_review && !row[19].is_null() &&
                          row[19].as<long long>() < ToMicros(now));
}

void EventFromRow(const pqxx::row& row, v1::IncidentEvent* e) {
  e->set_id(row[0].as<long long>());
  e->set_incident_id(row[1].as<std::string>());
  SetTimestamp(e->mutable_at(), row[2].as<long long>());
  e->set_actor(row[3].as<std::string>());
  e->set_kind(row[4].as<std::string>());
  e->set_message(row[5].as<std::string>());
  e->set_trace_id(row[6].as<std::string>());
  e->set_detail(row[7].as<std::string>());
}

const std::string& EventColumns() {
  static const std::string columns =
      "id, incident_id, " + Us("at") + ", actor, kind, message, trace_id, detail::text";
  return columns;
}

grpc::Status Invalid(const std::string& message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

int PageSize(int requested, grpc::Status* status) {
  if (requested < 0 || requested > kMaxPage) {
    *status = Invalid("page_size: must be between 1 and " + std::to_string(kMaxPage) + " (0 for the default 50)");
    return 0;
  }
  return requested == 0 ? 50 : requested;
}

}  // namespace

const char kActionColumns[] =
    "id, incident_id, title, owner, (extract(epoch from due) * 1000000)::bigint, state, "
    "tracking_url, (extract(epoch from created_at) * 1000000)::bigint, "
    "(extract(epoch from completed_at) * 1000000)::bigint, completed_by";

std::string At(int n) {
  return "(timestamptz 'epoch' + $" + std::to_string(n) + "::bigint * interval '1 microsecond')";
}

std::string StateName(v1::Incident::State s) { return v1::Incident::State_Name(s); }

grpc::Status NotFound(const std::string& id) {
  return grpc::Status(grpc::StatusCode::NOT_FOUND, "incident " + id + " not found");
}

grpc::Status WrongState(const v1::Incident& incident, const std::string& why) {
  return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                      "incident " + incident.id() + " is " + StateName(incident.state()) + ": " + why);
}

bool LoadIncident(pqxx::transaction_base& tx, const std::string& id, Clock::TimePoint now,
                  v1::Incident* out, bool for_update) {
  if (for_update) {
    // Lock first (aggregates cannot be selected FOR UPDATE), then read.
    pqxx::result lock = Sql(tx, "incidents_lock", "SELECT id FROM incidents.incidents WHERE id = $1 FOR UPDATE", id);
    if (lock.empty()) return false;
  }
  pqxx::result r = Sql(tx, "incidents_get",
                       "SELECT " + IncidentColumns() + " FROM incidents.incidents i WHERE i.id = $1", id);
  if (r.empty()) return false;
  IncidentFromRow(r[0], now, out);
  return true;
}

namespace {

grpc::Status ResolveId(pqxx::transaction_base& tx, IdKind kind, const char* statement,
                       const char* table, const std::string& typed, const std::string& field,
                       std::string* id) {
  const IdLookup lookup = LookupOf(kind, typed);
  std::vector<std::string> found;
  for (const pqxx::row& row :
       Sql(tx, statement,
           std::string("SELECT id FROM ") + table + " WHERE id = $1 OR ($2 <> '' AND id LIKE $2 || '%') "
           "ORDER BY length(id), id LIMIT $3",
           lookup.exact, lookup.prefix, kIdCandidates)) {
    found.push_back(row[0].as<std::string>());
  }
  return PickId(kind, field, typed, lookup, found, id);
}

}  // namespace

grpc::Status ResolveIncidentId(pqxx::transaction_base& tx, const std::string& typed,
                               const std::string& field, std::string* id) {
  return ResolveId(tx, IdKind::kIncident, "incidents_resolve_id", "incidents.incidents", typed, field, id);
}

grpc::Status ResolveActionId(pqxx::transaction_base& tx, const std::string& typed,
                             const std::string& field, std::string* id) {
  return ResolveId(tx, IdKind::kAction, "incidents_action_resolve_id", "incidents.actions", typed, field, id);
}

grpc::Status LoadIncidentByTypedId(pqxx::transaction_base& tx, const std::string& typed,
                                   const std::string& field, Clock::TimePoint now, v1::Incident* out,
                                   bool for_update) {
  if (typed.empty()) return Invalid(field + ": required");
  if (LoadIncident(tx, typed, now, out, for_update)) return grpc::Status::OK;
  std::string id;
  if (grpc::Status s = ResolveIncidentId(tx, typed, field, &id); !s.ok()) return s;
  if (!LoadIncident(tx, id, now, out, for_update)) return NotFound(typed);
  return grpc::Status::OK;
}

bool HasReview(pqxx::transaction_base& tx, const std::string& incident_id) {
  return !Sql(tx, "incidents_has_review", "SELECT 1 FROM incidents.reviews WHERE incident_id = $1",
              incident_id).empty();
}

std::vector<std::string> ActionsHoldingOpen(pqxx::transaction_base& tx, const std::string& incident_id) {
  std::vector<std::string> out;
  for (const pqxx::row& row : Sql(tx, "incidents_actions_holding_open",
                                  "SELECT id, title FROM incidents.actions WHERE incident_id = $1 AND "
                                  "state = 'OPEN' AND tracking_url = '' ORDER BY created_at, id",
                                  incident_id)) {
    out.push_back(row[0].as<std::string>() + " \"" + row[1].as<std::string>() + "\"");
  }
  return out;
}

void MarkClosed(pqxx::transaction_base& tx, const std::string& incident_id, Clock::TimePoint now) {
  Sql(tx, "incidents_close",
      "UPDATE incidents.incidents SET state = 'CLOSED', closed_at = " + At(2) + ", updated_at = " +
          At(2) + " WHERE id = $1",
      incident_id, ToMicros(now));
}

long long InsertEvent(pqxx::transaction_base& tx, const std::string& incident_id,
                      Clock::TimePoint at, const std::string& actor, const std::string& kind,
                      const std::string& message, const std::string& detail_json) {
  trace::SpanContext ctx = trace::CurrentContext();
  std::string trace_id = ctx.IsValid() ? ctx.TraceIdHex() : "";
  pqxx::result r = Sql(tx, "incidents_event_insert",
                       "INSERT INTO incidents.events (incident_id, at, actor, kind, message, trace_id, detail) "
                       "VALUES ($1, " + At(2) + ", $3, $4, $5, $6, $7::jsonb) RETURNING id",
                       incident_id, ToMicros(at), actor, kind, message, trace_id, detail_json);
  return r[0][0].as<long long>();
}

long long FoldCountsOfEndedSessions(pqxx::transaction_base& tx) {
  // SKIP LOCKED: a row a live session is updating (its pid reused since) or another fold holds
  // is left alone; a deleted row that a session then writes again is inserted anew by it.
  pqxx::result r = Sql(tx, "incidents_fold_counts",
                       "WITH ended AS (DELETE FROM incidents.incident_counts WHERE (incident_id, backend) IN "
                       "(SELECT incident_id, backend FROM incidents.incident_counts WHERE backend <> 0 AND backend "
                       "NOT IN (SELECT pid FROM pg_stat_activity WHERE pid IS NOT NULL) FOR UPDATE SKIP LOCKED) "
                       "RETURNING incident_id, alerts, firing, events), "
                       "folded AS (INSERT INTO incidents.incident_counts AS c (incident_id, backend, alerts, firing, events) "
                       "SELECT incident_id, 0, sum(alerts), sum(firing), sum(events) FROM ended "
                       "GROUP BY incident_id ORDER BY incident_id ON CONFLICT (incident_id, backend) DO UPDATE "
                       "SET alerts = c.alerts + excluded.alerts, firing = c.firing + excluded.firing, "
                       "events = c.events + excluded.events) "
                       "SELECT count(*) FROM ended");
  return r[0][0].as<long long>();
}

void ActionFromRow(const pqxx::row& row, Clock::TimePoint now, v1::ActionItem* out) {
  out->Clear();
  out->set_id(row[0].as<std::string>());
  out->set_incident_id(row[1].as<std::string>());
  out->set_title(row[2].as<std::string>());
  out->set_owner(row[3].as<std::string>());
  SetIfPresent(row[4], [&] { return out->mutable_due(); });
  bool open = row[5].as<std::string>() == "OPEN";
  out->set_state(open ? v1::ActionItem::OPEN : v1::ActionItem::DONE);
  out->set_tracking_url(row[6].as<std::string>());
  SetIfPresent(row[7], [&] { return out->mutable_created_at(); });
  SetIfPresent(row[8], [&] { return out->mutable_completed_at(); });
  out->set_completed_by(row[9].as<std::string>());
  out->set_overdue(open && !row[4].is_null() && row[4].as<long long>() < ToMicros(now));
}

IncidentStore::IncidentStore(db::Pool& pool, const Clock& clock, Intake* intake)
    : pool_(pool), clock_(clock), intake_(intake) {}

grpc::Status IncidentStore::Get(const std::string& typed_id, v1::Incident* out) {
  Clock::TimePoint now = clock_.Now();
  std::string id;
  grpc::Status s = pool_.Transact("get incident", [&](pqxx::transaction_base& tx) {
    if (grpc::Status found = LoadIncidentByTypedId(tx, typed_id, "id", now, out); !found.ok()) return found;
    id = out->id();
    // The newest page of events, answered oldest first; one more tells whether there are more.
    // The page's ids come from events_incident alone (an index-only scan), then its rows: asked
    // for whole rows, the planner walked the primary key from the newest event and filtered by
    // incident, reading every later event of every incident (0.18 s for an alert storm's
    // incident under 300,000 newer events). The events page below does the same.
    pqxx::result events = Sql(tx, "incidents_timeline",
                              "SELECT " + EventColumns() + " FROM incidents.events WHERE id = ANY (ARRAY("
                              "SELECT id FROM incidents.events WHERE incident_id = $1 ORDER BY id DESC "
                              "LIMIT $2)) ORDER BY id",
                              id, kDetailPage + 1);
    const bool more_events = static_cast<int>(events.size()) > kDetailPage;
    for (int i = more_events ? 1 : 0; i < static_cast<int>(events.size()); ++i) {
      EventFromRow(events[i], out->add_timeline());
    }
    out->set_timeline_truncated(more_events);
    out->set_timeline_count(
        more_events ? Sql(tx, "incidents_timeline_count",
                          "SELECT coalesce(sum(events), 0)::bigint FROM incidents.incident_counts "
                          "WHERE incident_id = $1", id)[0][0].as<int>()
                    : static_cast<int>(events.size()));
    for (const pqxx::row& row : Sql(tx, "incidents_updates",
                                    "SELECT id, " + Us("at") + ", author, message FROM "
                                    "incidents.status_updates WHERE incident_id = $1 ORDER BY id", id)) {
      v1::StatusUpdate* u = out->add_updates();
      u->set_id(row[0].as<long long>());
      SetTimestamp(u->mutable_at(), row[1].as<long long>());
      u->set_author(row[2].as<std::string>());
      u->set_message(row[3].as<std::string>());
    }
    for (const pqxx::row& row : Sql(tx, "incidents_related",
                                    "SELECT release_id, version, commit_sha, state, " + Us("created_at") +
                                    ", " + Us("finished_at") + ", rollback_requested, note FROM "
                                    "incidents.related_releases WHERE incident_id = $1 ORDER BY linked_at, release_id", id)) {
      v1::RelatedRelease* r = out->add_related_releases();
      r->set_release_id(row[0].as<std::string>());
      r->set_version(row[1].as<std::string>());
      r->set_commit_sha(row[2].as<std::string>());
      r->set_state(row[3].as<std::string>());
      SetIfPresent(row[4], [&] { return r->mutable_created_at(); });
      SetIfPresent(row[5], [&] { return r->mutable_finished_at(); });
      r->set_rollback_requested(row[6].as<bool>());
      r->set_note(row[7].as<std::string>());
    }
    pqxx::result review = Sql(tx, "incidents_review_get",
                              "SELECT summary, impact, root_cause, timeline_notes, author, " +
                              Us("submitted_at") + " FROM incidents.reviews WHERE incident_id = $1", id);
    if (!review.empty()) {
      v1::Review* rv = out->mutable_review();
      rv->set_summary(review[0][0].as<std::string>());
      rv->set_impact(review[0][1].as<std::string>());
      rv->set_root_cause(review[0][2].as<std::string>());
      rv->set_timeline_notes(review[0][3].as<std::string>());
      rv->set_author(review[0][4].as<std::string>());
      SetTimestamp(rv->mutable_submitted_at(), review[0][5].as<long long>());
    }
    for (const pqxx::row& row : Sql(tx, "incidents_actions_of",
                                    std::string("SELECT ") + kActionColumns +
                                    " FROM incidents.actions WHERE incident_id = $1 ORDER BY created_at, id", id)) {
      ActionFromRow(row, now, out->add_actions());
    }
    return grpc::Status::OK;
  });
  if (!s.ok() || intake_ == nullptr) return s;
  std::vector<v1::Alert> alerts;
  grpc::Status a = intake_->AlertsOfIncident(id, kDetailPage + 1, &alerts);
  if (!a.ok()) return a;
  out->set_alerts_truncated(static_cast<int>(alerts.size()) > kDetailPage);
  if (out->alerts_truncated()) alerts.resize(kDetailPage);
  for (v1::Alert& alert : alerts) *out->add_alerts() = std::move(alert);
  return grpc::Status::OK;
}

grpc::Status IncidentStore::ResolveId(const std::string& typed, std::string* id) {
  Clock::TimePoint now = clock_.Now();
  return pool_.Transact("resolve incident id", [&](pqxx::transaction_base& tx) {
    v1::Incident incident;
    if (grpc::Status s = LoadIncidentByTypedId(tx, typed, "id", now, &incident); !s.ok()) return s;
    *id = incident.id();
    return grpc::Status::OK;
  });
}

grpc::Status IncidentStore::ListEvents(const v1::ListIncidentEventsRequest& request,
                                       v1::ListIncidentEventsResponse* out) {
  FieldErrors errors;
  if (request.id().empty()) errors.Add("id", "required");
  if (request.page_size() < 0 || request.page_size() > kMaxPage) {
    errors.Add("page_size", "must be between 1 and " + std::to_string(kMaxPage) + " (0 for the default " +
                                std::to_string(kDetailPage) + ")");
  }
  const int limit = request.page_size() == 0 ? kDetailPage : request.page_size();
  // page_token: "e<id of the last event of the previous page>".
  long long after = 0;
  const std::string& token = request.page_token();
  if (!token.empty()) {
    if (token.size() < 2 || token.size() > 19 || token[0] != 'e' ||
        token.find_first_not_of("0123456789", 1) != std::string::npos) {
      errors.Add("page_token", "not a token returned by ListIncidentEvents");
    } else {
      after = std::stoll(token.substr(1));
    }
  }
  if (!errors.empty()) return errors.ToStatus();
  Clock::TimePoint now = clock_.Now();
  return pool_.Transact("list incident events", [&](pqxx::transaction_base& tx) {
    v1::Incident incident;
    if (grpc::Status s = LoadIncidentByTypedId(tx, request.id(), "id", now, &incident); !s.ok()) return s;
    out->Clear();
    pqxx::result rows = Sql(tx, "incidents_events_page",
                            "SELECT " + EventColumns() + " FROM incidents.events WHERE id = ANY (ARRAY("
                            "SELECT id FROM incidents.events WHERE incident_id = $1 AND id > $2 "
                            "ORDER BY id LIMIT $3)) ORDER BY id",
                            incident.id(), after, limit + 1);
    for (int i = 0; i < static_cast<int>(rows.size()) && i < limit; ++i) EventFromRow(rows[i], out->add_events());
    if (static_cast<int>(rows.size()) > limit) {
      out->set_next_page_token("e" + std::to_string(out->events(limit - 1).id()));
    }
    return grpc::Status::OK;
  });
}

grpc::Status IncidentStore::List(const v1::ListIncidentsRequest& request,
                                 v1::ListIncidentsResponse* out) {
  FieldErrors errors;
  grpc::Status page_status;
  int limit = PageSize(request.page_size(), &page_status);
  errors.Add(page_status);
  // OPEN: not yet resolved (TRIGGERED or ACKNOWLEDGED).
  std::string state;
  if (!request.state().empty()) {
    state = CanonicalEnum(request.state(), {"TRIGGERED", "ACKNOWLEDGED", "RESOLVED", "CLOSED", "OPEN"});
    if (state.empty()) {
      errors.Add("state", EnumProblem(request.state(), {"TRIGGERED", "ACKNOWLEDGED", "RESOLVED", "CLOSED",
                                                        "OPEN"}) + " (OPEN: not resolved yet)");
    }
  }
  int severity = 0;
  if (!request.severity().empty()) {
    Severity sev;
    if (ParseSeverity(request.severity(), &sev)) {
      severity = static_cast<int>(sev);
    } else {
      errors.Add("severity", EnumProblem(request.severity(), {"SEV1", "SEV2", "SEV3", "SEV4"}));
    }
  }
  // page_token: "<opened_at microseconds>/<id>" of the last incident of the previous page.
  std::optional<long long> after_us;
  std::string after_id;
  if (!request.page_token().empty()) {
    size_t slash = request.page_token().find('/');
    try {
      if (slash == std::string::npos) throw std::invalid_argument("no slash");
      after_us = std::stoll(request.page_token().substr(0, slash));
      after_id = request.page_token().substr(slash + 1);
    } catch (const std::exception&) {
      errors.Add("page_token", "not a token returned by ListIncidents");
    }
  }
  if (!errors.empty()) return errors.ToStatus();
  Clock::TimePoint now = clock_.Now();
  return pool_.Transact("list incidents", [&](pqxx::transaction_base& tx) {
    out->Clear();
    pqxx::result rows = Sql(
        tx, "incidents_list",
        "SELECT " + IncidentColumns() + " FROM incidents.incidents i WHERE "
        "($1 = '' OR ($1 = 'OPEN' AND i.state IN ('TRIGGERED', 'ACKNOWLEDGED')) OR i.state = $1) "
        "AND ($2 = 0 OR i.severity = $2) AND ($3 = '' OR i.service = $3) "
        "AND ($4 = '' OR i.environment = $4) "
        "AND (NOT $5 OR (i.state = 'RESOLVED' AND i.review_due < " + At(6) + " AND NOT EXISTS "
        "(SELECT 1 FROM incidents.reviews r WHERE r.incident_id = i.id))) "
        "AND ($7::bigint IS NULL OR (i.opened_at, i.id) < (" + At(7) + ", $8)) "
        "ORDER BY i.opened_at DESC, i.id DESC LIMIT $9",
        state, severity, request.service(), request.environment(), request.review_overdue(),
        ToMicros(now), after_us, after_id, limit + 1);
    for (int i = 0; i < static_cast<int>(rows.size()) && i < limit; ++i) {
      IncidentFromRow(rows[i], now, out->add_incidents());
    }
    if (static_cast<int>(rows.size()) > limit) {
      const v1::Incident& last = out->incidents(limit - 1);
      out->set_next_page_token(std::to_string(MicrosOf(last.opened_at())) + "/" + last.id());
    }
    return grpc::Status::OK;
  });
}

grpc::Status IncidentStore::ListActions(const v1::ListActionsRequest& request,
                                        v1::ListActionsResponse* out) {
  FieldErrors errors;
  grpc::Status page_status;
  int limit = PageSize(request.page_size(), &page_status);
  errors.Add(page_status);
  std::string state;
  if (!request.state().empty()) {
    state = CanonicalEnum(request.state(), {"OPEN", "DONE"});
    if (state.empty()) errors.Add("state", EnumProblem(request.state(), {"OPEN", "DONE"}));
  }
  long long offset = 0;
  if (!request.page_token().empty()) {
    try {
      offset = std::stoll(request.page_token());
    } catch (const std::exception&) {
      offset = -1;
    }
    if (offset < 0) errors.Add("page_token", "not a token returned by ListActions");
  }
  if (!errors.empty()) return errors.ToStatus();
  Clock::TimePoint now = clock_.Now();
  return pool_.Transact("list actions", [&](pqxx::transaction_base& tx) {
    auto list = [&](const std::string& incident_id) {
      return Sql(
          tx, "incidents_actions_list",
          std::string("SELECT ") + kActionColumns + " FROM incidents.actions WHERE "
          "(NOT $1 OR (state = 'OPEN' AND due < " + At(2) + ")) AND ($3 = '' OR owner = $3) "
          "AND ($4 = '' OR incident_id = $4) AND ($5 = '' OR state = $5) "
          "ORDER BY due NULLS LAST, created_at, id OFFSET $6 LIMIT $7",
          request.overdue(), ToMicros(now), request.owner(), incident_id, state, offset, limit + 1);
    };
    pqxx::result rows = list(request.incident_id());
    // The filter may be a number or prefix (ids.h): looked up only when the id as given found
    // nothing, so a full id costs no extra query when it has actions.
    if (rows.empty() && !request.incident_id().empty()) {
      std::string id;
      if (grpc::Status s = ResolveIncidentId(tx, request.incident_id(), "incident_id", &id); !s.ok()) return s;
      if (id != request.incident_id()) rows = list(id);
    }
    out->Clear();
    for (int i = 0; i < static_cast<int>(rows.size()) && i < limit; ++i) {
      ActionFromRow(rows[i], now, out->add_actions());
    }
    if (static_cast<int>(rows.size()) > limit) out->set_next_page_token(std::to_string(offset + limit));
    return grpc::Status::OK;
  });
}

grpc::Status IncidentStore::GetAction(const std::string& id, v1::ActionItem* out) {
  Clock::TimePoint now = clock_.Now();
  return pool_.Transact("get action", [&](pqxx::transaction_base& tx) {
    pqxx::result r = Sql(tx, "incidents_action_get",
                         std::string("SELECT ") + kActionColumns + " FROM incidents.actions WHERE id = $1", id);
    if (r.empty()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "action " + id + " not found");
    ActionFromRow(r[0], now, out);
    return grpc::Status::OK;
  });
}

grpc::Status IncidentStore::EventsAfter(const std::string& incident_id, long long after_id, int limit,
                                        std::vector<v1::IncidentEvent>* out) {
  return pool_.Transact("watch incidents", [&](pqxx::transaction_base& tx) {
    out->clear();
    for (const pqxx::row& row : Sql(tx, "incidents_events_after",
                                    "SELECT " + EventColumns() + " FROM incidents.events WHERE id > $1 "
                                    "AND ($2 = '' OR incident_id = $2) ORDER BY id LIMIT $3",
                                    after_id, incident_id, limit)) {
      out->emplace_back();
      EventFromRow(row, &out->back());
    }
    return grpc::Status::OK;
  });
}

grpc::Status IncidentStore::LastEventId(long long* out) {
  return pool_.Transact("last incident event", [&](pqxx::transaction_base& tx) {
    *out = Sql(tx, "incidents_events_last", "SELECT coalesce(max(id), 0) FROM incidents.events")[0][0]
               .as<long long>();
    return grpc::Status::OK;
  });
}

}  // namespace flightdeck::incidents
