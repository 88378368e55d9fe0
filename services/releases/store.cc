#include "services/releases/store.h"

#include <map>

#include <google/protobuf/util/message_differencer.h>
#include <nlohmann/json.hpp>

#include "common/alerts/alerts.h"
#include "common/db/autocommit.h"
#include "common/db/db.h"
#include "common/db/detail_json.h"
#include "common/jobs/jobs.h"
#include "services/releases/notify_targets.h"
#include "services/releases/state_machine.h"
#include "common/clock/timestamps.h"

namespace flightdeck::releases {
namespace {

constexpr char kInFlightStates[] =
    "('PENDING', 'AWAITING_APPROVAL', 'CANARY', 'PROMOTING', 'VERIFYING', 'BAKING', "
    "'ROLLING_BACK')";

constexpr char kColumns[] =
    "id::text, service, environment, version, commit_sha, image, state, created_by, trace_id, "
    "(extract(epoch from created_at) * 1000000)::bigint, "
    "(extract(epoch from updated_at) * 1000000)::bigint, kind, queued, revision, "
    "CASE WHEN detail_pb IS NULL THEN detail::text END, "
    "(extract(epoch from finished_at) * 1000000)::bigint, detail_pb";

void FromRow(const pqxx::row& row, v1::Release* r) {
  r->Clear();
  // The detail first, from its binary copy when there is one (a JSON parse costs far more); the
  // columns are authoritative for what they hold.
  if (row[16].is_null() || !r->ParseFromString(pqxx::binarystring(row[16]).str())) {
    r->Clear();
    (void)db::FromDetailJson(row[14].is_null() ? std::string("{}") : row[14].as<std::string>(), r);
  }
  r->set_id(row[0].as<std::string>());
  r->set_service(row[1].as<std::string>());
  r->set_environment(row[2].as<std::string>());
  r->set_version(row[3].as<std::string>());
  r->set_commit_sha(row[4].as<std::string>());
  r->set_image(row[5].as<std::string>());
  State state = v1::Release::STATE_UNSPECIFIED;
  v1::Release::State_Parse(row[6].as<std::string>(), &state);
  r->set_state(state);
  r->set_created_by(row[7].as<std::string>());
  r->set_trace_id(row[8].as<std::string>());
  SetTimestamp(r->mutable_created_at(), row[9].as<long long>());
  SetTimestamp(r->mutable_updated_at(), row[10].as<long long>());
  v1::Release::Kind kind = v1::Release::DEPLOY;
  v1::Release::Kind_Parse(row[11].as<std::string>(), &kind);
  r->set_kind(kind);
  r->set_queued(row[12].as<bool>());
  r->set_revision(row[13].as<long long>());
  if (!row[15].is_null()) SetTimestamp(r->mutable_finished_at(), row[15].as<long long>());
}

std::string AdvancePayload(const std::string& id) { return "{\"release_id\":\"" + id + "\"}"; }

// releases_admit's and releases_change's "timeline" CTE: the JSON array of events in parameter
// `events` ({type, actor, message, data}) on the timeline of `release` (an SQL expression, from
// the relations `from` lists), at parameter `at`, with the trace id in parameter `trace`. The ids
// come back in the array's order.
std::string TimelineCte(const std::string& release, const std::string& from, int at, int events,
                        int trace) {
  return "timeline AS (INSERT INTO releases.events (release_id, at, type, actor, message, data, "
         "trace_id) SELECT " + release + ", " + db::MicrosParam(at) + ", e.value->>'type', e.value->>'actor', "
         "e.value->>'message', (e.value->>'data')::jsonb, $" + std::to_string(trace) + " FROM " + from +
         "jsonb_array_elements($" + std::to_string(events) + "::jsonb) WITH ORDINALITY AS e(value, n) "
         "ORDER BY e.n RETURNING id)";
}

// Their "advance" CTE: the advance job (kAdvanceJob, retried as kAdvanceRetry says) of the
// release whose id is the SQL text expression `release_text`, due at parameter `due`, created at
// parameter `now`; `from` ends its SELECT (its FROM and WHERE).
std::string AdvanceCte(const jobs::Queue& jobs, const std::string& release_text, int due, int now,
                       const std::string& from) {
  return "advance AS (" +
         jobs.InsertSql({"'" + std::string(kAdvanceJob) + "'", "NULL",
                         "jsonb_build_object('release_id', " + release_text + ")", db::MicrosParam(due),
                         std::to_string(kAdvanceRetry.max_attempts),
                         std::to_string(kAdvanceRetry.initial_backoff.count()),
                         std::to_string(kAdvanceRetry.max_backoff.count()), db::MicrosParam(now)},
                        from) +
         ")";
}

// The JSON array of events that releases_admit and releases_change insert ({type, actor,
// message, data}), each event's data as text: the statement casts it to jsonb, so data that is
// not JSON fails the statement (INTERNAL, with PostgreSQL's message) without a parse here.
std::string EventsJson(const std::vector<NewEvent>& events) {
  nlohmann::json array = nlohmann::json::array();
  for (const NewEvent& e : events) {
    array.push_back({{"type", e.type}, {"actor", e.actor}, {"message", e.message}, {"data", e.data_json}});
  }
  // Bytes that are not UTF-8 are written as U+FFFD, not thrown on.
  return array.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// The ids of the events a statement inserted, from its comma-separated list in insertion order.
std::vector<long long> IdsOf(const std::string& list) {
  std::vector<long long> ids;
  for (size_t from = 0; from < list.size();) {
    size_t comma = list.find(',', from);
    if (comma == std::string::npos) comma = list.size();
    ids.push_back(std::stoll(list.substr(from, comma - from)));
    from = comma + 1;
  }
  return ids;
}

}  // namespace

ReleaseStore::ReleaseStore(db::Pool& pool, jobs::Queue& jobs) : pool_(pool), jobs_(jobs) {
  // A release, whether it waits in the queue, and its first timeline events, in one statement:
  // $11 asks to queue behind a release in flight; without it a release in flight makes the
  // INSERT break the unique index releases_one_in_flight. $14 is a JSON array of events
  // ({type, actor, message, data}), inserted in its order; their ids come back in that order.
  // A release not queued gets its advance job (due at $16) here too: the whole create is one
  // statement. $12 is the release as a jsonb document, $17 the same release serialized
  // (detail_pb, what reads parse).
  pool_.Prepare("releases_admit",
                std::string("WITH admitted AS (INSERT INTO releases.releases (service, environment, "
                "version, commit_sha, image, state, created_by, trace_id, created_at, updated_at, "
                "kind, queued, detail, detail_pb) SELECT $1, $2, $3, $4, $5, $6, $7, $8, ") + db::MicrosParam(9) +
                    ", " + db::MicrosParam(9) + ", $10, $11 AND EXISTS (SELECT 1 FROM "
                    "releases.releases WHERE service = $1 AND environment = $2 AND NOT queued AND "
                    "state IN " + kInFlightStates + "), $12::jsonb, $17 RETURNING id, queued), " +
                TimelineCte("admitted.id", "admitted, ", 13, 14, 15) + ", " +
                AdvanceCte(jobs_, "admitted.id::text", 16, 13, "FROM admitted WHERE NOT admitted.queued") +
                " SELECT admitted.id::text, admitted.queued, coalesce((SELECT string_agg(id::text, ',' "
                "ORDER BY id) FROM timeline), '') FROM admitted");
  pool_.Prepare("releases_in_flight",
                std::string("SELECT ") + kColumns + " FROM releases.releases WHERE service = $1 "
                "AND environment = $2 AND NOT queued AND state IN " + kInFlightStates);
  pool_.Prepare("releases_unfinished",
                std::string("SELECT ") + kColumns + " FROM releases.releases WHERE NOT queued "
                "AND state IN " + kInFlightStates + " UNION ALL SELECT " + kColumns +
                " FROM releases.releases WHERE queued AND state IN " + kInFlightStates);
  pool_.Prepare("releases_queued_count",
                "SELECT count(*) FROM releases.releases WHERE service = $1 AND environment = $2 "
                "AND queued AND state = 'PENDING'");
  pool_.Prepare("releases_insert_event",
                "INSERT INTO releases.events (release_id, at, type, actor, message, data, trace_id) "
                "VALUES ($1::uuid, " + db::MicrosParam(2) + ", $3, $4, $5, $6::jsonb, $7) RETURNING id");
  pool_.Prepare("releases_get",
                std::string("SELECT ") + kColumns + " FROM releases.releases WHERE id = $1::uuid");
  pool_.Prepare("releases_lock",
                std::string("SELECT ") + kColumns +
                    " FROM releases.releases WHERE id = $1::uuid FOR UPDATE");
  pool_.Prepare(
      "releases_list",
      std::string("SELECT ") + kColumns +
          " FROM releases.releases"
          " WHERE ($1 = '' OR service = $1) AND ($2 = '' OR environment = $2)"
          "   AND ($6 = '' OR state = $6)"
          "   AND ($3::bigint IS NULL OR (created_at, id) < (" + db::MicrosParam(3) + ", $4::uuid))"
          " ORDER BY created_at DESC, id DESC LIMIT $5");
  // A change to a release in one statement: the release itself when $7 says it changed (as a
  // document, $5, and serialized, $12), its new timeline events ($8, a JSON array as for
  // releases_admit; their ids come back in order) and, when $10 says so, its advance job due
  // at $11.
  pool_.Prepare("releases_change",
                "WITH changed AS (UPDATE releases.releases SET state = $2, queued = $3, "
                "revision = revision + 1, updated_at = " + db::MicrosParam(4) + ", detail = $5::jsonb, "
                "detail_pb = $12, "
                "finished_at = CASE WHEN $6 THEN " + db::MicrosParam(4) + " ELSE finished_at END, "
                "succeeded_at = CASE WHEN $2 = 'SUCCEEDED' AND succeeded_at IS NULL THEN " +
                    db::MicrosParam(4) + " ELSE succeeded_at END "
                "WHERE id = $1::uuid AND $7 RETURNING revision), " +
                TimelineCte("$1::uuid", "", 4, 8, 9) + ", " +
                AdvanceCte(jobs_, "$1::uuid::text", 11, 4, "WHERE $10") +
                " SELECT (SELECT revision FROM changed), coalesce((SELECT string_agg(id::text, ',' "
                "ORDER BY id) FROM timeline), '')");
  pool_.Prepare("releases_next_queued",
                "SELECT id::text FROM releases.releases WHERE service = $1 AND environment = $2 "
                "AND queued AND state = 'PENDING' ORDER BY created_at, id LIMIT 1 FOR UPDATE");
  pool_.Prepare("releases_unqueue",
                "UPDATE releases.releases SET queued = false, revision = revision + 1, "
                "updated_at = " + db::MicrosParam(2) + " WHERE id = $1::uuid RETURNING revision");
  pool_.Prepare("releases_supersede",
                "UPDATE releases.releases SET state = 'ROLLED_BACK', revision = revision + 1, "
                "updated_at = " + db::MicrosParam(4) + " WHERE service = $1 AND environment = $2 "
                "AND state = 'SUCCEEDED' AND id <> $5::uuid AND succeeded_at > (SELECT succeeded_at "
                "FROM releases.releases WHERE id = $3::uuid) RETURNING id::text, revision");
  pool_.Prepare("releases_events",
                "SELECT id, release_id::text, (extract(epoch from at) * 1000000)::bigint, type, "
                "actor, message, data::text, trace_id FROM releases.events "
                "WHERE release_id = $1::uuid AND id > $2 ORDER BY id LIMIT $3");
  pool_.Prepare("releases_insert_observation",
                "INSERT INTO releases.observations (release_id, received_at, requests, errors, "
                "p99_latency_ms, window_ms, canary_latency_ms, baseline_latency_ms) "
                "VALUES ($1::uuid, " + db::MicrosParam(2) + ", $3, $4, $5, $6, $7::jsonb, $8::jsonb)");
  pool_.Prepare("releases_sum_observations",
                "SELECT count(*), coalesce(sum(requests), 0)::bigint, "
                "coalesce(sum(errors), 0)::bigint, max(p99_latency_ms) "
                "FROM releases.observations WHERE release_id = $1::uuid "
                "AND received_at >= " + db::MicrosParam(2) + " AND received_at < " + db::MicrosParam(3));
  // Every sample of the window, version by version ('c' canary, 'b' baseline).
  pool_.Prepare("releases_observation_samples",
                "SELECT 'c', s::text::double precision FROM releases.observations o, "
                "jsonb_array_elements(coalesce(o.canary_latency_ms, '[]'::jsonb)) s "
                "WHERE o.release_id = $1::uuid AND o.received_at >= " + db::MicrosParam(2) +
                    " AND o.received_at < " + db::MicrosParam(3) + " UNION ALL "
                "SELECT 'b', s::text::double precision FROM releases.observations o, "
                "jsonb_array_elements(coalesce(o.baseline_latency_ms, '[]'::jsonb)) s "
                "WHERE o.release_id = $1::uuid AND o.received_at >= " + db::MicrosParam(2) +
                    " AND o.received_at < " + db::MicrosParam(3));
  pool_.Prepare("releases_find_succeeded",
                std::string("SELECT ") + kColumns + " FROM releases.releases WHERE service = $1 "
                "AND environment = $2 AND commit_sha = $3 AND succeeded_at IS NOT NULL "
                "ORDER BY succeeded_at DESC LIMIT 1");
  pool_.Prepare("releases_current_good",
                std::string("SELECT ") + kColumns + " FROM releases.releases WHERE service = $1 "
                "AND environment = $2 AND state = 'SUCCEEDED' ORDER BY succeeded_at DESC LIMIT 1");
  pool_.Prepare("releases_recent_finished",
                std::string("SELECT ") + kColumns + " FROM releases.releases WHERE service = $1 "
                "AND environment = $2 AND kind = 'DEPLOY' AND finished_at IS NOT NULL "
                "ORDER BY finished_at DESC LIMIT $3");
  pool_.Prepare("releases_ids_between",
                std::string("SELECT ") + kColumns + " FROM releases.releases WHERE id BETWEEN "
                "$1::uuid AND $2::uuid ORDER BY id LIMIT $3");
  // Commits are stored lower case and hex only: no LIKE metacharacter can occur.
  pool_.Prepare("releases_find_succeeded_prefix",
                std::string("SELECT ") + kColumns + " FROM releases.releases WHERE service = $1 "
                "AND environment = $2 AND succeeded_at IS NOT NULL "
                "AND (commit_sha LIKE $3 || '%' OR $3 LIKE commit_sha || '%') "
                "ORDER BY succeeded_at DESC LIMIT $4");
  // The same choices as releases_current_good, releases_in_flight and releases_queued_count,
  // for every (service, environment) at once.
  pool_.Prepare("releases_environments",
                "SELECT service, environment, count(*) FILTER (WHERE queued AND state = 'PENDING') "
                "FROM releases.releases WHERE ($1 = '' OR service = $1) "
                "GROUP BY service, environment ORDER BY service, environment");
  pool_.Prepare("releases_environments_current",
                std::string("SELECT DISTINCT ON (service, environment) ") + kColumns +
                    " FROM releases.releases WHERE ($1 = '' OR service = $1) AND state = 'SUCCEEDED' "
                    "ORDER BY service, environment, succeeded_at DESC");
  pool_.Prepare("releases_environments_in_flight",
                std::string("SELECT ") + kColumns + " FROM releases.releases WHERE "
                "($1 = '' OR service = $1) AND NOT queued AND state IN " + kInFlightStates);
  pool_.Prepare("releases_event_inserted",
                "INSERT INTO releases.events (release_id, at, type, actor, message, data, trace_id) "
                "SELECT id, " + db::MicrosParam(2) + ", $3, $4, $5, $6::jsonb, $7 FROM "
                "releases.releases WHERE id = $1::uuid RETURNING id");
  pool_.Prepare("driver_action_find",
                "SELECT status, coalesce(exit_code, 0), output, error FROM releases.driver_actions "
                "WHERE action_id = $1");
  pool_.Prepare("driver_action_start",
                "INSERT INTO releases.driver_actions (action_id, release_id, action, weight, "
                "status, started_at) VALUES ($1, $2::uuid, $3, $4, 'started', " + db::MicrosParam(5) +
                    ") ON CONFLICT (action_id) DO UPDATE SET attempts = "
                    "releases.driver_actions.attempts + 1, status = 'started', started_at = "
                    "EXCLUDED.started_at WHERE releases.driver_actions.status NOT IN "
                    "('succeeded', 'failed') RETURNING 1");
  pool_.Prepare("driver_action_finish",
                "UPDATE releases.driver_actions SET status = $2, exit_code = $3, output = $4, "
                "error = $5, finished_at = " + db::MicrosParam(6) + " WHERE action_id = $1");
}

grpc::Status ReleaseStore::Admit(v1::Release* release, bool queue, Changes changes) {
  const std::string events_json = EventsJson(changes.events);
  // Notifications and other releases' events need statements of their own, in a transaction
  // with the create; without them (the usual create) the create is one statement, committed
  // on its own: one round trip.
  bool alone = changes.other_events.empty();
  for (const NewEvent& e : changes.events) {
    if (Announces(release->environment(), e)) alone = false;
  }
  bool lost_race = false;
  const auto admit = [&](pqxx::transaction_base& tx) {
    lost_race = false;
    const long long at = MicrosOf(release->created_at());
    const long long now_us = ToMicros(changes.now);
    pqxx::result r;
    try {
      r = db::Exec(tx, "releases_admit", release->service(), release->environment(),
                   release->version(), release->commit_sha(), release->image(),
                   StateName(release->state()), release->created_by(), release->trace_id(), at,
                   v1::Release::Kind_Name(release->kind()), queue, db::DetailJson(*release), now_us,
                   events_json, changes.trace_id, ToMicros(changes.advance_at.value_or(changes.now)),
                   pqxx::binarystring(release->SerializeAsString()));
    } catch (const pqxx::unique_violation&) {
      // A release in flight, or one admitted between our look and our insert.
      lost_race = true;
      return grpc::Status(grpc::StatusCode::ALREADY_EXISTS,
                          "another release of " + release->service() + " was just admitted to " +
                              release->environment() + " and is in flight; retry later or queue");
    }
    release->set_id(r[0][0].as<std::string>());
    release->set_queued(r[0][1].as<bool>());
    const std::vector<long long> event_ids = IdsOf(r[0][2].as<std::string>());
    if (event_ids.size() != changes.events.size()) {
      return grpc::Status(grpc::StatusCode::INTERNAL, "admit release: events not all recorded");
    }
    for (size_t i = 0; i < event_ids.size(); ++i) {
      if (grpc::Status s = EnqueueNotification(tx, release->id(), release->environment(), now_us,
                                               changes.events[i], event_ids[i]);
          !s.ok()) {
        return s;
      }
    }
    auto with_new_id = [&](std::string text) {
      static constexpr char kNewId[] = "{new_id}";
      for (size_t at = text.find(kNewId); at != std::string::npos; at = text.find(kNewId, at)) {
        text.replace(at, sizeof(kNewId) - 1, release->id());
      }
      return text;
    };
    for (const auto& [other, e] : changes.other_events) {
      db::Exec(tx, "releases_insert_event", other, now_us, e.type, e.actor,
               with_new_id(e.message), with_new_id(e.data_json), changes.trace_id);
    }
    return grpc::Status::OK;
  };
  // A re-run after a lost connection (Autocommit) of a create that had committed meets its own
  // release in flight: ALREADY_EXISTS naming it, as an in-doubt COMMIT's retry would.
  grpc::Status status =
      alone ? db::Autocommit(pool_, "admit release", admit) : pool_.Transact("admit release", admit);
  if (!lost_race || queue) return status;
  // Refused: name the release in flight, which is what the caller needs to decide what next.
  v1::Release other;
  int queued = 0;
  if (!InFlight(release->service(), release->environment(), &other, &queued).ok()) return status;
  return grpc::Status(
      grpc::StatusCode::ALREADY_EXISTS,
      "release " + other.id() + " (" + other.version() + ") of " + other.service() +
          " is in flight in " + other.environment() + " (" + StateName(other.state()) +
          "): wait for it to finish, or create with \"queue\": true to run after it");
}

bool ReleaseStore::Announces(const std::string& environment, const NewEvent& e) const {
  if (!wants_notification_) return false;
  const std::string kind = NotifyKindOf(e.type, e.data_json);
  return !kind.empty() && wants_notification_(environment, kind);
}

grpc::Status ReleaseStore::EnqueueNotification(pqxx::transaction_base& tx, const std::string& id,
                                               const std::string& environment, long long at_us,
                                               const NewEvent& e, long long event_id) {
  if (!Announces(environment, e)) return grpc::Status::OK;
  const std::string kind = NotifyKindOf(e.type, e.data_json);
  const std::string payload =
      nlohmann::json{{"release_id", id}, {"event_id", event_id}, {"kind", kind}}.dump();
  grpc::Status s = jobs_.EnqueueIn(tx, kNotifyJob, "notify:" + std::to_string(event_id), payload,
                                   FromMicros(at_us));
  return s.error_code() == grpc::StatusCode::ALREADY_EXISTS ? grpc::Status::OK : s;
}

grpc::Status ReleaseStore::Get(const std::string& id, v1::Release* out) {
  // One SELECT: no BEGIN/COMMIT round trips around it.
  return db::Autocommit(pool_, "get release", [&](pqxx::transaction_base& tx) {
    pqxx::result r = db::Exec(tx, "releases_get", id);
    if (r.empty()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "release " + id + " not found");
    FromRow(r[0], out);
    return grpc::Status::OK;
  });
}

grpc::Status ReleaseStore::List(const ListQuery& query, std::vector<v1::Release>* out, bool* more) {
  const auto read = [&](pqxx::transaction_base& tx) {
    std::optional<long long> after_at;
    std::optional<std::string> after_id;
    if (query.after) {
      after_at = query.after->created_at_us;
      after_id = query.after->id;
    }
    // One extra row tells whether there is a next page.
    pqxx::result r = db::Exec(tx, "releases_list", query.service, query.environment, after_at,
                              after_id, query.limit + 1, query.state);
    out->clear();
    for (const pqxx::row& row : r) {
      if (static_cast<int>(out->size()) == query.limit) break;
      FromRow(row, &out->emplace_back());
    }
    *more = static_cast<int>(r.size()) > query.limit;
    return grpc::Status::OK;
  };
  return query.stale_ok ? pool_.Read("list releases", read) : pool_.Transact("list releases", read);
}

grpc::Status ReleaseStore::Update(const std::string& id, long long expected_revision,
                                  Clock::TimePoint now, const std::string& trace_id,
                                  const ChangeFn& change, v1::Release* out) {
  std::vector<std::pair<std::string, long long>> changed;  // (id, new revision)
  grpc::Status status = pool_.Transact("update release", [&](pqxx::transaction_base& tx) {
    changed.clear();
    pqxx::result r = db::Exec(tx, "releases_lock", id);
    if (r.empty()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "release " + id + " not found");
    v1::Release release;
    FromRow(r[0], &release);
    if (expected_revision >= 0 && release.revision() != expected_revision) {
      return grpc::Status(grpc::StatusCode::ABORTED,
                          "release " + id + " changed while the pipeline was deciding");
    }
    const bool was_in_flight = IsInFlight(release.state()) && !release.queued();
    const v1::Release original = release;
    const State before = release.state();
    Changes changes;
    changes.now = now;
    changes.trace_id = trace_id;
    if (grpc::Status s = change(release, changes); !s.ok()) return s;
    if (release.state() != before) {
      if (grpc::Status s = CheckTransition(before, release.state()); !s.ok()) return s;
    }
    const bool finished = IsTerminal(release.state()) && !IsTerminal(before);
    if (finished) SetTimestamp(release.mutable_finished_at(), now);
    // The revision counts changes to the release itself. A change that only appends (pushed
    // observations, an event) keeps it, so a pipeline deciding meanwhile does not yield to it:
    // such a change schedules nothing, and yielding would leave the release stalled.
    const bool modified = !google::protobuf::util::MessageDifferencer::Equals(original, release);
    const std::string events_json = EventsJson(changes.events);
    const long long now_us = ToMicros(now);
    std::vector<long long> event_ids;
    if (modified || !changes.events.empty() || changes.advance_at) {  // not for observations alone
      pqxx::result written = db::Exec(
          tx, "releases_change", id, StateName(release.state()), release.queued(), now_us,
          modified ? db::DetailJson(release) : std::string("{}"), finished, modified, events_json,
          trace_id, changes.advance_at.has_value(), ToMicros(changes.advance_at.value_or(now)),
          pqxx::binarystring(modified ? release.SerializeAsString() : std::string()));
      if (modified) {
        release.set_revision(written[0][0].as<long long>());
        SetTimestamp(release.mutable_updated_at(), now);
        changed.emplace_back(id, release.revision());
      }
      event_ids = IdsOf(written[0][1].as<std::string>());
    }
    if (event_ids.size() != changes.events.size()) {
      return grpc::Status(grpc::StatusCode::INTERNAL, "update release: events not all recorded");
    }
    for (size_t i = 0; i < event_ids.size(); ++i) {
      const NewEvent& e = changes.events[i];
      if (grpc::Status s = EnqueueNotification(tx, id, release.environment(), now_us, e, event_ids[i]);
          !s.ok()) {
        return s;
      }
      // An ALERT event's data is the alert itself: it goes to incidents with this change.
      if (e.type == "ALERT") {
        if (grpc::Status s = jobs_.EnqueueIn(tx, alerts::kSendAlertJob, "alert:" + id,
                                             alerts::JobPayload("releases", e.data_json), now,
                                             alerts::DeliveryRetry());
            !s.ok() && s.error_code() != grpc::StatusCode::ALREADY_EXISTS) {
          return s;
        }
      }
    }
    if (changes.observation) {
      const Observation& o = changes.observation->observation;
      auto samples_json = [](const std::vector<double>& values) -> std::optional<std::string> {
        if (values.empty()) return std::nullopt;
        return nlohmann::json(values).dump();
      };
      db::Exec(tx, "releases_insert_observation", id, now_us, o.requests, o.errors,
               o.p99_latency_ms, changes.observation->window_ms,
               samples_json(changes.observation->samples.canary),
               samples_json(changes.observation->samples.baseline));
    }
    if (changes.supersede_newer && release.state() == v1::Release::SUCCEEDED &&
        !release.rollback_target_id().empty()) {
      for (const pqxx::row& row : db::Exec(tx, "releases_supersede", release.service(),
                                           release.environment(), release.rollback_target_id(),
                                           ToMicros(now), id)) {
        const std::string other = row[0].as<std::string>();
        if (other == id) continue;
        changed.emplace_back(other, row[1].as<long long>());
        db::Exec(tx, "releases_insert_event", other, ToMicros(now), std::string("STATE_CHANGED"),
                 std::string("flightdeck"),
                 "SUCCEEDED -> ROLLED_BACK: environment rolled back by release " + id,
                 std::string("{}"), trace_id);
      }
    }
    // The lock passes to the oldest queued release, which the pipeline then starts.
    if (was_in_flight && !IsInFlight(release.state())) {
      pqxx::result next = db::Exec(tx, "releases_next_queued", release.service(), release.environment());
      if (!next.empty()) {
        const std::string next_id = next[0][0].as<std::string>();
        changed.emplace_back(next_id, db::Exec(tx, "releases_unqueue", next_id, ToMicros(now))[0][0].as<long long>());
        db::Exec(tx, "releases_insert_event", next_id, ToMicros(now), std::string("DEQUEUED"),
                 std::string("flightdeck"), "its turn after release " + id + " ended " +
                     StateName(release.state()), std::string("{}"), trace_id);
        if (grpc::Status s = jobs_.EnqueueIn(tx, kAdvanceJob, "", AdvancePayload(next_id), now, kAdvanceRetry);
            !s.ok()) {
          return s;
        }
      }
    }
    if (out) *out = release;
    return grpc::Status::OK;
  });
  if (status.ok() && on_change_) {
    for (const auto& [changed_id, revision] : changed) on_change_(changed_id, revision);
  }
  return status;
}

grpc::Status ReleaseStore::ListEvents(const std::string& id, long long after_id, int limit,
                                      std::vector<v1::ReleaseEvent>* out, bool* more) {
  return pool_.Transact("list release events", [&](pqxx::transaction_base& tx) {
    out->clear();
    pqxx::result r = db::Exec(tx, "releases_events", id, after_id, limit + 1);
    for (const pqxx::row& row : r) {
      if (static_cast<int>(out->size()) == limit) break;
      v1::ReleaseEvent& e = out->emplace_back();
      e.set_id(row[0].as<long long>());
      e.set_release_id(row[1].as<std::string>());
      SetTimestamp(e.mutable_at(), row[2].as<long long>());
      e.set_type(row[3].as<std::string>());
      e.set_actor(row[4].as<std::string>());
      e.set_message(row[5].as<std::string>());
      (void)db::StructFromJson(row[6].as<std::string>(), e.mutable_data());
      e.set_trace_id(row[7].as<std::string>());
    }
    if (more) *more = static_cast<int>(r.size()) > limit;
    return grpc::Status::OK;
  });
}

grpc::Status ReleaseStore::SumObservations(const std::string& id, Clock::TimePoint from,
                                           Clock::TimePoint to, std::optional<Observation>* out) {
  return pool_.Transact("sum observations", [&](pqxx::transaction_base& tx) {
    pqxx::result r = db::Exec(tx, "releases_sum_observations", id, ToMicros(from), ToMicros(to));
    out->reset();
    if (r[0][0].as<long long>() == 0) return grpc::Status::OK;
    Observation o;
    o.requests = r[0][1].as<long long>();
    o.errors = r[0][2].as<long long>();
    if (!r[0][3].is_null()) o.p99_latency_ms = r[0][3].as<double>();
    *out = o;
    return grpc::Status::OK;
  });
}

grpc::Status ReleaseStore::ObservationSamples(const std::string& id, Clock::TimePoint from,
                                              Clock::TimePoint to, VersionSamples* out) {
  return pool_.Transact("observation samples", [&](pqxx::transaction_base& tx) {
    *out = VersionSamples{};
    for (const pqxx::row& row :
         db::Exec(tx, "releases_observation_samples", id, ToMicros(from), ToMicros(to))) {
      (row[0].as<std::string>() == "c" ? out->canary : out->baseline).push_back(row[1].as<double>());
    }
    return grpc::Status::OK;
  });
}

namespace {
grpc::Status OneRelease(db::Pool& pool, const char* what, const std::string& statement,
                        const std::function<pqxx::result(pqxx::transaction_base&)>& run,
                        v1::Release* out, const std::string& not_found) {
  return db::Autocommit(pool, what, [&](pqxx::transaction_base& tx) {
    pqxx::result r = run(tx);
    if (r.empty()) return grpc::Status(grpc::StatusCode::NOT_FOUND, not_found);
    FromRow(r[0], out);
    return grpc::Status::OK;
  });
}
}  // namespace

grpc::Status ReleaseStore::FindSucceeded(const std::string& service, const std::string& environment,
                                         const std::string& commit_sha, v1::Release* out) {
  return OneRelease(
      pool_, "find succeeded release", "releases_find_succeeded",
      [&](pqxx::transaction_base& tx) {
        return db::Exec(tx, "releases_find_succeeded", service, environment, commit_sha);
      },
      out, "commit " + commit_sha + " never succeeded for " + service + " in " + environment);
}

grpc::Status ReleaseStore::CurrentGood(const std::string& service, const std::string& environment,
                                       v1::Release* out) {
  return OneRelease(
      pool_, "find current release", "releases_current_good",
      [&](pqxx::transaction_base& tx) {
        return db::Exec(tx, "releases_current_good", service, environment);
      },
      out, "no release of " + service + " has succeeded in " + environment);
}

grpc::Status ReleaseStore::InFlight(const std::string& service, const std::string& environment,
                                    v1::Release* out, int* queued) {
  return pool_.Transact("find release in flight", [&](pqxx::transaction_base& tx) {
    *queued = db::Exec(tx, "releases_queued_count", service, environment)[0][0].as<int>();
    pqxx::result r = db::Exec(tx, "releases_in_flight", service, environment);
    if (r.empty()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no release in flight");
    FromRow(r[0], out);
    return grpc::Status::OK;
  });
}

grpc::Status ReleaseStore::Unfinished(std::vector<v1::Release>* out) {
  return pool_.Transact("unfinished releases", [&](pqxx::transaction_base& tx) {
    out->clear();
    for (const pqxx::row& row : db::Exec(tx, "releases_unfinished")) FromRow(row, &out->emplace_back());
    return grpc::Status::OK;
  });
}

grpc::Status ReleaseStore::RecentFinishedDeploys(const std::string& service,
                                                 const std::string& environment, int limit,
                                                 std::vector<v1::Release>* out) {
  return pool_.Transact("recent releases", [&](pqxx::transaction_base& tx) {
    out->clear();
    for (const pqxx::row& row : db::Exec(tx, "releases_recent_finished", service, environment, limit)) {
      FromRow(row, &out->emplace_back());
    }
    return grpc::Status::OK;
  });
}

grpc::Status ReleaseStore::IdsBetween(const std::string& lowest, const std::string& highest,
                                      int limit, std::vector<v1::Release>* out) {
  return pool_.Transact("find releases by id prefix", [&](pqxx::transaction_base& tx) {
    out->clear();
    for (const pqxx::row& row : db::Exec(tx, "releases_ids_between", lowest, highest, limit)) {
      FromRow(row, &out->emplace_back());
    }
    return grpc::Status::OK;
  });
}

grpc::Status ReleaseStore::FindSucceededByPrefix(const std::string& service,
                                                 const std::string& environment,
                                                 const std::string& sha_prefix, int limit,
                                                 std::vector<v1::Release>* out) {
  return pool_.Transact("find succeeded commits", [&](pqxx::transaction_base& tx) {
    out->clear();
    for (const pqxx::row& row :
         db::Exec(tx, "releases_find_succeeded_prefix", service, environment, sha_prefix, limit)) {
      FromRow(row, &out->emplace_back());
    }
    return grpc::Status::OK;
  });
}

grpc::Status ReleaseStore::ListEnvironments(const std::string& service,
                                            std::vector<v1::ServiceEnvironment>* out) {
  return pool_.Read("list service environments", [&](pqxx::transaction_base& tx) {
    out->clear();
    std::map<std::pair<std::string, std::string>, size_t> index;
    for (const pqxx::row& row : db::Exec(tx, "releases_environments", service)) {
      v1::ServiceEnvironment& e = out->emplace_back();
      e.set_service(row[0].as<std::string>());
      e.set_environment(row[1].as<std::string>());
      e.set_queued(row[2].as<int>());
      index[{e.service(), e.environment()}] = out->size() - 1;
    }
    auto place = [&](const pqxx::row& row, bool current) {
      v1::Release r;
      FromRow(row, &r);
      auto it = index.find({r.service(), r.environment()});
      if (it == index.end()) return;  // a release admitted after the first statement
      v1::ServiceEnvironment& e = (*out)[it->second];
      *(current ? e.mutable_current() : e.mutable_in_flight()) = std::move(r);
    };
    for (const pqxx::row& row : db::Exec(tx, "releases_environments_current", service)) place(row, true);
    for (const pqxx::row& row : db::Exec(tx, "releases_environments_in_flight", service)) place(row, false);
    return grpc::Status::OK;
  });
}

grpc::Status ReleaseStore::AppendEvent(const std::string& id, Clock::TimePoint now,
                                       const std::string& trace_id, const NewEvent& event,
                                       v1::ReleaseEvent* out) {
  return pool_.Transact("append release event", [&](pqxx::transaction_base& tx) {
    pqxx::result r = db::Exec(tx, "releases_event_inserted", id, ToMicros(now), event.type,
                              event.actor, event.message, event.data_json, trace_id);
    if (r.empty()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "release " + id + " not found");
    out->set_id(r[0][0].as<long long>());
    out->set_release_id(id);
    SetTimestamp(out->mutable_at(), now);
    out->set_type(event.type);
    out->set_actor(event.actor);
    out->set_message(event.message);
    (void)db::StructFromJson(event.data_json, out->mutable_data());
    out->set_trace_id(trace_id);
    return grpc::Status::OK;
  });
}

grpc::Status ReleaseStore::StartDriverAction(const std::string& action_id,
                                             const DriverAction& action, Clock::TimePoint now,
                                             std::string* status, DriverResult* result) {
  // Driver action records are single statements (a re-run after a lost connection is harmless:
  // start counts one attempt more, finish writes the same result): no BEGIN/COMMIT around them.
  return db::Autocommit(pool_, "start driver action", [&](pqxx::transaction_base& tx) {
    if (!db::Exec(tx, "driver_action_start", action_id, action.release.id(), action.action,
                  action.weight, ToMicros(now)).empty()) {
      *status = "started";
      return grpc::Status::OK;
    }
    // It finished before (a crash came between the action and the state change).
    pqxx::result r = db::Exec(tx, "driver_action_find", action_id);
    if (r.empty()) {
      return grpc::Status(grpc::StatusCode::INTERNAL, "driver action " + action_id + " vanished");
    }
    *status = r[0][0].as<std::string>();
    result->ok = *status == "succeeded";
    result->exit_code = r[0][1].as<int>();
    result->output = r[0][2].as<std::string>();
    result->error = r[0][3].as<std::string>();
    return grpc::Status::OK;
  });
}

grpc::Status ReleaseStore::HoldDriverAction(const std::string& action_id,
                                            std::chrono::milliseconds wait,
                                            std::unique_ptr<db::SessionLock>* lock) {
  grpc::Status s = pool_.HoldLock("hold driver action", "releases.driver_actions:" + action_id, wait, lock);
  if (s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                        "driver action " + action_id + " is still running elsewhere after " +
                            std::to_string(wait.count()) + "ms of waiting for it");
  }
  return s;
}

grpc::Status ReleaseStore::FinishDriverAction(const std::string& action_id,
                                              const DriverResult& result, Clock::TimePoint now) {
  return db::Autocommit(pool_, "finish driver action", [&](pqxx::transaction_base& tx) {
    db::Exec(tx, "driver_action_finish", action_id, std::string(result.ok ? "succeeded" : "failed"),
             result.exit_code, result.output, result.error, ToMicros(now));
    return grpc::Status::OK;
  });
}

}  // namespace flightdeck::releases
