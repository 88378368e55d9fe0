#include "services/incidents/intake.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <numeric>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "common/clock/timestamps.h"
#include "common/db/db.h"
#include "common/log/log.h"
#include "common/db/detail_json.h"
#include "services/incidents/config_store.h"
#include "services/incidents/incident_store.h"
#include "services/incidents/intake_parse.h"
#include "services/incidents/lifecycle.h"
#include "services/incidents/matchers.h"
#include "services/incidents/severity.h"
#include "services/incidents/validation.h"

namespace flightdeck::incidents {
namespace {

std::string LabelsJson(const Labels& labels) { return nlohmann::json(labels).dump(); }

Labels LabelsFromJson(const std::string& text) {
  Labels out;
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.value().is_string()) out[it.key()] = it.value().get<std::string>();
  }
  return out;
}

std::string LabelOf(const Labels& labels, const std::string& name) {
  auto it = labels.find(name);
  return it == labels.end() ? std::string() : it->second;
}

std::optional<long long> MicrosOpt(const std::optional<Clock::TimePoint>& t) {
  if (!t) return std::nullopt;
  return ToMicros(*t);
}

// A firing alert as stored, enough to decide silences, inhibition and grouping.
struct StoredAlert {
  long long id = 0;
  std::string fingerprint;
  Labels labels;
  std::string severity;
  std::string summary;
  std::string integration;
};

constexpr char kAlertColumns[] =
    "id, fingerprint, state, labels::text, annotations::text, "
    "(extract(epoch from starts_at) * 1000000)::bigint, "
    "(extract(epoch from ends_at) * 1000000)::bigint, generator_url, source, severity, "
    "inhibited_by, silenced_by, coalesce(incident_id, ''), deliveries, "
    "(extract(epoch from first_received_at) * 1000000)::bigint, "
    "(extract(epoch from last_received_at) * 1000000)::bigint, summary, integration";

void AlertFromRow(const pqxx::row& row, v1::Alert* out) {
  out->Clear();
  out->set_id(row[0].as<std::string>());
  out->set_fingerprint(row[1].as<std::string>());
  out->set_state(row[2].as<std::string>() == "firing" ? v1::Alert::FIRING : v1::Alert::RESOLVED);
  for (const auto& [k, v] : LabelsFromJson(row[3].as<std::string>())) (*out->mutable_labels())[k] = v;
  for (const auto& [k, v] : LabelsFromJson(row[4].as<std::string>())) (*out->mutable_annotations())[k] = v;
  if (!row[5].is_null()) SetTimestamp(out->mutable_starts_at(), row[5].as<long long>());
  if (!row[6].is_null()) SetTimestamp(out->mutable_ends_at(), row[6].as<long long>());
  out->set_generator_url(row[7].as<std::string>());
  out->set_source(row[8].as<std::string>());
  out->set_severity(row[9].as<std::string>());
  out->set_inhibited_by(row[10].as<std::string>());
  out->set_inhibited(!out->inhibited_by().empty());
  out->set_silenced_by(row[11].as<std::string>());
  out->set_silenced(!out->silenced_by().empty());
  out->set_incident_id(row[12].as<std::string>());
  out->set_deliveries(row[13].as<int>());
  SetTimestamp(out->mutable_first_received_at(), row[14].as<long long>());
  SetTimestamp(out->mutable_last_received_at(), row[15].as<long long>());
  out->set_summary(row[16].as<std::string>());
  out->set_integration(row[17].as<std::string>());
}

// One batch inside its transaction: decides, for each firing alert not yet attached to an
// incident, whether a silence or an inhibition holds it back, and groups it otherwise; Flush
// then attaches each group's alerts at once.
class Batch {
 public:
  Batch(pqxx::transaction_base& tx, ConfigStore& config, Lifecycle& lifecycle, Clock::TimePoint now,
        const std::string& actor)
      : tx_(tx), config_(config), lifecycle_(lifecycle), now_(now), actor_(actor),
        settings_(config.ReadSettings(tx)) {}

  const ConfigStore::Settings& settings() const { return settings_; }
  const std::vector<std::string>& incident_ids() const { return incident_ids_; }

  void Touch(const std::string& incident_id) {
    if (incident_id.empty()) return;
    if (std::find(incident_ids_.begin(), incident_ids_.end(), incident_id) == incident_ids_.end()) {
      incident_ids_.push_back(incident_id);
    }
  }

  grpc::Status Decide(const StoredAlert& alert) {
    for (const auto& [id, matchers] : Silences()) {
      if (MatchesAll(matchers, alert.labels)) return Hold(alert.id, id, "", "");
    }
    for (const InhibitRule& rule : Rules()) {
      // A source must carry the target's non-empty `equal` values: the index narrows the
      // candidates, Inhibits() decides (missing equals empty).
      Labels must_have;
      for (const std::string& name : rule.equal) {
        std::string value = LabelOf(alert.labels, name);
        if (!value.empty()) must_have[name] = value;
      }
      if (!MatchesAll(rule.target, alert.labels)) continue;
      pqxx::result sources = db::Exec(tx_, "incidents_alert_sources", alert.fingerprint, LabelsJson(must_have));
      for (const pqxx::row& row : sources) {
        std::string source_fp = row[0].as<std::string>();
        if (Inhibits(rule, LabelsFromJson(row[1].as<std::string>()), source_fp, alert.labels, alert.fingerprint)) {
          return Hold(alert.id, "", source_fp, rule.id);
        }
      }
    }
    return Group(alert);
  }

  // Attaches the grouped alerts, group by group in group_key order: concurrent batches lock the
  // groups' incidents in one order and cannot deadlock on them.
  grpc::Status Flush() {
    for (auto& [group_key, alerts] : groups_) {
      std::string incident_id;
      bool opened = false;
      if (grpc::Status s = lifecycle_.AttachAlerts(tx_, alerts, actor_, &incident_id, &opened); !s.ok()) return s;
      Touch(incident_id);
      std::string ids = "{";
      for (const AlertForIncident& a : alerts) ids += (ids.size() > 1 ? "," : "") + a.alert_id;
      db::Exec(tx_, "incidents_alerts_grouped", ids + "}", incident_id);
    }
    groups_.clear();
    return grpc::Status::OK;
  }

 private:
  // A silence or an inhibition holds the alert back: stored and marked, in no incident.
  grpc::Status Hold(long long id, const std::string& silence, const std::string& inhibitor,
                    const std::string& rule) {
    db::Exec(tx_, "incidents_alert_hold", id, silence, inhibitor, rule);
    return grpc::Status::OK;
  }

  // Grouping waits for Flush: the alerts of one group attach together.
  grpc::Status Group(const StoredAlert& alert) {
    AlertForIncident in;
    in.alert_id = std::to_string(alert.id);
    in.fingerprint = alert.fingerprint;
    in.alertname = LabelOf(alert.labels, "alertname");
    in.summary = alert.summary.empty() ? in.alertname : alert.summary;
    if (!ParseSeverity(alert.severity, &in.severity)) in.severity = Severity::kSev3;
    for (const std::string& name : settings_.group_by) {
      std::string value = LabelOf(alert.labels, name);
      in.group_labels[name] = value;
      if (!in.group_key.empty()) in.group_key += ",";
      in.group_key += name + "=" + value;
    }
    in.service = LabelOf(alert.labels, "service");
    in.environment = LabelOf(alert.labels, "environment");
    in.escalation_policy = PolicyOf(alert.integration);
    if (in.escalation_policy.empty()) in.escalation_policy = settings_.default_escalation_policy;
    std::vector<AlertForIncident>& group = groups_[in.group_key];
    auto same = [&](const AlertForIncident& a) { return a.alert_id == in.alert_id; };
    group.erase(std::remove_if(group.begin(), group.end(), same), group.end());
    group.push_back(std::move(in));
    return grpc::Status::OK;
  }

  std::string PolicyOf(const std::string& integration) {
    if (integration.empty()) return {};
    auto it = policies_.find(integration);
    if (it != policies_.end()) return it->second;
    pqxx::result r = db::Exec(tx_, "incidents_integration_policy", integration);
    std::string policy = r.empty() ? std::string() : r[0][0].as<std::string>();
    policies_.emplace(integration, policy);
    return policy;
  }

  const std::vector<std::pair<std::string, Matchers>>& Silences() {
    if (!silences_) silences_ = config_.ReadActiveSilences(tx_, now_);
    return *silences_;
  }
  const std::vector<InhibitRule>& Rules() {
    if (!rules_) rules_ = config_.ReadInhibitRules(tx_);
    return *rules_;
  }

  pqxx::transaction_base& tx_;
  ConfigStore& config_;
  Lifecycle& lifecycle_;
  Clock::TimePoint now_;
  const std::string& actor_;
  ConfigStore::Settings settings_;
  std::optional<std::vector<std::pair<std::string, Matchers>>> silences_;
  std::optional<std::vector<InhibitRule>> rules_;
  std::map<std::string, std::string> policies_;
  std::map<std::string, std::vector<AlertForIncident>> groups_;  // by group_key, until Flush
  std::vector<std::string> incident_ids_;
};

StoredAlert StoredFromRow(const pqxx::row& row) {
  StoredAlert a;
  a.id = row[0].as<long long>();
  a.fingerprint = row[1].as<std::string>();
  a.labels = LabelsFromJson(row[2].as<std::string>());
  a.severity = row[3].as<std::string>();
  a.summary = row[4].as<std::string>();
  a.integration = row[5].as<std::string>();
  return a;
}

}  // namespace

Intake::Intake(db::Pool& pool, ConfigStore& config, Lifecycle& lifecycle, const Clock& clock)
    : pool_(pool), config_(config), lifecycle_(lifecycle), clock_(clock) {
  const std::string stored_columns = "id, fingerprint, labels::text, severity, summary, integration";
  pool_.Prepare("incidents_alert_upsert",
                "INSERT INTO incidents.alerts AS a (fingerprint, state, labels, annotations, starts_at, "
                "ends_at, generator_url, source, integration, severity, summary, first_received_at, "
                "last_received_at) VALUES ($1, 'firing', $2::jsonb, $3::jsonb, " + db::MicrosParam(4) + ", " + db::MicrosParam(5) +
                    ", $6, $7, $8, $9, $10, " + db::MicrosParam(11) + ", " + db::MicrosParam(11) +
                    ") ON CONFLICT (integration, fingerprint) WHERE state = 'firing' DO UPDATE SET "
                    "labels = excluded.labels, annotations = excluded.annotations, "
                    "ends_at = excluded.ends_at, generator_url = excluded.generator_url, "
                    "severity = excluded.severity, summary = excluded.summary, "
                    "last_received_at = excluded.last_received_at, deliveries = a.deliveries + 1 "
                    "RETURNING " + stored_columns + ", coalesce(incident_id, '')");
  pool_.Prepare("incidents_alert_resolve",
                "UPDATE incidents.alerts SET state = 'resolved', ends_at = coalesce(" + db::MicrosParam(2) + ", " +
                    db::MicrosParam(3) + "), last_received_at = " + db::MicrosParam(3) + ", deliveries = deliveries + 1 "
                    "WHERE fingerprint = $1 AND integration = $4 AND state = 'firing' RETURNING id, coalesce(incident_id, '')");
  // A resolve with nothing firing: counted on the latest occurrence, or recorded as a resolved
  // occurrence when the fingerprint was never seen.
  pool_.Prepare("incidents_alert_resolve_again",
                "UPDATE incidents.alerts SET deliveries = deliveries + 1, last_received_at = " + db::MicrosParam(2) +
                    " WHERE id = (SELECT id FROM incidents.alerts WHERE fingerprint = $1 AND integration = $3 "
                    "ORDER BY id DESC LIMIT 1) RETURNING id");
  pool_.Prepare("incidents_alert_insert_resolved",
                "INSERT INTO incidents.alerts (fingerprint, state, labels, annotations, starts_at, "
                "ends_at, generator_url, source, integration, severity, summary, first_received_at, "
                "last_received_at) VALUES ($1, 'resolved', $2::jsonb, $3::jsonb, " + db::MicrosParam(4) +
                    ", coalesce(" + db::MicrosParam(5) + ", " + db::MicrosParam(11) + "), $6, $7, $8, $9, $10, " + db::MicrosParam(11) + ", " +
                    db::MicrosParam(11) + ") RETURNING id");
  pool_.Prepare("incidents_alert_firing",
                "SELECT id, coalesce(incident_id, '') FROM incidents.alerts WHERE fingerprint = $1 AND "
                "integration = $2 AND state = 'firing'");
  pool_.Prepare("incidents_alert_sources",
                "SELECT fingerprint, labels::text FROM incidents.alerts WHERE state = 'firing' AND "
                "fingerprint <> $1 AND labels @> $2::jsonb ORDER BY id");
  pool_.Prepare("incidents_alert_hold",
                "UPDATE incidents.alerts SET silenced_by = $2, inhibited_by = $3, inhibit_rule = $4, "
                "incident_id = NULL WHERE id = $1");
  pool_.Prepare("incidents_alerts_grouped",
                "UPDATE incidents.alerts SET silenced_by = '', inhibited_by = '', inhibit_rule = '', "
                "incident_id = $2 WHERE id = ANY($1::bigint[])");
  pool_.Prepare("incidents_alert_inhibited_by",
                "SELECT " + stored_columns + " FROM incidents.alerts WHERE state = 'firing' AND "
                "inhibited_by = $1 AND incident_id IS NULL ORDER BY id FOR UPDATE");
  // 1 while any alert of the incident fires, else 0: an exists test, not a count.
  pool_.Prepare("incidents_alert_firing_in",
                "SELECT count(*) FROM (SELECT 1 FROM incidents.alerts WHERE incident_id = $1 AND "
                "state = 'firing' LIMIT 1) AS firing");
  pool_.Prepare("incidents_integration_policy",
                "SELECT escalation_policy FROM incidents.integrations WHERE name = $1");
  pool_.Prepare("incidents_alert_list",
                std::string("SELECT ") + kAlertColumns +
                    " FROM incidents.alerts WHERE ($1 = '' OR incident_id = $1) AND ($2 = '' OR state = $2)"
                    " AND ($3 = '' OR fingerprint = $3) AND ($4::bigint IS NULL OR id < $4)"
                    " ORDER BY id DESC LIMIT $5");
}

grpc::Status Intake::Ingest(const std::vector<AlertInput>& alerts, const std::string& actor,
                            v1::IngestResponse* out) {
  // Rows are locked in fingerprint order so that two batches of the same alerts in different
  // orders queue behind each other instead of deadlocking; answers keep the order received.
  std::vector<size_t> order(alerts.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return alerts[a].fingerprint < alerts[b].fingerprint; });
  Clock::TimePoint now = clock_.Now();
  std::vector<std::string> ids;
  std::vector<std::string> incident_ids;
  grpc::Status s = pool_.Transact("ingest alerts", [&](pqxx::transaction_base& tx) {
    ids.assign(alerts.size(), "");
    Batch batch(tx, config_, lifecycle_, now, actor);
    std::vector<StoredAlert> undecided;
    std::vector<std::pair<std::string, std::string>> resolved;  // (fingerprint, incident id)
    std::vector<std::string> to_acknowledge;
    for (size_t i : order) {
      const AlertInput& a = alerts[i];
      if (a.acknowledge) {
        pqxx::result r = db::Exec(tx, "incidents_alert_firing", a.fingerprint, a.integration);
        if (!r.empty()) {
          ids[i] = r[0][0].as<std::string>();
          to_acknowledge.push_back(r[0][1].as<std::string>());
        }
        continue;
      }
      std::string severity = SeverityName(SeverityOf(a, batch.settings().critical));
      std::string summary = a.summary.empty() ? LabelOf(a.labels, "alertname") : a.summary;
      if (a.firing) {
        pqxx::result r = db::Exec(tx, "incidents_alert_upsert", a.fingerprint, LabelsJson(a.labels),
                                  LabelsJson(a.annotations), MicrosOpt(a.starts_at), MicrosOpt(a.ends_at),
                                  a.generator_url, a.source, a.integration, severity, summary, ToMicros(now));
        ids[i] = r[0][0].as<std::string>();
        std::string incident_id = r[0][6].as<std::string>();
        // Attached alerts stay attached; the rest are decided again on every delivery, so that
        // one whose silence ended or whose inhibitor is gone gets grouped.
        if (incident_id.empty()) {
          undecided.erase(std::remove_if(undecided.begin(), undecided.end(),
                                         [&](const StoredAlert& u) { return u.id == r[0][0].as<long long>(); }),
                          undecided.end());
          undecided.push_back(StoredFromRow(r[0]));
        } else {
          batch.Touch(incident_id);
        }
        continue;
      }
      pqxx::result r = db::Exec(tx, "incidents_alert_resolve", a.fingerprint, MicrosOpt(a.ends_at), ToMicros(now),
                                a.integration);
      if (!r.empty()) {
        ids[i] = r[0][0].as<std::string>();
        resolved.emplace_back(a.fingerprint, r[0][1].as<std::string>());
        undecided.erase(std::remove_if(undecided.begin(), undecided.end(),
                                       [&](const StoredAlert& u) { return u.id == r[0][0].as<long long>(); }),
                        undecided.end());
        continue;
      }
      r = db::Exec(tx, "incidents_alert_resolve_again", a.fingerprint, ToMicros(now), a.integration);
      if (r.empty()) {
        r = db::Exec(tx, "incidents_alert_insert_resolved", a.fingerprint, LabelsJson(a.labels),
                     LabelsJson(a.annotations), MicrosOpt(a.starts_at), MicrosOpt(a.ends_at), a.generator_url,
                     a.source, a.integration, severity, summary, ToMicros(now));
      }
      ids[i] = r[0][0].as<std::string>();
    }
    // Decided only once the whole batch is stored: an inhibiting alert in the same batch counts.
    for (const StoredAlert& a : undecided) {
      if (grpc::Status st = batch.Decide(a); !st.ok()) return st;
    }
    for (const auto& [fingerprint, incident_id] : resolved) {
      for (const pqxx::row& row : db::Exec(tx, "incidents_alert_inhibited_by", fingerprint)) {
        if (grpc::Status st = batch.Decide(StoredFromRow(row)); !st.ok()) return st;
      }
    }
    if (grpc::Status st = batch.Flush(); !st.ok()) return st;
    for (const auto& [fingerprint, incident_id] : resolved) {
      if (incident_id.empty()) continue;
      int firing_left = db::Exec(tx, "incidents_alert_firing_in", incident_id)[0][0].as<int>();
      if (grpc::Status st = lifecycle_.OnAlertResolved(tx, incident_id, firing_left, actor); !st.ok()) return st;
      batch.Touch(incident_id);
    }
    for (const std::string& incident_id : to_acknowledge) {
      if (incident_id.empty()) continue;
      if (grpc::Status st = lifecycle_.AcknowledgeIn(tx, incident_id, actor); !st.ok()) return st;
      batch.Touch(incident_id);
    }
    incident_ids = batch.incident_ids();
    return grpc::Status::OK;
  });
  if (!s.ok()) {
    // The batch is not stored: Alertmanager (and PagerDuty clients) retry on 5xx.
    log::Warn("alert batch not stored", {{"alerts", static_cast<long long>(alerts.size())},
                                         {"error", s.error_message()}});
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "alerts not stored (database unavailable); retry");
  }
  out->set_received(static_cast<int>(alerts.size()));
  for (std::string& id : ids) out->add_alert_ids(std::move(id));
  for (std::string& id : incident_ids) out->add_incident_ids(std::move(id));
  return grpc::Status::OK;
}

grpc::Status Intake::PagerDuty(const v1::PagerDutyEvent& event, const std::string& actor,
                               v1::PagerDutyResponse* out) {
  v1::Integration integration;
  grpc::Status s = config_.IntegrationByRoutingKey(event.routing_key(), &integration);
  if (s.error_code() == grpc::StatusCode::NOT_FOUND || event.routing_key().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "routing_key: no integration has this routing key");
  }
  if (!s.ok()) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "looking up the routing key: " + s.error_message());
  IntegrationView view;
  view.name = integration.name();
  view.service = integration.service();
  view.environment = integration.environment();
  Severity sev;
  if (ParseSeverity(integration.severity_override(), &sev)) view.severity_override = sev;
  if (ParseSeverity(integration.default_severity(), &sev)) view.default_severity = sev;
  AlertInput alert;
  std::vector<std::string> errors;
  s = ParsePagerDuty(event, view, &alert, &errors);
  if (!s.ok() || !errors.empty()) {
    std::string message;
    for (const std::string& e : errors) message += (message.empty() ? "" : "\n") + e;
    if (message.empty()) message = s.error_message();
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
  }
  v1::IngestResponse ingested;
  if (s = Ingest({alert}, actor, &ingested); !s.ok()) return s;
  out->set_status("success");
  out->set_message("Event processed");
  out->set_dedup_key(alert.fingerprint);
  return grpc::Status::OK;
}

grpc::Status Intake::ListAlerts(const v1::ListAlertsRequest& request, v1::ListAlertsResponse* out) {
  FieldErrors errors;
  std::string state;
  if (!request.state().empty()) {
    // Stored lower case (Alertmanager's spelling); answered as the Alert.State enum.
    state = CanonicalEnum(request.state(), {"FIRING", "RESOLVED"});
    if (state.empty()) errors.Add("state", EnumProblem(request.state(), {"FIRING", "RESOLVED"}));
    for (char& c : state) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (request.page_size() < 0 || request.page_size() > kMaxPage) {
    errors.Add("page_size", "must be between 1 and " + std::to_string(kMaxPage) + " (0 for the default 50)");
  }
  int limit = request.page_size() == 0 ? 50 : request.page_size();
  std::optional<long long> before;
  if (!request.page_token().empty()) {
    const std::string& t = request.page_token();
    if (t.size() < 2 || t[0] != 'a' || t.size() > 19 ||
        t.find_first_not_of("0123456789", 1) != std::string::npos) {
      errors.Add("page_token", "not a token returned by a previous list call");
    } else {
      before = std::stoll(t.substr(1));
    }
  }
  if (!errors.empty()) return errors.ToStatus();
  grpc::Status refused;  // what the caller typed, not the database, is wrong
  grpc::Status s = pool_.Transact("list alerts", [&](pqxx::transaction_base& tx) {
    out->Clear();
    pqxx::result r = db::Exec(tx, "incidents_alert_list", request.incident_id(), state, request.fingerprint(),
                              before, limit + 1);
    // The incident filter may be a number or prefix (ids.h): looked up only when the id as
    // given found nothing, so a full id costs no extra query when it has alerts.
    if (r.empty() && !request.incident_id().empty()) {
      std::string id;
      refused = ResolveIncidentId(tx, request.incident_id(), "incident_id", &id);
      if (!refused.ok()) return grpc::Status::OK;
      if (id != request.incident_id()) {
        r = db::Exec(tx, "incidents_alert_list", id, state, request.fingerprint(), before, limit + 1);
      }
    }
    for (int i = 0; i < static_cast<int>(r.size()) && i < limit; ++i) AlertFromRow(r[i], out->add_alerts());
    if (static_cast<int>(r.size()) > limit) out->set_next_page_token("a" + out->alerts(limit - 1).id());
    return grpc::Status::OK;
  });
  if (!s.ok()) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "listing alerts: " + s.error_message());
  return refused;
}

grpc::Status Intake::AlertsOfIncident(const std::string& incident_id, int limit, std::vector<v1::Alert>* out) {
  out->clear();
  if (incident_id.empty()) return grpc::Status::OK;
  return pool_.Transact("alerts of incident", [&](pqxx::transaction_base& tx) {
    out->clear();
    pqxx::result r = db::Exec(tx, "incidents_alert_list", incident_id, std::string(), std::string(),
                              std::optional<long long>(), limit);
    for (const pqxx::row& row : r) AlertFromRow(row, &out->emplace_back());
    return grpc::Status::OK;
  });
}

}  // namespace flightdeck::incidents
