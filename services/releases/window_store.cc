#include "services/releases/window_store.h"

#include <pqxx/pqxx>

#include "common/clock/timestamps.h"
#include "common/db/autocommit.h"
#include "common/db/db.h"
#include "common/db/detail_json.h"

namespace flightdeck::releases {

WindowStore::WindowStore(db::Pool& pool) : pool_(pool) {
  pool_.Prepare("windows_insert",
                "INSERT INTO releases.windows (name, kind, spec, created_by, created_at) "
                "VALUES ($1, $2, $3::jsonb, $4, " + db::MicrosParam(5) + ") "
                "ON CONFLICT (name) DO NOTHING RETURNING name");
  pool_.Prepare("windows_get", "SELECT spec::text FROM releases.windows WHERE name = $1");
  pool_.Prepare("windows_list", "SELECT spec::text FROM releases.windows ORDER BY name");
  pool_.Prepare("windows_delete",
                "DELETE FROM releases.windows WHERE name = $1 RETURNING spec::text");
  pool_.Prepare("windows_tick",
                "INSERT INTO releases.checklist_ticks (window_name, item, occurrence_start, "
                "ticked_by, ticked_at, note) VALUES ($1, $2, " + db::MicrosParam(3) + ", $4, " +
                    db::MicrosParam(5) + ", $6) "
                "ON CONFLICT (window_name, item, occurrence_start) DO UPDATE SET "
                "ticked_by = EXCLUDED.ticked_by, ticked_at = EXCLUDED.ticked_at, note = EXCLUDED.note");
  pool_.Prepare("windows_ticks",
                "SELECT item, ticked_by, (extract(epoch from ticked_at) * 1000000)::bigint, note "
                "FROM releases.checklist_ticks WHERE window_name = $1 "
                "AND occurrence_start = " + db::MicrosParam(2));
  const std::string smoke_columns =
      "suite, run_id, state, summary, (extract(epoch from occurrence_start) * 1000000)::bigint, "
      "(extract(epoch from occurrence_end) * 1000000)::bigint, "
      "(extract(epoch from updated_at) * 1000000)::bigint";
  pool_.Prepare("windows_smoke",
                "SELECT " + smoke_columns + " FROM releases.window_smoke_runs WHERE window_name = $1 "
                "AND occurrence_start = " + db::MicrosParam(2));
  pool_.Prepare("windows_last_smoke",
                "SELECT " + smoke_columns + " FROM releases.window_smoke_runs WHERE window_name = $1 "
                "ORDER BY occurrence_start DESC LIMIT 1");
  pool_.Prepare("windows_smoke_start",
                "INSERT INTO releases.window_smoke_runs (window_name, occurrence_start, occurrence_end, "
                "suite, run_id, state, summary, updated_at) VALUES ($1, " + db::MicrosParam(2) + ", " +
                    db::MicrosParam(3) + ", $4, $5, 'RUNNING', $6, " + db::MicrosParam(7) + ") "
                "ON CONFLICT (window_name, occurrence_start) DO NOTHING RETURNING window_name");
  pool_.Prepare("windows_smoke_finish",
                "INSERT INTO releases.window_smoke_runs (window_name, occurrence_start, occurrence_end, "
                "suite, run_id, state, summary, updated_at) VALUES ($1, " + db::MicrosParam(2) + ", " +
                    db::MicrosParam(3) + ", $4, $5, $6, $7, " + db::MicrosParam(8) + ") "
                "ON CONFLICT (window_name, occurrence_start) DO UPDATE SET run_id = EXCLUDED.run_id, "
                "state = EXCLUDED.state, summary = EXCLUDED.summary, updated_at = EXCLUDED.updated_at "
                "WHERE releases.window_smoke_runs.state = 'RUNNING' RETURNING window_name");
  pool_.Prepare("windows_last_rollback",
                "SELECT (extract(epoch from max(succeeded_at)) * 1000000)::bigint "
                "FROM releases.releases WHERE service = $1 AND environment = $2 "
                "AND kind = 'ROLLBACK' AND succeeded_at IS NOT NULL");
}

grpc::Status WindowStore::Create(const v1::Window& window) {
  return pool_.Transact("create window", [&](pqxx::transaction_base& tx) {
    pqxx::result r = db::Exec(tx, "windows_insert", window.name(),
                              v1::Window::Kind_Name(window.kind()), db::DetailJson(window),
                              window.created_by(), MicrosOf(window.created_at()));
    if (r.empty()) {
      return grpc::Status(grpc::StatusCode::ALREADY_EXISTS,
                          "name: window \"" + window.name() + "\" already exists");
    }
    return grpc::Status::OK;
  });
}

grpc::Status WindowStore::Get(const std::string& name, v1::Window* out) {
  return pool_.Transact("get window", [&](pqxx::transaction_base& tx) {
    pqxx::result r = db::Exec(tx, "windows_get", name);
    if (r.empty()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "window \"" + name + "\" not found");
    }
    out->Clear();
    (void)db::FromDetailJson(r[0][0].as<std::string>(), out);
    return grpc::Status::OK;
  });
}

grpc::Status WindowStore::List(std::vector<v1::Window>* out) {
  // Read on every create: one SELECT, no BEGIN/COMMIT round trips around it.
  return db::Autocommit(pool_, "list windows", [&](pqxx::transaction_base& tx) {
    out->clear();
    for (const pqxx::row& row : db::Exec(tx, "windows_list")) {
      (void)db::FromDetailJson(row[0].as<std::string>(), &out->emplace_back());
    }
    return grpc::Status::OK;
  });
}

grpc::Status WindowStore::Delete(const std::string& name, v1::Window* out) {
  return pool_.Transact("delete window", [&](pqxx::transaction_base& tx) {
    pqxx::result r = db::Exec(tx, "windows_delete", name);
    if (r.empty()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "window \"" + name + "\" not found");
    }
    out->Clear();
    (void)db::FromDetailJson(r[0][0].as<std::string>(), out);
    return grpc::Status::OK;
  });
}

grpc::Status WindowStore::Tick(const std::string& window, Clock::TimePoint occurrence_start,
                               const ChecklistTick& tick) {
  return pool_.Transact("tick checklist item", [&](pqxx::transaction_base& tx) {
    db::Exec(tx, "windows_tick", window, tick.item, ToMicros(occurrence_start), tick.ticked_by,
             ToMicros(tick.ticked_at), tick.note);
    return grpc::Status::OK;
  });
}

grpc::Status WindowStore::Ticks(const std::string& window, Clock::TimePoint occurrence_start,
                                std::vector<ChecklistTick>* out) {
  return pool_.Transact("checklist ticks", [&](pqxx::transaction_base& tx) {
    out->clear();
    for (const pqxx::row& row : db::Exec(tx, "windows_ticks", window, ToMicros(occurrence_start))) {
      out->push_back({row[0].as<std::string>(), row[1].as<std::string>(),
                      FromMicros(row[2].as<long long>()), row[3].as<std::string>()});
    }
    return grpc::Status::OK;
  });
}

namespace {

void ReadSmoke(const pqxx::row& row, v1::WindowSmokeResult* out) {
  out->Clear();
  out->set_suite(row[0].as<std::string>());
  out->set_run_id(row[1].as<std::string>());
  out->set_state(row[2].as<std::string>());
  out->set_summary(row[3].as<std::string>());
  SetTimestamp(out->mutable_occurrence()->mutable_start(), FromMicros(row[4].as<long long>()));
  SetTimestamp(out->mutable_occurrence()->mutable_end(), FromMicros(row[5].as<long long>()));
  SetTimestamp(out->mutable_updated_at(), FromMicros(row[6].as<long long>()));
}

}  // namespace

grpc::Status WindowStore::Smoke(const std::string& window, Clock::TimePoint occurrence_start,
                                v1::WindowSmokeResult* out) {
  return pool_.Transact("window smoke run", [&](pqxx::transaction_base& tx) {
    pqxx::result r = db::Exec(tx, "windows_smoke", window, ToMicros(occurrence_start));
    if (r.empty()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no smoke run for that opening");
    ReadSmoke(r[0], out);
    return grpc::Status::OK;
  });
}

grpc::Status WindowStore::LastSmoke(const std::string& window, v1::WindowSmokeResult* out) {
  return pool_.Transact("last window smoke run", [&](pqxx::transaction_base& tx) {
    pqxx::result r = db::Exec(tx, "windows_last_smoke", window);
    if (r.empty()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no smoke run yet");
    ReadSmoke(r[0], out);
    return grpc::Status::OK;
  });
}

grpc::Status WindowStore::StartSmoke(const std::string& window, const v1::WindowSmokeResult& started,
                                     bool* recorded) {
  return pool_.Transact("record window smoke run", [&](pqxx::transaction_base& tx) {
    pqxx::result r = db::Exec(tx, "windows_smoke_start", window, MicrosOf(started.occurrence().start()),
                              MicrosOf(started.occurrence().end()), started.suite(), started.run_id(),
                              started.summary(), MicrosOf(started.updated_at()));
    *recorded = !r.empty();
    return grpc::Status::OK;
  });
}

grpc::Status WindowStore::FinishSmoke(const std::string& window, const v1::WindowSmokeResult& result,
                                      const std::function<grpc::Status(pqxx::transaction_base&)>& also,
                                      bool* finished) {
  return pool_.Transact("finish window smoke run", [&](pqxx::transaction_base& tx) {
    pqxx::result r = db::Exec(tx, "windows_smoke_finish", window, MicrosOf(result.occurrence().start()),
                              MicrosOf(result.occurrence().end()), result.suite(), result.run_id(),
                              result.state(), result.summary(), MicrosOf(result.updated_at()));
    *finished = !r.empty();
    if (*finished && also) return also(tx);
    return grpc::Status::OK;
  });
}

grpc::Status WindowStore::LastSucceededRollback(const std::string& service,
                                                const std::string& environment,
                                                std::optional<Clock::TimePoint>* out) {
  return pool_.Transact("last succeeded rollback", [&](pqxx::transaction_base& tx) {
    pqxx::result r = db::Exec(tx, "windows_last_rollback", service, environment);
    *out = r.empty() || r[0][0].is_null() ? std::nullopt
                                          : std::optional(FromMicros(r[0][0].as<long long>()));
    return grpc::Status::OK;
  });
}

}  // namespace flightdeck::releases
