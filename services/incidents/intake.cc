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
#include "services/incidents/alert_store.h"
#include "services/incidents/config_store.h"
#include "services/incidents/incident_store.h"
#include "services/incidents/intake_parse.h"
#include "services/incidents/lifecycle.h"
#include "services/incidents/matchers.h"
#include "services/incidents/severity.h"
#include "services/incidents/validation.h"

namespace flightdeck::incidents {
namespace {

std::string LabelOf(const Labels& labels, const std::string& name) {
  auto it = labels.find(name);
  return it == labels.end() ? std::string() : it->second;
}

std::optional<long long> MicrosOpt(const std::optional<Clock::TimePoint>& t) {
  if (!t) return std::nullopt;
  return ToMicros(*t);
}

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

enum class Action { kFire, kResolve, kAcknowledge };

// Consecutive deliveries of one action for one alert key (received order): one row of one
// multi-row statement. A key's k-th run is written in the batch's k-th round, so that a key's
// deliveries take effect in the order received (fire, resolve, fire: a resolved occurrence and
// a new one) while different keys share each statement.
struct Run {
  Action action = Action::kFire;
  std::vector<size_t> alerts;  // indexes into the batch
  AlertRow row;                // the occurrence it touched (id 0: none, an acknowledge of nothing)
  bool resolved_firing = false;
};
using RunsByKey = std::map<AlertKey, std::vector<Run>>;

AlertValues ValuesOf(const AlertInput& a, Severity critical) {
  AlertValues v;
  v.key = AlertKey{a.integration, a.fingerprint};
  v.labels = &a.labels;
  v.annotations = &a.annotations;
  v.starts_us = MicrosOpt(a.starts_at);
  v.ends_us = MicrosOpt(a.ends_at);
  v.generator_url = a.generator_url;
  v.source = a.source;
  v.severity = SeverityName(SeverityOf(a, critical));
  v.summary = a.summary.empty() ? LabelOf(a.labels, "alertname") : a.summary;
  return v;
}

// Writes every key's `round`-th run: at most one statement per kind of run. A new occurrence of
// a key in `attach_on_insert` is inserted in that incident.
grpc::Status WriteRound(pqxx::transaction_base& tx, const std::vector<AlertValues>& values, RunsByKey& runs,
                        size_t round, const std::map<AlertKey, std::string>& attach_on_insert,
                        Clock::TimePoint now) {
  std::vector<FiringRun> fires;
  std::vector<ResolveRun> resolves;
  std::vector<AlertKey> acknowledges;
  std::map<AlertKey, Run*> of_key;
  for (auto& [key, key_runs] : runs) {
    if (round >= key_runs.size()) continue;
    Run& run = key_runs[round];
    of_key[key] = &run;
    const AlertValues& first = values[run.alerts.front()];
    int n = static_cast<int>(run.alerts.size());
    if (run.action == Action::kFire) {
      auto attach = attach_on_insert.find(key);
      fires.push_back(FiringRun{&first, &values[run.alerts.back()], n,
                                attach == attach_on_insert.end() ? std::string() : attach->second});
    }
    if (run.action == Action::kResolve) resolves.push_back(ResolveRun{&first, n});
    if (run.action == Action::kAcknowledge) acknowledges.push_back(key);
  }
  std::map<AlertKey, AlertRow> upserted = UpsertFiring(tx, fires, now);
  for (const FiringRun& f : fires) {
    auto it = upserted.find(f.last->key);
    if (it == upserted.end()) {
      return grpc::Status(grpc::StatusCode::INTERNAL, "the upsert returned no row for fingerprint " + f.last->key.fingerprint);
    }
    of_key[f.last->key]->row = it->second;
  }
  // A resolve resolves the firing occurrence, else counts on the latest, else is recorded as a
  // resolved occurrence of a never-seen alert.
  std::map<AlertKey, AlertRow> resolved = ResolveFiring(tx, resolves, now);
  std::vector<ResolveRun> not_firing;
  for (const ResolveRun& r : resolves) {
    auto it = resolved.find(r.first->key);
    if (it == resolved.end()) {
      not_firing.push_back(r);
      continue;
    }
    of_key[r.first->key]->row = it->second;
    of_key[r.first->key]->resolved_firing = true;
  }
  std::map<AlertKey, AlertRow> counted = CountOnLatest(tx, not_firing, now);
  std::vector<ResolveRun> unknown;
  for (const ResolveRun& r : not_firing) {
    auto it = counted.find(r.first->key);
    if (it == counted.end()) {
      unknown.push_back(r);
    } else {
      of_key[r.first->key]->row = it->second;
    }
  }
  std::map<AlertKey, AlertRow> inserted = InsertResolved(tx, unknown, now);
  for (const ResolveRun& r : unknown) {
    auto it = inserted.find(r.first->key);
    if (it == inserted.end()) {
      return grpc::Status(grpc::StatusCode::INTERNAL, "the insert returned no row for fingerprint " + r.first->key.fingerprint);
    }
    of_key[r.first->key]->row = it->second;
  }
  std::map<AlertKey, AlertRow> firing = FiringOf(tx, acknowledges);
  for (const AlertKey& key : acknowledges) {
    auto it = firing.find(key);
    if (it != firing.end()) of_key[key]->row = it->second;
  }
  return grpc::Status::OK;
}

// The alerts of one batch to hold back or group, decided in memory once the batch's
// occurrences are written: silences and inhibition rules are read once, the firing alerts that
// could inhibit them with one statement; holds are written by one statement, and Flush attaches
// each group's alerts at once.
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

  // Whether some rule's source matchers match `labels` (AlertValues::can_inhibit).
  bool CanInhibit(const Labels& labels) {
    return std::any_of(Rules().begin(), Rules().end(),
                       [&](const InhibitRule& rule) { return MatchesAll(rule.source, labels); });
  }

  // Decides in order: the first active silence that matches holds an alert; else the first
  // rule whose target matches it and one of whose firing sources (oldest first) inhibits it;
  // else it is grouped. An alert decided twice counts as decided last.
  void Decide(const std::vector<StoredAlert>& alerts) {
    if (alerts.empty()) return;
    // A source must carry the target's non-empty `equal` values: the filter narrows the
    // candidates, Inhibits() decides (missing equals empty).
    std::vector<std::string> silenced_by(alerts.size());
    std::vector<std::vector<std::pair<const InhibitRule*, size_t>>> checks(alerts.size());
    std::map<std::string, size_t> filter_index;
    std::vector<std::string> filters;
    for (size_t i = 0; i < alerts.size(); ++i) {
      silenced_by[i] = SilenceOf(alerts[i].labels);
      if (!silenced_by[i].empty()) continue;
      for (const InhibitRule& rule : Rules()) {
        if (!MatchesAll(rule.target, alerts[i].labels)) continue;
        Labels must_have;
        for (const std::string& name : rule.equal) {
          std::string value = LabelOf(alerts[i].labels, name);
          if (!value.empty()) must_have[name] = value;
        }
        auto [it, added] = filter_index.emplace(LabelsJson(must_have), filters.size());
        if (added) filters.push_back(it->first);
        checks[i].emplace_back(&rule, it->second);
      }
    }
    std::vector<std::vector<SourceAlert>> sources = FiringContaining(tx_, filters);
    for (size_t i = 0; i < alerts.size(); ++i) {
      const StoredAlert& alert = alerts[i];
      if (!silenced_by[i].empty()) {
        HoldBack(Hold{alert.id, silenced_by[i], "", ""});
        continue;
      }
      const SourceAlert* inhibitor = nullptr;
      const InhibitRule* by_rule = nullptr;
      for (const auto& [rule, filter] : checks[i]) {
        for (const SourceAlert& source : sources[filter]) {
          if (source.fingerprint == alert.fingerprint) continue;
          if (Inhibits(*rule, source.labels, source.fingerprint, alert.labels, alert.fingerprint)) {
            inhibitor = &source;
            break;
          }
        }
        if (inhibitor != nullptr) {
          by_rule = rule;
          break;
        }
      }
      if (inhibitor != nullptr) {
        HoldBack(Hold{alert.id, "", inhibitor->fingerprint, by_rule->id});
      } else {
        Group(alert);
      }
    }
  }

  // For a batch that only fires, in one round: the incident that each key's new occurrence
  // can be inserted in, so that it is written once (GroupInserted then takes it).
  // Only alerts that nothing can hold back (no active silence matches them, no inhibition rule
  // targets them), of groups with an open incident that they do not raise: a raise is attached
  // after the upsert, under the incident's exclusive lock (the insert takes no lock on the
  // incident: an alert's incident_id is not a foreign key). Batches that resolve or
  // acknowledge lock alert rows after their upsert; with a lock on an incident already held,
  // that could wait in a cycle with a resolve that locks the incident, so they take none.
  std::map<AlertKey, std::string> PlanAttachOnInsert(const std::vector<const AlertValues*>& alerts) {
    std::map<std::string, std::vector<const AlertValues*>> by_group;
    for (const AlertValues* v : alerts) {
      if (!SilenceOf(*v->labels).empty()) continue;
      bool targeted = std::any_of(Rules().begin(), Rules().end(),
                                  [&](const InhibitRule& rule) { return MatchesAll(rule.target, *v->labels); });
      if (!targeted) by_group[GroupKeyOf(*v->labels)].push_back(v);
    }
    std::vector<std::string> group_keys;
    for (const auto& [group_key, members] : by_group) group_keys.push_back(group_key);
    std::map<std::string, Lifecycle::OpenIncident> open = lifecycle_.OpenIncidentsOf(tx_, group_keys);
    std::map<AlertKey, std::string> out;
    for (const auto& [group_key, members] : by_group) {
      auto incident = open.find(group_key);
      if (incident == open.end()) continue;
      bool raises = std::any_of(members.begin(), members.end(), [&](const AlertValues* v) {
        return SeverityNamed(v->severity) < incident->second.severity;
      });
      if (raises) continue;
      for (const AlertValues* v : members) out[v->key] = incident->second.id;
    }
    return out;
  }

  // An alert that its insert stored in `incident_id` (PlanAttachOnInsert): grouped without a
  // decision, and written again only if Flush attaches it elsewhere (that incident resolved
  // meanwhile).
  void GroupInserted(const StoredAlert& alert, const std::string& incident_id) { Group(alert, incident_id); }

  // Writes the holds, then attaches the grouped alerts group by group in group_key order:
  // concurrent batches lock the groups' incidents in one order and cannot deadlock on them. A
  // grouped alert's marks are cleared, whatever hold was decided for it before.
  grpc::Status Flush() {
    std::vector<Hold> holds;
    for (auto& [id, hold] : holds_) holds.push_back(std::move(hold));
    holds_.clear();
    WriteHolds(tx_, holds);
    std::vector<std::pair<std::string, std::string>> grouped;  // (alert id, incident id)
    for (auto& [group_key, alerts] : groups_) {
      std::string incident_id;
      bool opened = false;
      if (grpc::Status s = lifecycle_.AttachAlerts(tx_, alerts, actor_, &incident_id, &opened); !s.ok()) return s;
      Touch(incident_id);
      for (const AlertForIncident& a : alerts) {
        auto stored = stored_in_.find(a.alert_id);
        if (stored != stored_in_.end() && stored->second == incident_id) continue;  // inserted in it
        grouped.emplace_back(a.alert_id, incident_id);
      }
    }
    stored_in_.clear();
    groups_.clear();
    WriteGrouped(tx_, grouped);
    return grpc::Status::OK;
  }

 private:
  std::string SilenceOf(const Labels& labels) {
    for (const auto& [id, matchers] : Silences()) {
      if (MatchesAll(matchers, labels)) return id;
    }
    return {};
  }

  // A silence or an inhibition holds the alert back: stored and marked, in no incident.
  void HoldBack(Hold hold) {
    long long id = hold.id;
    holds_[id] = std::move(hold);
  }

  // Grouping waits for Flush: the alerts of one group attach together. `stored_in`: see
  // GroupInserted.
  void Group(const StoredAlert& alert, const std::string& stored_in = "") {
    if (!stored_in.empty()) stored_in_[std::to_string(alert.id)] = stored_in;
    AlertForIncident in;
    in.alert_id = std::to_string(alert.id);
    in.fingerprint = alert.fingerprint;
    in.alertname = LabelOf(alert.labels, "alertname");
    in.summary = alert.summary.empty() ? in.alertname : alert.summary;
    in.severity = SeverityNamed(alert.severity);
    for (const std::string& name : settings_.group_by) in.group_labels[name] = LabelOf(alert.labels, name);
    in.group_key = GroupKeyOf(alert.labels);
    in.service = LabelOf(alert.labels, "service");
    in.environment = LabelOf(alert.labels, "environment");
    in.escalation_policy = PolicyOf(alert.integration);
    if (in.escalation_policy.empty()) in.escalation_policy = settings_.default_escalation_policy;
    std::vector<AlertForIncident>& group = groups_[in.group_key];
    auto same = [&](const AlertForIncident& a) { return a.alert_id == in.alert_id; };
    group.erase(std::remove_if(group.begin(), group.end(), same), group.end());
    group.push_back(std::move(in));
  }

  // The group_by label values joined ("service=checkout,environment=prod").
  std::string GroupKeyOf(const Labels& labels) const {
    std::string key;
    for (const std::string& name : settings_.group_by) {
      if (!key.empty()) key += ",";
      key += name + "=" + LabelOf(labels, name);
    }
    return key;
  }

  static Severity SeverityNamed(const std::string& name) {
    Severity s = Severity::kSev3;
    return ParseSeverity(name, &s) ? s : Severity::kSev3;
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
  std::map<long long, Hold> holds_;                               // by alert id, until Flush
  std::map<std::string, std::vector<AlertForIncident>> groups_;  // by group_key, until Flush
  std::map<std::string, std::string> stored_in_;                 // alert id -> incident its insert set
  std::vector<std::string> incident_ids_;
};

StoredAlert StoredOf(const AlertValues& v, long long id) {
  StoredAlert a;
  a.id = id;
  a.fingerprint = v.key.fingerprint;
  a.labels = *v.labels;
  a.severity = v.severity;
  a.summary = v.summary;
  a.integration = v.key.integration;
  return a;
}

// What an alert list asks for. Each combination of filters has a statement of its own that names
// only its conditions: one statement with optional ones ("$1 = '' OR incident_id = $1") gets a
// generic plan that can use no index for them and walks the alerts from the newest, 82 to 131 ms
// for an old incident under 300,000 newer alerts. Ids come first, from alerts_by_incident,
// alerts_by_fingerprint or the primary key (index-only when nothing else is filtered), then
// their rows: that form keeps its plan in a prepared statement (see the timeline in
// incident_store.cc).
struct AlertFilters {
  std::string incident_id;
  std::string state;  // as stored: firing, resolved
  std::string fingerprint;
  std::optional<long long> before;  // ids below this one (the page token)
  int limit = 50;
};
enum AlertFilter { kByIncident = 1, kByState = 2, kByFingerprint = 4, kBefore = 8 };
constexpr int kAlertListStatements = 16;  // one for every combination of the four

std::string AlertListName(int filters) { return "incidents_alert_list_" + std::to_string(filters); }

std::string AlertListSql(int filters) {
  std::string where;
  int n = 0;
  auto add = [&](AlertFilter filter, const char* condition) {
    if ((filters & filter) == 0) return;
    where += where.empty() ? " WHERE " : " AND ";
    where += condition + std::to_string(++n);
  };
  add(kByIncident, "incident_id = $");
  add(kByState, "state = $");
  add(kByFingerprint, "fingerprint = $");
  add(kBefore, "id < $");
  return std::string("SELECT ") + kAlertColumns +
         " FROM incidents.alerts WHERE id = ANY (ARRAY(SELECT id FROM incidents.alerts" + where +
         " ORDER BY id DESC LIMIT $" + std::to_string(n + 1) + ")) ORDER BY id DESC";
}

pqxx::result ListAlertRows(pqxx::transaction_base& tx, const AlertFilters& f) {
  int filters = 0;
  std::vector<std::string> params;
  auto add = [&](AlertFilter filter, bool given, std::string value) {
    if (!given) return;
    filters |= filter;
    params.push_back(std::move(value));
  };
  add(kByIncident, !f.incident_id.empty(), f.incident_id);
  add(kByState, !f.state.empty(), f.state);
  add(kByFingerprint, !f.fingerprint.empty(), f.fingerprint);
  add(kBefore, f.before.has_value(), f.before ? std::to_string(*f.before) : "");
  params.push_back(std::to_string(f.limit));
  return db::Exec(tx, AlertListName(filters), pqxx::prepare::make_dynamic_params(params));
}

void Forget(std::vector<StoredAlert>* alerts, long long id) {
  alerts->erase(std::remove_if(alerts->begin(), alerts->end(), [&](const StoredAlert& a) { return a.id == id; }),
                alerts->end());
}

}  // namespace

Intake::Intake(db::Pool& pool, ConfigStore& config, Lifecycle& lifecycle, const Clock& clock)
    : pool_(pool), config_(config), lifecycle_(lifecycle), clock_(clock) {
  PrepareAlertStatements(pool_);
  pool_.Prepare("incidents_integration_policy",
                "SELECT escalation_policy FROM incidents.integrations WHERE name = $1");
  for (int filters = 0; filters < kAlertListStatements; ++filters) {
    pool_.Prepare(AlertListName(filters), AlertListSql(filters));
  }
}

grpc::Status Intake::Ingest(const std::vector<AlertInput>& alerts, const std::string& actor,
                            v1::IngestResponse* out) {
  // Keys are written (and their rows locked) in fingerprint order so that two batches of the
  // same alerts in different orders queue behind each other instead of deadlocking; the
  // deliveries of one key keep the order received, and so do the answers.
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
    std::vector<AlertValues> values;
    values.reserve(alerts.size());
    for (const AlertInput& a : alerts) {
      values.push_back(ValuesOf(a, batch.settings().critical));
      if (a.firing) values.back().can_inhibit = batch.CanInhibit(a.labels);
    }
    RunsByKey runs;
    std::vector<const Run*> run_of(alerts.size());
    size_t rounds = 0;
    for (size_t i : order) {
      const AlertInput& a = alerts[i];
      Action action = a.acknowledge ? Action::kAcknowledge : a.firing ? Action::kFire : Action::kResolve;
      std::vector<Run>& key_runs = runs[values[i].key];
      if (key_runs.empty() || key_runs.back().action != action) key_runs.push_back(Run{action, {}, {}, false});
      key_runs.back().alerts.push_back(i);
      rounds = std::max(rounds, key_runs.size());
    }
    std::map<AlertKey, std::string> attach_on_insert;
    bool only_fires = rounds == 1 && std::all_of(runs.begin(), runs.end(), [](const auto& key_runs) {
      return key_runs.second.front().action == Action::kFire;
    });
    if (only_fires) {
      std::vector<const AlertValues*> last;  // each key's values as stored
      for (const auto& [key, key_runs] : runs) last.push_back(&values[key_runs.front().alerts.back()]);
      attach_on_insert = batch.PlanAttachOnInsert(last);
    }
    for (size_t round = 0; round < rounds; ++round) {
      if (grpc::Status st = WriteRound(tx, values, runs, round, attach_on_insert, now); !st.ok()) return st;
    }
    for (const auto& [key, key_runs] : runs) {
      for (const Run& run : key_runs) {
        for (size_t i : run.alerts) run_of[i] = &run;
      }
    }
    // The batch as it would have gone one delivery at a time: which alerts wait for a
    // decision, which incidents they touch, which occurrences resolved.
    std::vector<StoredAlert> undecided;
    std::map<long long, std::pair<StoredAlert, std::string>> inserted_in;  // by id: (alert, its incident)
    std::vector<std::pair<std::string, std::string>> resolved;  // (fingerprint, incident id)
    std::vector<std::string> to_acknowledge;
    for (size_t i : order) {
      const Run& run = *run_of[i];
      if (run.row.id == 0) continue;  // an acknowledge with nothing firing
      ids[i] = std::to_string(run.row.id);
      if (run.action == Action::kAcknowledge) {
        to_acknowledge.push_back(run.row.incident_id);
      } else if (run.action == Action::kFire) {
        // Attached alerts stay attached; the rest are decided again on every delivery, so that
        // one whose silence ended or whose inhibitor is gone gets grouped.
        if (run.row.inserted && !run.row.incident_id.empty()) {
          inserted_in[run.row.id] = {StoredOf(values[i], run.row.id), run.row.incident_id};
        } else if (run.row.incident_id.empty()) {
          Forget(&undecided, run.row.id);
          undecided.push_back(StoredOf(values[i], run.row.id));
        } else {
          batch.Touch(run.row.incident_id);
        }
      } else if (run.resolved_firing && run.alerts.front() == i) {
        resolved.emplace_back(alerts[i].fingerprint, run.row.incident_id);
        Forget(&undecided, run.row.id);
      }
    }
    // Decided only once the whole batch is stored: an inhibiting alert in the same batch counts.
    // Then the alerts that a resolved one inhibited, which may now be grouped.
    std::vector<std::string> resolved_fingerprints;
    for (const auto& [fingerprint, incident_id] : resolved) resolved_fingerprints.push_back(fingerprint);
    std::vector<std::pair<std::string, StoredAlert>> released = InhibitedBy(tx, resolved_fingerprints);
    std::vector<StoredAlert> to_decide = std::move(undecided);
    for (const auto& [fingerprint, incident_id] : resolved) {
      for (const auto& [by, alert] : released) {
        if (by == fingerprint) to_decide.push_back(alert);
      }
    }
    batch.Decide(to_decide);
    for (const auto& [id, alert_in] : inserted_in) batch.GroupInserted(alert_in.first, alert_in.second);
    if (grpc::Status st = batch.Flush(); !st.ok()) return st;
    std::vector<std::string> resolved_incidents;
    for (const auto& [fingerprint, incident_id] : resolved) {
      if (!incident_id.empty()) resolved_incidents.push_back(incident_id);
    }
    std::vector<std::string> firing = IncidentsStillFiring(tx, resolved_incidents);
    for (const auto& [fingerprint, incident_id] : resolved) {
      if (incident_id.empty()) continue;
      int firing_left = std::count(firing.begin(), firing.end(), incident_id) > 0 ? 1 : 0;
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
    AlertFilters filters{request.incident_id(), state, request.fingerprint(), before, limit + 1};
    pqxx::result r = ListAlertRows(tx, filters);
    // The incident filter may be a number or prefix (ids.h): looked up only when the id as
    // given found nothing, so a full id costs no extra query when it has alerts.
    if (r.empty() && !request.incident_id().empty()) {
      std::string id;
      refused = ResolveIncidentId(tx, request.incident_id(), "incident_id", &id);
      if (!refused.ok()) return grpc::Status::OK;
      if (id != request.incident_id()) {
        filters.incident_id = id;
        r = ListAlertRows(tx, filters);
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
    AlertFilters filters;
    filters.incident_id = incident_id;
    filters.limit = limit;
    pqxx::result r = ListAlertRows(tx, filters);
    for (const pqxx::row& row : r) AlertFromRow(row, &out->emplace_back());
    return grpc::Status::OK;
  });
}

}  // namespace flightdeck::incidents
