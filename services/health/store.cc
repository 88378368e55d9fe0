#include "services/health/store.h"

#include <mutex>
#include <set>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "common/clock/timestamps.h"
#include "common/db/db.h"
#include "common/jobs/jobs.h"
#include "common/db/detail_json.h"
#include "common/log/log.h"
#include "services/health/target.h"
#include "services/health/target_secrets.h"

namespace flightdeck::health {
namespace {

std::string Us(const std::string& column) {
  return "(extract(epoch from " + column + ") * 1000000)::bigint";
}

// A PostgreSQL array literal of quoted elements: safe for any text, JSON included.
std::string ArrayLiteral(const std::vector<std::string>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

template <typename T>
std::string NumberArray(const std::vector<T>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(items[i]);
  }
  return out + "}";
}

const std::string kTargetColumns =
    "t.name, t.spec::text, t.shard, t.revision, t.deleted_at IS NOT NULL, " + Us("t.created_at") +
    ", t.created_by, coalesce(s.status, 'UNKNOWN'), " + Us("coalesce(s.since, t.created_at)") +
    ", coalesce(s.consecutive_successes, 0), coalesce(s.consecutive_failures, 0), "
    "s.last_result::text, s.recent::text";
const std::string kTargetFrom =
    " FROM health.targets t LEFT JOIN health.target_state s ON s.target = t.name ";

// Once per target and process: the coordinator re-reads its targets on every sync.
bool FirstComplaintAbout(const std::string& target) {
  static std::mutex mu;
  static std::set<std::string> complained;
  std::lock_guard<std::mutex> lock(mu);
  return complained.insert(target).second;
}

void TargetFromRow(const pqxx::row& row, const secrets::KeyRing& keys, TargetRecord* out) {
  v1::HealthTarget& t = out->target;
  t.Clear();
  db::FromDetailJson(row[1].as<std::string>(), &t);
  t.set_name(row[0].as<std::string>());
  DefaultAddedFields(&t);
  if (grpc::Status s = OpenTargetSecrets(keys, &t); !s.ok() && FirstComplaintAbout(t.name())) {
    log::Warn("health target url cannot be opened; its probes will fail",
              {{"target", t.name()}, {"error", s.error_message()}});
  }
  out->shard = row[2].as<int>();
  out->revision = row[3].as<long long>();
  out->deleted = row[4].as<bool>();
  out->created_at = FromMicros(row[5].as<long long>());
  SetTimestamp(t.mutable_created_at(), out->created_at);
  t.set_created_by(row[6].as<std::string>());
  out->state.status = StatusFromName(row[7].as<std::string>());
  out->state.since = FromMicros(row[8].as<long long>());
  out->state.consecutive_successes = row[9].as<int>();
  out->state.consecutive_failures = row[10].as<int>();
  t.set_status(out->state.status);
  SetTimestamp(t.mutable_status_since(), out->state.since);
  t.set_consecutive_successes(out->state.consecutive_successes);
  t.set_consecutive_failures(out->state.consecutive_failures);
  if (!row[11].is_null()) db::FromDetailJson(row[11].as<std::string>(), t.mutable_last_result());
  out->recent.clear();
  if (!row[12].is_null()) {
    nlohmann::json recent = nlohmann::json::parse(row[12].as<std::string>(), nullptr, false);
    if (recent.is_array()) {
      for (const auto& item : recent) {
        out->recent.emplace_back();
        db::FromDetailDocument(item, &out->recent.back());
      }
    }
  }
}

// The settings part of a target, as stored in `spec`.
std::string SpecJson(const v1::HealthTarget& target) {
  v1::HealthTarget spec = target;
  spec.clear_status();
  spec.clear_status_since();
  spec.clear_consecutive_successes();
  spec.clear_consecutive_failures();
  spec.clear_last_result();
  spec.clear_recent_results();
  spec.clear_stats();
  spec.clear_created_at();
  spec.clear_created_by();
  return db::DetailJson(spec);
}

const std::string kEventColumns =
    "id, " + Us("at") + ", kind, target, service, environment, from_status, to_status, reason, "
    "alert, delivery";

void EventFromRow(const pqxx::row& row, v1::HealthEvent* e) {
  e->Clear();
  e->set_id(row[0].as<long long>());
  SetTimestamp(e->mutable_at(), row[1].as<long long>());
  e->set_kind(row[2].as<std::string>());
  e->set_target(row[3].as<std::string>());
  e->set_service(row[4].as<std::string>());
  e->set_environment(row[5].as<std::string>());
  e->set_from(StatusFromName(row[6].as<std::string>()));
  e->set_to(StatusFromName(row[7].as<std::string>()));
  e->set_reason(row[8].as<std::string>());
  e->set_alert(row[9].as<std::string>());
  e->set_delivery(row[10].as<std::string>());
}

long long InsertEvent(pqxx::transaction_base& tx, const v1::HealthEvent& e) {
  pqxx::row row = db::Exec(tx, "health_event_insert", MicrosOf(e.at()), e.kind(), e.target(),
                           e.service(), e.environment(), StatusName(e.from()), StatusName(e.to()),
                           e.reason(), e.alert(), e.delivery())[0];
  return row[0].as<long long>();
}

std::vector<int> Shards(const pqxx::result& result) {
  std::vector<int> out;
  for (const auto& row : result) out.push_back(row[0].as<int>());
  return out;
}

}  // namespace

namespace {
const secrets::KeyRing kNoKeys;
}  // namespace

HealthStore::HealthStore(db::Pool& pool, jobs::Queue* jobs, const secrets::KeyRing* keys)
    : pool_(pool), jobs_(jobs), keys_(keys != nullptr ? *keys : kNoKeys) {
  pool_.Prepare("health_target_insert",
                "INSERT INTO health.targets (name, service, environment, role, kind, shard, spec, "
                "created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, " + db::MicrosParam(8) + ", $9) "
                "ON CONFLICT (name) DO UPDATE SET service = EXCLUDED.service, environment = "
                "EXCLUDED.environment, role = EXCLUDED.role, kind = EXCLUDED.kind, spec = EXCLUDED.spec, "
                "created_at = EXCLUDED.created_at, created_by = EXCLUDED.created_by, deleted_at = NULL, "
                "revision = nextval('health.target_revision') "
                "WHERE health.targets.deleted_at IS NOT NULL RETURNING name");
  pool_.Prepare("health_state_reset",
                "INSERT INTO health.target_state (target, status, since, updated_at) VALUES ($1, "
                "'UNKNOWN', " + db::MicrosParam(2) + ", '-infinity') ON CONFLICT (target) DO UPDATE SET "
                "status = 'UNKNOWN', since = EXCLUDED.since, consecutive_successes = 0, "
                "consecutive_failures = 0, last_result = NULL, recent = '[]', updated_at = EXCLUDED.updated_at");
  pool_.Prepare("health_ring_clear", "DELETE FROM health.result_ring WHERE target = $1");
  pool_.Prepare("health_target_get",
                "SELECT " + kTargetColumns + kTargetFrom + "WHERE t.name = $1 AND t.deleted_at IS NULL");
  pool_.Prepare("health_target_list",
                "SELECT " + kTargetColumns + kTargetFrom +
                    "WHERE t.deleted_at IS NULL AND ($1 = '' OR t.service = $1) AND "
                    "($2 = '' OR t.environment = $2) AND t.name > $3 ORDER BY t.name LIMIT $4");
  pool_.Prepare("health_target_delete",
                "UPDATE health.targets SET deleted_at = " + db::MicrosParam(2) +
                    ", revision = nextval('health.target_revision') WHERE name = $1 AND "
                    "deleted_at IS NULL RETURNING name");
  pool_.Prepare("health_target_purge",
                "WITH gone AS (DELETE FROM health.targets WHERE deleted_at < " + db::MicrosParam(1) +
                    " RETURNING name), s AS (DELETE FROM health.target_state WHERE target IN "
                    "(SELECT name FROM gone)), r AS (DELETE FROM health.result_ring WHERE target IN "
                    "(SELECT name FROM gone)) SELECT count(*) FROM gone");
  pool_.Prepare("health_targets_in_shards",
                "SELECT " + kTargetColumns + kTargetFrom +
                    "WHERE t.deleted_at IS NULL AND t.shard = ANY($1::int[]) ORDER BY t.name");
  pool_.Prepare("health_targets_changed",
                "SELECT " + kTargetColumns + kTargetFrom + "WHERE t.revision > $1 ORDER BY t.revision");
  pool_.Prepare("health_targets_max_revision", "SELECT coalesce(max(revision), 0) FROM health.targets");
  pool_.Prepare("health_targets_all",
                "SELECT " + kTargetColumns + kTargetFrom + "WHERE t.deleted_at IS NULL ORDER BY t.name");
  // Multi-row upserts from parallel arrays (one statement per batch, whatever its size). The
  // WHERE keeps a state written by a replica that took the target over from being overwritten
  // by an older batch of the replica that lost it; the join drops results of purged targets.
  pool_.Prepare("health_state_upsert",
                "INSERT INTO health.target_state (target, status, since, consecutive_successes, "
                "consecutive_failures, last_result, recent, updated_at) "
                "SELECT u.target, u.status, timestamptz 'epoch' + u.since * interval '1 microsecond', "
                "u.cs, u.cf, u.last::jsonb, u.recent::jsonb, "
                "timestamptz 'epoch' + u.updated * interval '1 microsecond' "
                "FROM unnest($1::text[], $2::text[], $3::bigint[], $4::int[], $5::int[], $6::text[], "
                "$7::text[], $8::bigint[]) AS u(target, status, since, cs, cf, last, recent, updated) "
                "JOIN health.targets t ON t.name = u.target "
                "ON CONFLICT (target) DO UPDATE SET status = EXCLUDED.status, since = EXCLUDED.since, "
                "consecutive_successes = EXCLUDED.consecutive_successes, consecutive_failures = "
                "EXCLUDED.consecutive_failures, last_result = EXCLUDED.last_result, recent = "
                "EXCLUDED.recent, updated_at = EXCLUDED.updated_at "
                "WHERE health.target_state.updated_at <= EXCLUDED.updated_at");
  // A slot still holding an older minute is overwritten, the same minute is added to.
  pool_.Prepare("health_ring_upsert",
                "INSERT INTO health.result_ring AS r (target, slot, minute, probes, successes, latency) "
                "SELECT u.target, (u.minute % 1440)::smallint, u.minute, u.probes, u.successes, "
                "u.latency::int[] FROM unnest($1::text[], $2::bigint[], $3::int[], $4::int[], "
                "$5::text[]) AS u(target, minute, probes, successes, latency) "
                "ON CONFLICT (target, slot) DO UPDATE SET "
                "probes = CASE WHEN r.minute = EXCLUDED.minute THEN r.probes + EXCLUDED.probes "
                "ELSE EXCLUDED.probes END, "
                "successes = CASE WHEN r.minute = EXCLUDED.minute THEN r.successes + EXCLUDED.successes "
                "ELSE EXCLUDED.successes END, "
                "latency = CASE WHEN r.minute = EXCLUDED.minute THEN (SELECT array_agg(a + b ORDER BY i) "
                "FROM unnest(r.latency, EXCLUDED.latency) WITH ORDINALITY AS x(a, b, i)) "
                "ELSE EXCLUDED.latency END, minute = EXCLUDED.minute "
                "WHERE r.minute <= EXCLUDED.minute");
  pool_.Prepare("health_ring_rows",
                "SELECT minute, probes, successes, latency::text FROM health.result_ring "
                "WHERE target = $1 AND minute BETWEEN $2 AND $3");
  pool_.Prepare("health_event_insert",
                "INSERT INTO health.events (at, kind, target, service, environment, from_status, "
                "to_status, reason, alert, delivery) VALUES (" + db::MicrosParam(1) +
                    ", $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id");
  pool_.Prepare("health_events_list",
                "SELECT " + kEventColumns + " FROM health.events WHERE ($1 = '' OR service = $1) AND "
                "($2 = '' OR environment = $2) AND ($3 = '' OR kind = $3) AND id < $4 "
                "ORDER BY id DESC LIMIT $5");
  pool_.Prepare("health_events_after",
                "SELECT " + kEventColumns + " FROM health.events WHERE id > $1 AND ($2 = '' OR "
                "service = $2) AND ($3 = '' OR environment = $3) ORDER BY id LIMIT $4");
  pool_.Prepare("health_events_max", "SELECT coalesce(max(id), 0) FROM health.events");
  pool_.Prepare("health_event_get", "SELECT " + kEventColumns + " FROM health.events WHERE id = $1");
  pool_.Prepare("health_event_delivery", "UPDATE health.events SET delivery = $2 WHERE id = $1");
  pool_.Prepare("health_service_load",
                "SELECT service, environment, status, " + Us("since") +
                    ", reason, alert_firing FROM health.service_health");
  pool_.Prepare("health_service_get",
                "SELECT service, environment, status, " + Us("since") +
                    ", reason, alert_firing FROM health.service_health WHERE service = $1 AND "
                    "($2 = '' OR environment = $2) ORDER BY environment");
  pool_.Prepare("health_service_upsert",
                "INSERT INTO health.service_health (service, environment, status, since, reason, "
                "alert_firing, updated_at) VALUES ($1, $2, $3, " + db::MicrosParam(4) + ", $5, $6, " + db::MicrosParam(7) +
                    ") ON CONFLICT (service, environment) DO UPDATE SET status = EXCLUDED.status, "
                    "since = EXCLUDED.since, reason = EXCLUDED.reason, alert_firing = "
                    "EXCLUDED.alert_firing, updated_at = EXCLUDED.updated_at");
  pool_.Prepare("health_replica_heartbeat",
                "INSERT INTO health.replicas (owner, heartbeat_at) VALUES ($1, " + db::MicrosParam(2) +
                    ") ON CONFLICT (owner) DO UPDATE SET heartbeat_at = EXCLUDED.heartbeat_at");
  pool_.Prepare("health_replica_forget", "DELETE FROM health.replicas WHERE heartbeat_at < " + db::MicrosParam(1));
  pool_.Prepare("health_replica_count", "SELECT count(*) FROM health.replicas");
  pool_.Prepare("health_lease_renew",
                "UPDATE health.shard_leases SET expires_at = " + db::MicrosParam(2) +
                    " WHERE owner = $1 RETURNING shard");
  // SKIP LOCKED: two replicas acquiring at once split the free shards instead of queueing.
  pool_.Prepare("health_lease_acquire",
                "UPDATE health.shard_leases SET owner = $1, expires_at = " + db::MicrosParam(4) +
                    " WHERE shard IN (SELECT shard FROM health.shard_leases WHERE owner IS NULL OR "
                    "expires_at < " + db::MicrosParam(3) + " ORDER BY shard LIMIT $2 FOR UPDATE SKIP LOCKED) "
                    "RETURNING shard");
  pool_.Prepare("health_lease_release",
                "UPDATE health.shard_leases SET owner = NULL, expires_at = 'epoch' WHERE owner = $1 "
                "AND shard = ANY($2::int[])");
  pool_.Prepare("health_lease_release_all",
                "UPDATE health.shard_leases SET owner = NULL, expires_at = 'epoch' WHERE owner = $1");
  pool_.Prepare("health_replica_leave", "DELETE FROM health.replicas WHERE owner = $1");
}

grpc::Status HealthStore::CreateTarget(const v1::HealthTarget& target, const std::string& actor,
                                       Clock::TimePoint now, TargetRecord* out) {
  v1::HealthTarget stored = target;
  if (grpc::Status s = SealTargetSecrets(keys_, &stored); !s.ok()) return s;
  grpc::Status s = pool_.Transact("create health target", [&](pqxx::transaction_base& tx) {
    pqxx::result r = db::Exec(tx, "health_target_insert", target.name(), target.service(),
                              target.environment(), target.role(), target.kind(),
                              ShardOf(target.name()), SpecJson(stored), ToMicros(now), actor);
    if (r.empty()) {
      return grpc::Status(grpc::StatusCode::ALREADY_EXISTS,
                          "name: a health target named \"" + target.name() + "\" already exists");
    }
    // A revived name starts afresh: no state or history of its predecessor.
    db::Exec(tx, "health_state_reset", target.name(), ToMicros(now));
    db::Exec(tx, "health_ring_clear", target.name());
    return grpc::Status::OK;
  });
  if (!s.ok() || out == nullptr) return s;
  return GetTarget(target.name(), out);
}

grpc::Status HealthStore::GetTarget(const std::string& name, TargetRecord* out) {
  return pool_.Transact("get health target", [&](pqxx::transaction_base& tx) {
    pqxx::result r = db::Exec(tx, "health_target_get", name);
    if (r.empty()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "name: no health target named \"" + name + "\"");
    }
    TargetFromRow(r[0], keys_, out);
    return grpc::Status::OK;
  });
}

grpc::Status HealthStore::ListTargets(const std::string& service, const std::string& environment,
                                      const std::string& after_name, int limit,
                                      std::vector<TargetRecord>* out) {
  return pool_.Transact("list health targets", [&](pqxx::transaction_base& tx) {
    out->clear();
    for (const auto& row : db::Exec(tx, "health_target_list", service, environment, after_name, limit)) {
      out->emplace_back();
      TargetFromRow(row, keys_, &out->back());
    }
    return grpc::Status::OK;
  });
}

grpc::Status HealthStore::DeleteTarget(const std::string& name, Clock::TimePoint now) {
  return pool_.Transact("delete health target", [&](pqxx::transaction_base& tx) {
    if (db::Exec(tx, "health_target_delete", name, ToMicros(now)).empty()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "name: no health target named \"" + name + "\"");
    }
    return grpc::Status::OK;
  });
}

grpc::Status HealthStore::PurgeDeleted(Clock::TimePoint before, int* purged) {
  return pool_.Transact("purge deleted health targets", [&](pqxx::transaction_base& tx) {
    int n = db::Exec(tx, "health_target_purge", ToMicros(before))[0][0].as<int>();
    if (purged != nullptr) *purged = n;
    return grpc::Status::OK;
  });
}

grpc::Status HealthStore::TargetsInShards(const std::vector<int>& shards, std::vector<TargetRecord>* out) {
  return pool_.Transact("load targets of shards", [&](pqxx::transaction_base& tx) {
    out->clear();
    for (const auto& row : db::Exec(tx, "health_targets_in_shards", NumberArray(shards))) {
      out->emplace_back();
      TargetFromRow(row, keys_, &out->back());
    }
    return grpc::Status::OK;
  });
}

grpc::Status HealthStore::ChangesSince(long long revision, std::vector<TargetRecord>* out,
                                       long long* max_revision) {
  return pool_.Transact("load changed targets", [&](pqxx::transaction_base& tx) {
    out->clear();
    for (const auto& row : db::Exec(tx, "health_targets_changed", revision)) {
      out->emplace_back();
      TargetFromRow(row, keys_, &out->back());
      if (out->back().revision > *max_revision) *max_revision = out->back().revision;
    }
    return grpc::Status::OK;
  });
}

grpc::Status HealthStore::MaxRevision(long long* out) {
  return pool_.Transact("max target revision", [&](pqxx::transaction_base& tx) {
    *out = db::Exec(tx, "health_targets_max_revision")[0][0].as<long long>();
    return grpc::Status::OK;
  });
}

grpc::Status HealthStore::AllTargets(std::vector<TargetRecord>* out) {
  return pool_.Transact("load all targets", [&](pqxx::transaction_base& tx) {
    out->clear();
    for (const auto& row : db::Exec(tx, "health_targets_all")) {
      out->emplace_back();
      TargetFromRow(row, keys_, &out->back());
    }
    return grpc::Status::OK;
  });
}

grpc::Status HealthStore::WriteBatch(const std::vector<StateUpdate>& states,
                                     const std::vector<RingIncrement>& ring,
                                     const std::vector<v1::HealthEvent>& events) {
  std::vector<std::string> names, statuses, lasts, recents;
  std::vector<long long> sinces, updated;
  std::vector<int> successes, failures;
  for (const StateUpdate& u : states) {
    names.push_back(u.target);
    statuses.push_back(StatusName(u.state.status));
    sinces.push_back(ToMicros(u.state.since));
    successes.push_back(u.state.consecutive_successes);
    failures.push_back(u.state.consecutive_failures);
    lasts.push_back(db::DetailJson(u.last_result));
    std::string recent = "[";
    for (size_t i = 0; i < u.recent.size(); ++i) {
      if (i > 0) recent += ',';
      recent += db::DetailJson(u.recent[i]);
    }
    recents.push_back(recent + "]");
    updated.push_back(ToMicros(u.updated_at));
  }
  std::vector<std::string> ring_targets, ring_latency;
  std::vector<long long> minutes;
  std::vector<int64_t> probes, oks;
  for (const RingIncrement& r : ring) {
    ring_targets.push_back(r.target);
    minutes.push_back(r.row.minute);
    probes.push_back(r.row.probes);
    oks.push_back(r.row.successes);
    ring_latency.push_back(HistogramLiteral(r.row.latency));
  }
  return pool_.Transact("write probe results", [&](pqxx::transaction_base& tx) {
    if (!names.empty()) {
      db::Exec(tx, "health_state_upsert", ArrayLiteral(names), ArrayLiteral(statuses),
               NumberArray(sinces), NumberArray(successes), NumberArray(failures),
               ArrayLiteral(lasts), ArrayLiteral(recents), NumberArray(updated));
    }
    if (!ring_targets.empty()) {
      db::Exec(tx, "health_ring_upsert", ArrayLiteral(ring_targets), NumberArray(minutes),
               NumberArray(probes), NumberArray(oks), ArrayLiteral(ring_latency));
    }
    for (const v1::HealthEvent& e : events) InsertEvent(tx, e);
    return grpc::Status::OK;
  });
}

grpc::Status HealthStore::RingRows(const std::string& name, long long from_minute, long long to_minute,
                                   std::vector<MinuteRow>* out) {
  return pool_.Transact("read result ring", [&](pqxx::transaction_base& tx) {
    out->clear();
    for (const auto& row : db::Exec(tx, "health_ring_rows", name, from_minute, to_minute)) {
      MinuteRow m;
      m.minute = row[0].as<long long>();
      m.probes = row[1].as<int64_t>();
      m.successes = row[2].as<int64_t>();
      m.latency = ParseHistogramLiteral(row[3].as<std::string>());
      out->push_back(m);
    }
    return grpc::Status::OK;
  });
}

grpc::Status HealthStore::ListEvents(const EventFilter& filter, long long before_id, int limit,
                                     std::vector<v1::HealthEvent>* out) {
  return pool_.Transact("list health events", [&](pqxx::transaction_base& tx) {
    out->clear();
    for (const auto& row : db::Exec(tx, "health_events_list", filter.service, filter.environment,
                                    filter.kind, before_id, limit)) {
      out->emplace_back();
      EventFromRow(row, &out->back());
    }
    return grpc::Status::OK;
  });
}

grpc::Status HealthStore::EventsAfter(long long after_id, const std::string& service,
                                      const std::string& environment, int limit,
                                      std::vector<v1::HealthEvent>* out) {
  return pool_.Transact("read new health events", [&](pqxx::transaction_base& tx) {
    out->clear();
    for (const auto& row : db::Exec(tx, "health_events_after", after_id, service, environment, limit)) {
      out->emplace_back();
      EventFromRow(row, &out->back());
    }
    return grpc::Status::OK;
  });
}

grpc::Status HealthStore::MaxEventId(long long* out) {
  return pool_.Transact("newest health event", [&](pqxx::transaction_base& tx) {
    *out = db::Exec(tx, "health_events_max")[0][0].as<long long>();
    return grpc::Status::OK;
  });
}

grpc::Status HealthStore::GetEvent(long long id, v1::HealthEvent* out) {
  return pool_.Transact("get health event", [&](pqxx::transaction_base& tx) {
    pqxx::result r = db::Exec(tx, "health_event_get", id);
    if (r.empty()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no health event " + std::to_string(id));
    EventFromRow(r[0], out);
    return grpc::Status::OK;
  });
}

grpc::Status HealthStore::SetDelivery(long long event_id, const std::string& delivery) {
  return pool_.Transact("record alert delivery", [&](pqxx::transaction_base& tx) {
    db::Exec(tx, "health_event_delivery", event_id, delivery);
    return grpc::Status::OK;
  });
}

namespace {
ServiceHealthRow ServiceFromRow(const pqxx::row& row) {
  ServiceHealthRow s;
  s.service = row[0].as<std::string>();
  s.environment = row[1].as<std::string>();
  s.status = StatusFromName(row[2].as<std::string>());
  s.since = FromMicros(row[3].as<long long>());
  s.reason = row[4].as<std::string>();
  s.alert_firing = row[5].as<bool>();
  return s;
}
}  // namespace

grpc::Status HealthStore::LoadServiceHealth(std::vector<ServiceHealthRow>* out) {
  return pool_.Transact("load service health", [&](pqxx::transaction_base& tx) {
    out->clear();
    for (const auto& row : db::Exec(tx, "health_service_load")) out->push_back(ServiceFromRow(row));
    return grpc::Status::OK;
  });
}

grpc::Status HealthStore::GetServiceHealth(const std::string& service, const std::string& environment,
                                           std::vector<ServiceHealthRow>* out) {
  return pool_.Transact("get service health", [&](pqxx::transaction_base& tx) {
    out->clear();
    for (const auto& row : db::Exec(tx, "health_service_get", service, environment)) {
      out->push_back(ServiceFromRow(row));
    }
    return grpc::Status::OK;
  });
}

grpc::Status HealthStore::SaveServiceHealth(const ServiceHealthRow& row, std::vector<v1::HealthEvent>* events,
                                            Clock::TimePoint now) {
  return pool_.Transact("save service health", [&](pqxx::transaction_base& tx) {
    db::Exec(tx, "health_service_upsert", row.service, row.environment, StatusName(row.status),
             ToMicros(row.since), row.reason, row.alert_firing, ToMicros(now));
    for (v1::HealthEvent& e : *events) {
      e.set_id(InsertEvent(tx, e));
      if (e.kind() == "ALERT" && e.delivery() == "pending" && jobs_ != nullptr) {
        jobs::RetryPolicy retry;
        retry.max_attempts = 50;
        retry.initial_backoff = std::chrono::seconds(1);
        retry.max_backoff = std::chrono::minutes(1);
        grpc::Status s = jobs_->EnqueueIn(tx, kAlertJob, "alert:" + std::to_string(e.id()),
                                          "{\"event_id\":" + std::to_string(e.id()) + "}", now, retry);
        if (!s.ok()) return s;
      }
    }
    return grpc::Status::OK;
  });
}

grpc::Status HealthStore::Heartbeat(const std::string& owner, Clock::TimePoint now,
                                    std::chrono::milliseconds lease, int* live_replicas) {
  return pool_.Transact("replica heartbeat", [&](pqxx::transaction_base& tx) {
    db::Exec(tx, "health_replica_heartbeat", owner, ToMicros(now));
    db::Exec(tx, "health_replica_forget", ToMicros(now - lease));
    *live_replicas = db::Exec(tx, "health_replica_count")[0][0].as<int>();
    return grpc::Status::OK;
  });
}

grpc::Status HealthStore::RenewLeases(const std::string& owner, Clock::TimePoint expires_at,
                                      std::vector<int>* shards) {
  return pool_.Transact("renew shard leases", [&](pqxx::transaction_base& tx) {
    *shards = Shards(db::Exec(tx, "health_lease_renew", owner, ToMicros(expires_at)));
    return grpc::Status::OK;
  });
}

grpc::Status HealthStore::AcquireShards(const std::string& owner, int count, Clock::TimePoint now,
                                        Clock::TimePoint expires_at, std::vector<int>* shards) {
  return pool_.Transact("acquire shard leases", [&](pqxx::transaction_base& tx) {
    *shards = Shards(db::Exec(tx, "health_lease_acquire", owner, count, ToMicros(now), ToMicros(expires_at)));
    return grpc::Status::OK;
  });
}

grpc::Status HealthStore::ReleaseShards(const std::string& owner, const std::vector<int>& shards) {
  return pool_.Transact("release shard leases", [&](pqxx::transaction_base& tx) {
    db::Exec(tx, "health_lease_release", owner, NumberArray(shards));
    return grpc::Status::OK;
  });
}

grpc::Status HealthStore::Leave(const std::string& owner) {
  return pool_.Transact("leave the replica set", [&](pqxx::transaction_base& tx) {
    db::Exec(tx, "health_lease_release_all", owner);
    db::Exec(tx, "health_replica_leave", owner);
    return grpc::Status::OK;
  });
}

}  // namespace flightdeck::health
