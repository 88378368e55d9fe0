#include "services/health/smoke/store.h"

#include <nlohmann/json.hpp>

#include "common/clock/timestamps.h"
#include "common/db/db.h"
#include "common/jobs/jobs.h"
#include "common/db/detail_json.h"
#include "common/log/log.h"
#include "services/health/smoke/checks.h"
#include "services/health/smoke/smoke.h"

namespace flightdeck::health::smoke {
namespace {

constexpr char kMicros[] = "(extract(epoch from %) * 1000000)::bigint";
std::string Micros(const std::string& column) {
  std::string s = kMicros;
  s.replace(s.find('%'), 1, column);
  return s;
}

const std::string kSuiteColumns = "name, detail::text, " + Micros("updated_at");
const std::string kRunColumns =
    "id::text, state, detail::text, " + Micros("created_at") + ", " + Micros("finished_at");

void SuiteFromRow(const pqxx::row& row, v1::SmokeSuite* out) {
  out->Clear();
  db::FromDetailJson(row[1].as<std::string>(), out);
  out->set_name(row[0].as<std::string>());
  SetTimestamp(out->mutable_updated_at(), row[2].as<long long>());
}

void RunFromRow(const pqxx::row& row, v1::SmokeRun* out) {
  out->Clear();
  db::FromDetailJson(row[2].as<std::string>(), out);
  out->set_id(row[0].as<std::string>());
  v1::SmokeRun::State state = v1::SmokeRun::STATE_UNSPECIFIED;
  v1::SmokeRun::State_Parse(row[1].as<std::string>(), &state);
  out->set_state(state);
  SetTimestamp(out->mutable_created_at(), row[3].as<long long>());
  out->clear_finished_at();
  if (!row[4].is_null()) SetTimestamp(out->mutable_finished_at(), row[4].as<long long>());
  int passed = 0;
  for (const v1::SmokeCheckResult& r : out->results()) passed += r.passed() ? 1 : 0;
  out->set_passed_count(passed);
  out->set_failed_count(out->results_size() - passed);
}

const secrets::KeyRing kNoKeys;

using Checks = google::protobuf::RepeatedPtrField<v1::SmokeCheck>;

// Seals the plain secret header values. With no key: refused when `required` (a request storing
// them), else left as they are (a row rewritten as a run records results).
std::string SuiteOwner(const std::string& name) { return "suite " + name; }
std::string RunOwner(const std::string& id) { return "run " + id; }

// A header's value is bound to its row (the suite's name, the run's id) and its header name.
secrets::Binding HeaderBinding(const std::string& owner, const std::string& header) {
  return {"health.smoke.detail.headers." + header, owner};
}

grpc::Status SealHeaders(const secrets::KeyRing& keys, bool required, const std::string& owner, Checks* checks) {
  for (int i = 0; i < checks->size(); ++i) {
    for (auto& [name, value] : *checks->Mutable(i)->mutable_headers()) {
      if (!IsSecretHeader(name) || secrets::IsSealedValue(value)) continue;
      if (keys.empty()) {
        if (!required) continue;
        return secrets::NeedsMasterKey("checks[" + std::to_string(i) + "].headers[\"" + name + "\"]");
      }
      std::string sealed;
      if (grpc::Status s = secrets::SealValue(keys, value, HeaderBinding(owner, name), &sealed); !s.ok()) return s;
      value = std::move(sealed);
    }
  }
  return grpc::Status::OK;
}

// A value that does not open (its key left the ring) becomes empty: the check then fails at its
// receiver instead of sending ciphertext, and the log says why.
void OpenHeaders(const secrets::KeyRing& keys, const std::string& owner, Checks* checks) {
  for (v1::SmokeCheck& c : *checks) {
    for (auto& [name, value] : *c.mutable_headers()) {
      std::string plain;
      grpc::Status s = secrets::OpenValue(keys, value, HeaderBinding(owner, name), &plain);
      if (!s.ok()) {
        log::Warn("smoke header cannot be opened", {{"of", owner}, {"check", c.name()}, {"header", name},
                                                    {"error", s.error_message()}});
      }
      value = s.ok() ? std::move(plain) : "";
    }
  }
}

std::string JobKey(const std::string& run_id, int next) {
  return "smoke:" + run_id + ":" + std::to_string(next);
}

}  // namespace

std::string RunJobPayload(const std::string& run_id, int next) {
  return nlohmann::json{{"run_id", run_id}, {"next", next}}.dump();
}

SmokeStore::SmokeStore(db::Pool& pool, jobs::Queue& queue, const secrets::KeyRing* keys)
    : pool_(pool), queue_(queue), keys_(keys != nullptr ? *keys : kNoKeys) {
  pool_.Prepare("smoke_suite_upsert",
                "INSERT INTO health.smoke_suites (name, detail, created_at, updated_at) VALUES ($1, "
                "$2::jsonb, " + db::MicrosParam(3) + ", " + db::MicrosParam(3) + ") ON CONFLICT (name) DO UPDATE SET detail = "
                "EXCLUDED.detail, updated_at = EXCLUDED.updated_at RETURNING " + kSuiteColumns);
  pool_.Prepare("smoke_suite_get", "SELECT " + kSuiteColumns + " FROM health.smoke_suites WHERE name = $1");
  pool_.Prepare("smoke_suite_list", "SELECT " + kSuiteColumns + " FROM health.smoke_suites ORDER BY name");
  pool_.Prepare("smoke_suite_delete", "DELETE FROM health.smoke_suites WHERE name = $1 RETURNING name");
  pool_.Prepare("smoke_run_insert",
                "INSERT INTO health.smoke_runs (id, state, suite, detail, created_at) VALUES ($4::uuid, 'RUNNING', $1, "
                "$2::jsonb, " + db::MicrosParam(3) + ") RETURNING " + kRunColumns);
  pool_.Prepare("smoke_run_get", "SELECT " + kRunColumns + " FROM health.smoke_runs WHERE id = $1::uuid");
  pool_.Prepare("smoke_run_list",
                "SELECT " + kRunColumns + " FROM health.smoke_runs WHERE ($1 = '' OR suite = $1) "
                "AND ($2 = '' OR state = $2) AND ($3::bigint = 0 OR (created_at, id) < (" +
                    db::MicrosParam(3) + ", $4::uuid)) ORDER BY created_at DESC, id DESC LIMIT $5");
  pool_.Prepare("smoke_run_ids_in_range",
                "SELECT id::text FROM health.smoke_runs WHERE id BETWEEN $1::uuid AND $2::uuid ORDER BY id LIMIT $3");
  pool_.Prepare("smoke_run_lock",
                "SELECT " + kRunColumns + ", results_count FROM health.smoke_runs WHERE id = $1::uuid FOR UPDATE");
  pool_.Prepare("smoke_run_record",
                "UPDATE health.smoke_runs SET detail = $2::jsonb, results_count = $3, state = $4, "
                "finished_at = CASE WHEN $4 = 'RUNNING' THEN NULL ELSE " + db::MicrosParam(5) + " END "
                "WHERE id = $1::uuid");
}

grpc::Status SmokeStore::PutSuite(const v1::SmokeSuite& suite, Clock::TimePoint now, v1::SmokeSuite* out) {
  v1::SmokeSuite detail = suite;
  detail.clear_name();
  detail.clear_updated_at();
  if (grpc::Status s = SealHeaders(keys_, true, SuiteOwner(suite.name()), detail.mutable_checks()); !s.ok()) return s;
  return pool_.Transact("put smoke suite", [&](pqxx::transaction_base& tx) {
    pqxx::result r = db::Exec(tx, "smoke_suite_upsert", suite.name(), db::DetailJson(detail), ToMicros(now));
    SuiteFromRow(r[0], out);
    OpenHeaders(keys_, SuiteOwner(out->name()), out->mutable_checks());
    return grpc::Status::OK;
  });
}

grpc::Status SmokeStore::GetSuite(const std::string& name, v1::SmokeSuite* out) {
  return pool_.Transact("get smoke suite", [&](pqxx::transaction_base& tx) {
    pqxx::result r = db::Exec(tx, "smoke_suite_get", name);
    if (r.empty()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "smoke suite \"" + name + "\" not found");
    }
    SuiteFromRow(r[0], out);
    OpenHeaders(keys_, SuiteOwner(name), out->mutable_checks());
    return grpc::Status::OK;
  });
}

grpc::Status SmokeStore::ListSuites(std::vector<v1::SmokeSuite>* out) {
  return pool_.Transact("list smoke suites", [&](pqxx::transaction_base& tx) {
    out->clear();
    for (const pqxx::row& row : db::Exec(tx, "smoke_suite_list")) {
      v1::SmokeSuite& suite = out->emplace_back();
      SuiteFromRow(row, &suite);
      OpenHeaders(keys_, SuiteOwner(suite.name()), suite.mutable_checks());
    }
    return grpc::Status::OK;
  });
}

grpc::Status SmokeStore::DeleteSuite(const std::string& name) {
  return pool_.Transact("delete smoke suite", [&](pqxx::transaction_base& tx) {
    if (db::Exec(tx, "smoke_suite_delete", name).empty()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "smoke suite \"" + name + "\" not found");
    }
    return grpc::Status::OK;
  });
}

grpc::Status SmokeStore::CreateRun(v1::SmokeRun* run, Clock::TimePoint now) {
  v1::SmokeRun detail = *run;
  detail.clear_id();
  detail.clear_state();
  detail.clear_results();
  const v1::SmokeRun input = *run;
  return pool_.Transact("create smoke run", [&](pqxx::transaction_base& tx) {
    // The id first: the run's sealed headers are bound to it.
    const std::string id = tx.exec1("SELECT gen_random_uuid()::text")[0].as<std::string>();
    if (grpc::Status s = SealHeaders(keys_, true, RunOwner(id), detail.mutable_checks()); !s.ok()) return s;
    pqxx::result r = db::Exec(tx, "smoke_run_insert", input.suite(), db::DetailJson(detail), ToMicros(now), id);
    RunFromRow(r[0], run);
    OpenHeaders(keys_, RunOwner(run->id()), run->mutable_checks());
    return queue_.EnqueueIn(tx, kSmokeRunJob, JobKey(run->id(), 0), RunJobPayload(run->id(), 0), now);
  });
}

grpc::Status SmokeStore::GetRun(const std::string& id, v1::SmokeRun* out) {
  return pool_.Transact("get smoke run", [&](pqxx::transaction_base& tx) {
    pqxx::result r = db::Exec(tx, "smoke_run_get", id);
    if (r.empty()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "smoke run " + id + " not found");
    RunFromRow(r[0], out);
    OpenHeaders(keys_, RunOwner(id), out->mutable_checks());
    return grpc::Status::OK;
  });
}

grpc::Status SmokeStore::ListRuns(const std::string& suite, const std::string& state, long long after_micros,
                                  const std::string& after_id, int limit, std::vector<v1::SmokeRun>* out) {
  return pool_.Transact("list smoke runs", [&](pqxx::transaction_base& tx) {
    out->clear();
    const std::string id = after_id.empty() ? std::string("00000000-0000-0000-0000-000000000000") : after_id;
    for (const auto& row : db::Exec(tx, "smoke_run_list", suite, state, after_micros, id, limit)) {
      RunFromRow(row, &out->emplace_back());
      OpenHeaders(keys_, RunOwner(out->back().id()), out->back().mutable_checks());
    }
    return grpc::Status::OK;
  });
}

grpc::Status SmokeStore::RunIdsInRange(const UuidRange& range, int limit, std::vector<std::string>* ids) {
  return pool_.Transact("find smoke run ids by prefix", [&](pqxx::transaction_base& tx) {
    ids->clear();
    for (const auto& row : db::Exec(tx, "smoke_run_ids_in_range", range.low, range.high, limit)) {
      ids->push_back(row[0].as<std::string>());
    }
    return grpc::Status::OK;
  });
}

grpc::Status SmokeStore::RecordResults(const std::string& id, int recorded,
                                       const std::vector<v1::SmokeCheckResult>& results,
                                       Clock::TimePoint now, bool* applied) {
  return pool_.Transact("record smoke results", [&](pqxx::transaction_base& tx) {
    *applied = false;
    pqxx::result r = db::Exec(tx, "smoke_run_lock", id);
    if (r.empty()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "smoke run " + id + " not found");
    v1::SmokeRun run;
    RunFromRow(r[0], &run);
    if (run.state() != v1::SmokeRun::RUNNING || r[0][5].as<int>() != recorded) return grpc::Status::OK;
    for (const v1::SmokeCheckResult& result : results) *run.add_results() = result;
    const int count = run.results_size();
    std::string state = "RUNNING";
    if (count >= run.checks_size()) {
      bool all_passed = true;
      for (const v1::SmokeCheckResult& result : run.results()) all_passed = all_passed && result.passed();
      state = all_passed ? "PASSED" : "FAILED";
    }
    v1::SmokeRun detail = run;
    detail.clear_id();
    detail.clear_state();
    detail.clear_created_at();
    detail.clear_finished_at();
    detail.clear_passed_count();
    detail.clear_failed_count();
    // The checks are still as stored (sealed); legacy plain values get sealed now when a key is
    // configured.
    if (grpc::Status s = SealHeaders(keys_, false, RunOwner(id), detail.mutable_checks()); !s.ok()) return s;
    db::Exec(tx, "smoke_run_record", id, db::DetailJson(detail), count, state, ToMicros(now));
    *applied = true;
    if (state != "RUNNING") return grpc::Status::OK;
    return queue_.EnqueueIn(tx, kSmokeRunJob, JobKey(id, count), RunJobPayload(id, count), now);
  });
}

}  // namespace flightdeck::health::smoke
