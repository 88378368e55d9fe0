#include "services/incidents/alert_store.h"

#include <set>

#include <nlohmann/json.hpp>

#include "common/clock/timestamps.h"
#include "common/db/db.h"
#include "common/protojson/json_text.h"

namespace flightdeck::incidents {
namespace {

// Microseconds since the epoch (a bigint expression, NULL stays NULL) as a timestamptz.
std::string At(const std::string& micros) {
  return "(timestamptz 'epoch' + (" + micros + ") * interval '1 microsecond')";
}

void AddKey(const AlertKey& key, protojson::JsonRows* row) {
  row->Add("fingerprint", key.fingerprint);
  row->Add("integration", key.integration);
}

// Every row the statement returned, by its (fingerprint, integration, id, incident id) columns.
std::map<AlertKey, AlertRow> Rows(const pqxx::result& r) {
  std::map<AlertKey, AlertRow> out;
  for (const pqxx::row& row : r) {
    AlertRow& a = out[AlertKey{row[1].as<std::string>(), row[0].as<std::string>()}];
    a.id = row[2].as<long long>();
    a.incident_id = row.size() > 3 ? row[3].as<std::string>() : std::string();
    a.inserted = row.size() > 4 && row[4].as<bool>();
  }
  return out;
}

std::string ResolveRuns(const std::vector<ResolveRun>& runs) {
  protojson::JsonRows rows;
  for (const ResolveRun& r : runs) {
    rows.Row();
    AddKey(r.first->key, &rows);
    rows.Add("ends_us", r.first->ends_us);
    rows.Add("n", static_cast<long long>(r.deliveries));
    rows.EndRow();
  }
  return rows.Done();
}

constexpr char kValueColumns[] =
    "fingerprint text, integration text, labels jsonb, annotations jsonb, starts_us bigint, ends_us bigint, "
    "generator_url text, source text, severity text, summary text, can_inhibit boolean";

// All of kValueColumns except the key. `starts_us` and `source` come from `first`: an insert keeps
// the first delivery's; the rest from `v`.
void AddValues(const AlertValues& v, const AlertValues& first, protojson::JsonRows* row) {
  row->Add("labels", *v.labels);
  row->Add("annotations", *v.annotations);
  row->Add("starts_us", first.starts_us);
  row->Add("ends_us", v.ends_us);
  row->Add("generator_url", v.generator_url);
  row->Add("source", first.source);
  row->Add("severity", v.severity);
  row->Add("summary", v.summary);
  row->AddBool("can_inhibit", v.can_inhibit);
}

// A PostgreSQL text[] literal, every element quoted.
std::string TextArray(const std::vector<std::string>& items) {
  std::string out = "{";
  for (const std::string& item : items) {
    out += out.size() > 1 ? ",\"" : "\"";
    for (char c : item) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

}  // namespace

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

void PrepareAlertStatements(db::Pool& pool) {
  const std::string now = At("$2::bigint");
  // Rows are inserted, hence locked, in the order of the array: the caller's key order. An
  // update leaves incident_id alone: an occurrence already firing keeps its incident, or waits
  // for the caller's decision. `xmax = 0` holds for a row this statement inserted only (an
  // updated row carries this transaction's lock): PostgreSQL's own way of telling them apart.
  pool.Prepare("incidents_alerts_upsert",
               "INSERT INTO incidents.alerts AS a (fingerprint, state, labels, annotations, starts_at, ends_at, "
               "generator_url, source, integration, severity, summary, first_received_at, last_received_at, "
               "deliveries, incident_id, can_inhibit) SELECT r.fingerprint, 'firing', r.labels, r.annotations, " +
                   At("r.starts_us") + ", " + At("r.ends_us") + ", r.generator_url, r.source, r.integration, "
                   "r.severity, r.summary, " + now + ", " + now + ", r.n, r.incident_id, r.can_inhibit "
                   "FROM jsonb_to_recordset($1::jsonb) AS r(" + kValueColumns + ", n int, incident_id text) "
                   "ON CONFLICT (integration, fingerprint) WHERE state = 'firing' DO UPDATE SET "
                   "labels = excluded.labels, annotations = excluded.annotations, ends_at = excluded.ends_at, "
                   "generator_url = excluded.generator_url, severity = excluded.severity, "
                   "summary = excluded.summary, last_received_at = excluded.last_received_at, "
                   "deliveries = a.deliveries + excluded.deliveries, can_inhibit = excluded.can_inhibit "
                   "RETURNING a.fingerprint, a.integration, a.id, coalesce(a.incident_id, ''), a.xmax = 0");
  // Rows an UPDATE joins to its input are locked in the join's order, which the planner picks:
  // both updates lock theirs first, in the upsert's key order (fingerprint, then integration,
  // byte order), so that two batches resolving the same alerts (an Alertmanager HA pair) queue.
  const std::string key_order = " ORDER BY x.fingerprint COLLATE \"C\", x.integration COLLATE \"C\" FOR UPDATE OF x";
  pool.Prepare("incidents_alerts_resolve",
               "WITH target AS (SELECT x.id, r.ends_us, r.n FROM incidents.alerts x JOIN jsonb_to_recordset($1::jsonb) "
               "AS r(fingerprint text, integration text, ends_us bigint, n int) ON x.fingerprint = r.fingerprint "
               "AND x.integration = r.integration WHERE x.state = 'firing'" + key_order + ") "
               "UPDATE incidents.alerts AS a SET state = 'resolved', ends_at = coalesce(" + At("t.ends_us") + ", " +
                   now + "), last_received_at = " + now + ", deliveries = a.deliveries + t.n FROM target t "
                   "WHERE a.id = t.id RETURNING a.fingerprint, a.integration, a.id, coalesce(a.incident_id, '')");
  pool.Prepare("incidents_alerts_count_on_latest",
               "WITH target AS (SELECT x.id, l.n FROM (SELECT r.n, (SELECT y.id FROM incidents.alerts y "
               "WHERE y.fingerprint = r.fingerprint AND y.integration = r.integration ORDER BY y.id DESC LIMIT 1) "
               "AS id FROM jsonb_to_recordset($1::jsonb) AS r(fingerprint text, integration text, n int)) AS l "
               "JOIN incidents.alerts x ON x.id = l.id" + key_order + ") "
               "UPDATE incidents.alerts AS a SET deliveries = a.deliveries + t.n, last_received_at = " + now +
                   " FROM target t WHERE a.id = t.id RETURNING a.fingerprint, a.integration, a.id");
  pool.Prepare("incidents_alerts_insert_resolved",
               "INSERT INTO incidents.alerts (fingerprint, state, labels, annotations, starts_at, ends_at, "
               "generator_url, source, integration, severity, summary, first_received_at, last_received_at, "
               "deliveries) SELECT r.fingerprint, 'resolved', r.labels, r.annotations, " + At("r.starts_us") +
                   ", coalesce(" + At("r.ends_us") + ", " + now + "), r.generator_url, r.source, r.integration, "
                   "r.severity, r.summary, " + now + ", " + now + ", r.n FROM jsonb_to_recordset($1::jsonb) AS r(" +
                   kValueColumns + ", n int) RETURNING fingerprint, integration, id");
  pool.Prepare("incidents_alerts_firing_of",
               "SELECT a.fingerprint, a.integration, a.id, coalesce(a.incident_id, '') FROM incidents.alerts a "
               "JOIN jsonb_to_recordset($1::jsonb) AS r(fingerprint text, integration text) "
               "ON a.fingerprint = r.fingerprint AND a.integration = r.integration WHERE a.state = 'firing'");
  // The GIN index alerts_firing_sources answers each filter: it holds the firing alerts that
  // some rule's source matchers match, the only ones that can inhibit.
  pool.Prepare("incidents_alerts_containing",
               "SELECT f.n, a.fingerprint, a.labels::text FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY "
               "AS f(filter, n) JOIN incidents.alerts a ON a.state = 'firing' AND a.can_inhibit "
               "AND a.labels @> f.filter ORDER BY f.n, a.id");
  pool.Prepare("incidents_alerts_inhibited_by",
               "SELECT inhibited_by, id, fingerprint, labels::text, severity, summary, integration "
               "FROM incidents.alerts WHERE state = 'firing' AND inhibited_by = ANY($1::text[]) AND "
               "incident_id IS NULL ORDER BY id FOR UPDATE");
  pool.Prepare("incidents_alerts_hold",
               "UPDATE incidents.alerts AS a SET silenced_by = h.silence, inhibited_by = h.inhibitor, "
               "inhibit_rule = h.rule, incident_id = NULL FROM jsonb_to_recordset($1::jsonb) AS "
               "h(id bigint, silence text, inhibitor text, rule text) WHERE a.id = h.id");
  pool.Prepare("incidents_alerts_group",
               "UPDATE incidents.alerts AS a SET silenced_by = '', inhibited_by = '', inhibit_rule = '', "
               "incident_id = g.incident_id FROM jsonb_to_recordset($1::jsonb) AS g(id bigint, incident_id text) "
               "WHERE a.id = g.id");
  // An exists test per incident, not a count (alerts_firing_by_incident answers it).
  pool.Prepare("incidents_alerts_still_firing",
               "SELECT i FROM unnest($1::text[]) AS i WHERE EXISTS (SELECT 1 FROM incidents.alerts a "
               "WHERE a.incident_id = i AND a.state = 'firing')");
}

std::map<AlertKey, AlertRow> UpsertFiring(pqxx::transaction_base& tx, const std::vector<FiringRun>& runs,
                                          Clock::TimePoint now) {
  if (runs.empty()) return {};
  protojson::JsonRows rows;
  for (const FiringRun& r : runs) {
    rows.Row();
    AddKey(r.last->key, &rows);
    AddValues(*r.last, *r.first, &rows);  // starts_us and source kept from the first when inserted
    rows.Add("n", static_cast<long long>(r.deliveries));
    if (!r.attach_to.empty()) rows.Add("incident_id", r.attach_to);
    rows.EndRow();
  }
  return Rows(db::Exec(tx, "incidents_alerts_upsert", rows.Done(), ToMicros(now)));
}

std::map<AlertKey, AlertRow> ResolveFiring(pqxx::transaction_base& tx, const std::vector<ResolveRun>& runs,
                                           Clock::TimePoint now) {
  if (runs.empty()) return {};
  return Rows(db::Exec(tx, "incidents_alerts_resolve", ResolveRuns(runs), ToMicros(now)));
}

std::map<AlertKey, AlertRow> CountOnLatest(pqxx::transaction_base& tx, const std::vector<ResolveRun>& runs,
                                           Clock::TimePoint now) {
  if (runs.empty()) return {};
  return Rows(db::Exec(tx, "incidents_alerts_count_on_latest", ResolveRuns(runs), ToMicros(now)));
}

std::map<AlertKey, AlertRow> InsertResolved(pqxx::transaction_base& tx, const std::vector<ResolveRun>& runs,
                                            Clock::TimePoint now) {
  if (runs.empty()) return {};
  protojson::JsonRows rows;
  for (const ResolveRun& r : runs) {
    rows.Row();
    AddKey(r.first->key, &rows);
    AddValues(*r.first, *r.first, &rows);
    rows.Add("n", static_cast<long long>(r.deliveries));
    rows.EndRow();
  }
  return Rows(db::Exec(tx, "incidents_alerts_insert_resolved", rows.Done(), ToMicros(now)));
}

std::map<AlertKey, AlertRow> FiringOf(pqxx::transaction_base& tx, const std::vector<AlertKey>& keys) {
  if (keys.empty()) return {};
  protojson::JsonRows rows;
  for (const AlertKey& k : keys) {
    rows.Row();
    AddKey(k, &rows);
    rows.EndRow();
  }
  return Rows(db::Exec(tx, "incidents_alerts_firing_of", rows.Done()));
}

std::vector<std::vector<SourceAlert>> FiringContaining(pqxx::transaction_base& tx,
                                                       const std::vector<std::string>& filters_json) {
  std::vector<std::vector<SourceAlert>> out(filters_json.size());
  if (filters_json.empty()) return out;
  std::string filters = "[";
  for (const std::string& f : filters_json) filters += (filters.size() > 1 ? "," : "") + f;
  filters += "]";
  for (const pqxx::row& row : db::Exec(tx, "incidents_alerts_containing", filters)) {
    out[row[0].as<size_t>() - 1].push_back(SourceAlert{row[1].as<std::string>(), LabelsFromJson(row[2].as<std::string>())});
  }
  return out;
}

std::vector<std::pair<std::string, StoredAlert>> InhibitedBy(pqxx::transaction_base& tx,
                                                             const std::vector<std::string>& fingerprints) {
  std::vector<std::pair<std::string, StoredAlert>> out;
  if (fingerprints.empty()) return out;
  std::set<std::string> distinct(fingerprints.begin(), fingerprints.end());
  std::string array = TextArray({distinct.begin(), distinct.end()});
  for (const pqxx::row& row : db::Exec(tx, "incidents_alerts_inhibited_by", array)) {
    StoredAlert a;
    a.id = row[1].as<long long>();
    a.fingerprint = row[2].as<std::string>();
    a.labels = LabelsFromJson(row[3].as<std::string>());
    a.severity = row[4].as<std::string>();
    a.summary = row[5].as<std::string>();
    a.integration = row[6].as<std::string>();
    out.emplace_back(row[0].as<std::string>(), std::move(a));
  }
  return out;
}

void WriteHolds(pqxx::transaction_base& tx, const std::vector<Hold>& holds) {
  if (holds.empty()) return;
  protojson::JsonRows rows;
  for (const Hold& h : holds) {
    rows.Row();
    rows.Add("id", h.id);
    rows.Add("silence", h.silence);
    rows.Add("inhibitor", h.inhibitor);
    rows.Add("rule", h.rule);
    rows.EndRow();
  }
  db::Exec(tx, "incidents_alerts_hold", rows.Done());
}

void WriteGrouped(pqxx::transaction_base& tx, const std::vector<std::pair<std::string, std::string>>& alerts) {
  if (alerts.empty()) return;
  protojson::JsonRows rows;
  for (const auto& [alert_id, incident_id] : alerts) {
    rows.Row();
    rows.Add("id", std::stoll(alert_id));
    rows.Add("incident_id", incident_id);
    rows.EndRow();
  }
  db::Exec(tx, "incidents_alerts_group", rows.Done());
}

std::vector<std::string> IncidentsStillFiring(pqxx::transaction_base& tx, const std::vector<std::string>& incident_ids) {
  std::vector<std::string> out;
  if (incident_ids.empty()) return out;
  std::string array = TextArray(incident_ids);
  for (const pqxx::row& row : db::Exec(tx, "incidents_alerts_still_firing", array)) out.push_back(row[0].as<std::string>());
  return out;
}

}  // namespace flightdeck::incidents
