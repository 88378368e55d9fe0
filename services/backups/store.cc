#include "services/backups/store.h"


#include "common/clock/timestamps.h"
#include "common/db/db.h"
#include "common/jobs/jobs.h"
#include "common/db/detail_json.h"

namespace flightdeck::backups {
namespace {

constexpr char kTargetColumns[] =
    "name, database_url_sealed, database_url_redacted, schedule, keep_last, keep_days, "
    "storage_kind, storage_path, rpo_target_s, verify_after, "
    "(extract(epoch from next_run_at) * 1000000)::bigint, "
    "(extract(epoch from created_at) * 1000000)::bigint, "
    "(extract(epoch from updated_at) * 1000000)::bigint";

void TargetFromRow(const pqxx::row& row, TargetRecord* out) {
  v1::BackupTarget& t = out->target;
  t.Clear();
  t.set_name(row[0].as<std::string>());
  out->sealed_url = row[1].as<std::string>();
  t.set_database_url(row[2].as<std::string>());
  t.set_schedule(row[3].as<std::string>());
  t.mutable_retention()->mutable_keep_last()->set_value(row[4].as<int>());
  t.mutable_retention()->mutable_keep_days()->set_value(row[5].as<int>());
  t.mutable_storage()->set_kind(v1::BackupStorage::LOCAL);
  t.mutable_storage()->set_path(row[7].as<std::string>());
  t.mutable_rpo_target()->set_seconds(row[8].as<long long>());
  t.mutable_verify_after_backup()->set_value(row[9].as<bool>());
  out->next_run_at.reset();
  if (!row[10].is_null()) out->next_run_at = FromMicros(row[10].as<long long>());
  SetTimestamp(t.mutable_created_at(), row[11].as<long long>());
  SetTimestamp(t.mutable_updated_at(), row[12].as<long long>());
}

constexpr char kBackupColumns[] =
    "id::text, target, state, trigger, progress_bytes, detail::text, "
    "(extract(epoch from created_at) * 1000000)::bigint";

// The verified column mirrors the detail's verification result ('' when none).
std::string VerifiedColumn(const v1::Backup& b) {
  switch (b.verification().result()) {
    case v1::BackupVerification::RUNNING: return "RUNNING";
    case v1::BackupVerification::PASSED: return "PASSED";
    case v1::BackupVerification::FAILED: return "FAILED";
    default: return "";
  }
}

// A scalar subquery over targets t: the snapshot time (epoch microseconds) of t's newest
// SUCCEEDED backup that also meets `also`; NULL when there is none. The snapshot time is when
// the data was read (the manifest's); finished_at for a backup recorded without one.
std::string NewestSuccessSnapshot(const std::string& also) {
  return "(SELECT (extract(epoch FROM COALESCE((b.detail->>'snapshot_time')::timestamptz, "
         "b.finished_at)) * 1000000)::bigint FROM backups.backups b WHERE b.target = t.name "
         "AND b.state = 'SUCCEEDED' " + also + " ORDER BY b.created_at DESC, b.id DESC LIMIT 1)";
}

void BackupFromRow(const pqxx::row& row, v1::Backup* b) {
  b->Clear();
  db::FromDetailJson(row[5].as<std::string>(), b);
  b->set_id(row[0].as<std::string>());
  b->set_target(row[1].as<std::string>());
  v1::Backup::State state = v1::Backup::STATE_UNSPECIFIED;
  v1::Backup::State_Parse(row[2].as<std::string>(), &state);
  b->set_state(state);
  v1::Backup::Trigger trigger = v1::Backup::TRIGGER_UNSPECIFIED;
  v1::Backup::Trigger_Parse(row[3].as<std::string>(), &trigger);
  b->set_trigger(trigger);
  b->set_progress_bytes(row[4].as<long long>());
  SetTimestamp(b->mutable_created_at(), row[6].as<long long>());
}

}  // namespace

BackupStore::BackupStore(db::Pool& pool, jobs::Queue& jobs) : pool_(pool), jobs_(jobs) {
  pool_.Prepare("backups_target_insert",
                "INSERT INTO backups.targets (name, database_url_sealed, database_url_redacted, "
                "schedule, keep_last, keep_days, storage_kind, storage_path, rpo_target_s, "
                "verify_after, next_run_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, "
                "'LOCAL', $7, $8, $9, " + db::MicrosParam(10) + ", " + db::MicrosParam(11) + ", " + db::MicrosParam(11) + ")");
  pool_.Prepare("backups_target_get",
                std::string("SELECT ") + kTargetColumns + " FROM backups.targets WHERE name = $1");
  pool_.Prepare("backups_target_list",
                std::string("SELECT ") + kTargetColumns + " FROM backups.targets ORDER BY name");
  pool_.Prepare("backups_target_rpo",
                "SELECT t.name, t.rpo_target_s, (extract(epoch FROM t.created_at) * 1000000)::bigint, " +
                    NewestSuccessSnapshot("") + ", " + NewestSuccessSnapshot("AND b.verified = 'PASSED'") +
                    " FROM backups.targets t WHERE ($1 = '' OR t.name = $1) ORDER BY t.name");
  pool_.Prepare("backups_target_update",
                "UPDATE backups.targets SET database_url_sealed = $2, database_url_redacted = $3, "
                "schedule = $4, keep_last = $5, keep_days = $6, rpo_target_s = $7, verify_after = $8, "
                "next_run_at = " + db::MicrosParam(9) + ", updated_at = " + db::MicrosParam(10) + " WHERE name = $1 RETURNING name");
  pool_.Prepare("backups_target_delete", "DELETE FROM backups.targets WHERE name = $1 RETURNING name");
  pool_.Prepare("backups_insert",
                "INSERT INTO backups.backups (target, state, trigger, scheduled_for, created_at, detail) "
                "VALUES ($1, 'PENDING', $2, " + db::MicrosParam(3) + ", " + db::MicrosParam(4) + ", $5::jsonb) "
                "ON CONFLICT DO NOTHING RETURNING id::text");
  pool_.Prepare("backups_get",
                std::string("SELECT ") + kBackupColumns + " FROM backups.backups WHERE id = $1::uuid");
  pool_.Prepare("backups_ids_in_range",
                "SELECT id::text FROM backups.backups WHERE id BETWEEN $1::uuid AND $2::uuid ORDER BY id LIMIT $3");
  pool_.Prepare("backups_list",
                std::string("SELECT ") + kBackupColumns +
                    " FROM backups.backups WHERE ($1 = '' OR target = $1) AND ($2 = '' OR state = $2)"
                    " AND ($3::bigint IS NULL OR (created_at, id) < (" + db::MicrosParam(3) + ", $4::uuid))"
                    " ORDER BY created_at DESC, id DESC LIMIT $5");
  pool_.Prepare("backups_record_server",
                "UPDATE backups.backups SET server_url_sealed = $2 WHERE id = $1::uuid RETURNING id");
  pool_.Prepare("backups_server", "SELECT server_url_sealed FROM backups.backups WHERE id = $1::uuid");
  pool_.Prepare("backups_mark_running",
                "UPDATE backups.backups SET state = 'RUNNING', runner = $2, heartbeat_at = " + db::MicrosParam(3) +
                    " WHERE id = $1::uuid AND state = 'PENDING' RETURNING id");
  pool_.Prepare("backups_heartbeat",
                "UPDATE backups.backups SET progress_bytes = $2, heartbeat_at = " + db::MicrosParam(3) +
                    " WHERE id = $1::uuid AND state = 'RUNNING'");
  pool_.Prepare("backups_save",
                "UPDATE backups.backups SET state = $2, detail = $3::jsonb, verified = $4, "
                "progress_bytes = $5, finished_at = CASE WHEN $2 IN ('SUCCEEDED', 'FAILED') AND "
                "finished_at IS NULL THEN " + db::MicrosParam(6) + " ELSE finished_at END WHERE id = $1::uuid");
  pool_.Prepare("backups_abandoned",
                std::string("SELECT ") + kBackupColumns +
                    " FROM backups.backups WHERE state = 'RUNNING' AND ((runner LIKE $1 || ':%' AND "
                    "runner <> $2) OR heartbeat_at < " + db::MicrosParam(3) + ") FOR UPDATE SKIP LOCKED");
  // A restore borrows its backup's runner and heartbeat_at (the run itself ended long ago):
  // requesting it clears heartbeat_at, a runner claims it (once: while heartbeat_at is NULL),
  // beats while it runs, and it counts as abandoned only once claimed. No comparison of wall
  // clock times decides the claim, so a clock that jumped back since the backup ran (or did not
  // move at all) neither refuses the restore nor lets it be claimed twice.
  pool_.Prepare("backups_restore_unclaim", "UPDATE backups.backups SET heartbeat_at = NULL WHERE id = $1::uuid");
  pool_.Prepare("backups_restore_claim",
                "UPDATE backups.backups SET runner = $2, heartbeat_at = " + db::MicrosParam(3) +
                    " WHERE id = $1::uuid AND detail->'last_restore'->>'state' = 'RUNNING'"
                    " AND heartbeat_at IS NULL RETURNING id");
  pool_.Prepare("backups_restore_running",
                std::string("SELECT ") + kBackupColumns +
                    " FROM backups.backups WHERE id = $1::uuid AND detail->'last_restore'->>'state' = 'RUNNING'"
                    " FOR UPDATE");
  pool_.Prepare("backups_restore_heartbeat",
                "UPDATE backups.backups SET heartbeat_at = " + db::MicrosParam(3) +
                    " WHERE id = $1::uuid AND runner = $2 AND detail->'last_restore'->>'state' = 'RUNNING'");
  pool_.Prepare("backups_restore_abandoned",
                std::string("SELECT ") + kBackupColumns +
                    " FROM backups.backups WHERE detail->'last_restore'->>'state' = 'RUNNING'"
                    " AND heartbeat_at IS NOT NULL"
                    " AND ((runner LIKE $1 || ':%' AND runner <> $2) OR heartbeat_at < " + db::MicrosParam(3) +
                    ") FOR UPDATE SKIP LOCKED");
}

grpc::Status BackupStore::CreateTarget(const TargetRecord& r, Clock::TimePoint now) {
  return pool_.Transact("create backup target", [&](pqxx::transaction_base& tx) {
    std::optional<long long> next;
    if (r.next_run_at) next = ToMicros(*r.next_run_at);
    try {
      db::Exec(tx, "backups_target_insert", r.target.name(), r.sealed_url, r.target.database_url(),
               r.target.schedule(), r.target.retention().keep_last().value(),
               r.target.retention().keep_days().value(), r.target.storage().path(),
               r.target.rpo_target().seconds(), r.target.verify_after_backup().value(), next,
               ToMicros(now));
    } catch (const pqxx::unique_violation&) {
      return grpc::Status(grpc::StatusCode::ALREADY_EXISTS,
                          "name: a backup target named \"" + r.target.name() + "\" already exists");
    }
    if (r.next_run_at) {
      return jobs_.EnqueueIn(tx, kScheduleJob, "schedule:" + r.target.name() + ":" + std::to_string(*next),
                             "{\"target\":\"" + r.target.name() + "\",\"due_us\":" + std::to_string(*next) + "}",
                             *r.next_run_at);
    }
    return grpc::Status::OK;
  });
}

grpc::Status BackupStore::GetTarget(const std::string& name, TargetRecord* out) {
  return pool_.Transact("get backup target", [&](pqxx::transaction_base& tx) {
    pqxx::result r = db::Exec(tx, "backups_target_get", name);
    if (r.empty()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "backup target \"" + name + "\" not found");
    TargetFromRow(r[0], out);
    return grpc::Status::OK;
  });
}

grpc::Status BackupStore::RpoFacts(const std::string& target, std::vector<TargetRpo>* out) {
  return pool_.Transact("backup target RPO facts", [&](pqxx::transaction_base& tx) {
    out->clear();
    for (const pqxx::row& row : db::Exec(tx, "backups_target_rpo", target)) {
      TargetRpo& t = out->emplace_back();
      t.target = row[0].as<std::string>();
      t.rpo_target = std::chrono::seconds(row[1].as<long long>());
      t.created_at = FromMicros(row[2].as<long long>());
      if (!row[3].is_null()) t.last_snapshot = FromMicros(row[3].as<long long>());
      // The verified column holds the latest verification's result: a backup whose
      // re-verification FAILED stops counting.
      if (!row[4].is_null()) t.last_verified_snapshot = FromMicros(row[4].as<long long>());
    }
    return grpc::Status::OK;
  });
}

grpc::Status BackupStore::ListTargets(std::vector<TargetRecord>* out) {
  return pool_.Transact("list backup targets", [&](pqxx::transaction_base& tx) {
    out->clear();
    for (const pqxx::row& row : db::Exec(tx, "backups_target_list")) TargetFromRow(row, &out->emplace_back());
    return grpc::Status::OK;
  });
}

grpc::Status BackupStore::UpdateTarget(const TargetRecord& r, Clock::TimePoint now) {
  return pool_.Transact("update backup target", [&](pqxx::transaction_base& tx) {
    std::optional<long long> next;
    if (r.next_run_at) next = ToMicros(*r.next_run_at);
    pqxx::result res = db::Exec(tx, "backups_target_update", r.target.name(), r.sealed_url,
                                r.target.database_url(), r.target.schedule(),
                                r.target.retention().keep_last().value(),
                                r.target.retention().keep_days().value(), r.target.rpo_target().seconds(),
                                r.target.verify_after_backup().value(), next, ToMicros(now));
    if (res.empty()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "backup target \"" + r.target.name() + "\" not found");
    }
    if (r.next_run_at) {
      // Keyed by due time: an unchanged schedule finds its job already there.
      grpc::Status s = jobs_.EnqueueIn(
          tx, kScheduleJob, "schedule:" + r.target.name() + ":" + std::to_string(*next),
          "{\"target\":\"" + r.target.name() + "\",\"due_us\":" + std::to_string(*next) + "}", *r.next_run_at);
      if (!s.ok() && s.error_code() != grpc::StatusCode::ALREADY_EXISTS) return s;
    }
    return grpc::Status::OK;
  });
}

grpc::Status BackupStore::DeleteTarget(const std::string& name) {
  return pool_.Transact("delete backup target", [&](pqxx::transaction_base& tx) {
    if (db::Exec(tx, "backups_target_delete", name).empty()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "backup target \"" + name + "\" not found");
    }
    return grpc::Status::OK;
  });
}

grpc::Status BackupStore::CreateBackup(v1::Backup* b, std::optional<Clock::TimePoint> scheduled_for,
                                       Clock::TimePoint now, std::vector<JobRequest> also) {
  return pool_.Transact("create backup", [&](pqxx::transaction_base& tx) {
    std::optional<long long> due;
    if (scheduled_for) due = ToMicros(*scheduled_for);
    pqxx::result r = db::Exec(tx, "backups_insert", b->target(), v1::Backup::Trigger_Name(b->trigger()),
                              due, ToMicros(now), db::DetailJson(*b));
    if (r.empty()) {
      return grpc::Status(grpc::StatusCode::ALREADY_EXISTS,
                          "a backup of " + b->target() + " for this due time already exists");
    }
    b->set_id(r[0][0].as<std::string>());
    b->set_state(v1::Backup::PENDING);
    SetTimestamp(b->mutable_created_at(), ToMicros(now));
    also.insert(also.begin(), {kRunJob, "", "{\"backup_id\":\"" + b->id() + "\"}", now});
    for (const JobRequest& j : also) {
      grpc::Status s = jobs_.EnqueueIn(tx, j.kind, j.key, j.payload, j.due_at, j.retry);
      if (!s.ok() && s.error_code() != grpc::StatusCode::ALREADY_EXISTS) return s;
    }
    return grpc::Status::OK;
  });
}

grpc::Status BackupStore::GetBackup(const std::string& id, v1::Backup* out) {
  return pool_.Transact("get backup", [&](pqxx::transaction_base& tx) {
    pqxx::result r = db::Exec(tx, "backups_get", id);
    if (r.empty()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "backup " + id + " not found");
    BackupFromRow(r[0], out);
    return grpc::Status::OK;
  });
}

grpc::Status BackupStore::RecordServer(const std::string& id, const std::string& sealed_url) {
  return pool_.Transact("record a backup's server", [&](pqxx::transaction_base& tx) {
    if (db::Exec(tx, "backups_record_server", id, sealed_url).empty()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "backup " + id + " not found");
    }
    return grpc::Status::OK;
  });
}

grpc::Status BackupStore::BackupServer(const std::string& id, std::string* sealed_url) {
  return pool_.Transact("read a backup's server", [&](pqxx::transaction_base& tx) {
    pqxx::result r = db::Exec(tx, "backups_server", id);
    if (r.empty()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "backup " + id + " not found");
    *sealed_url = r[0][0].as<std::string>();
    return grpc::Status::OK;
  });
}

grpc::Status BackupStore::BackupIdsInRange(const UuidRange& range, int limit, std::vector<std::string>* ids) {
  return pool_.Transact("find backup ids by prefix", [&](pqxx::transaction_base& tx) {
    ids->clear();
    for (const auto& row : db::Exec(tx, "backups_ids_in_range", range.low, range.high, limit)) {
      ids->push_back(row[0].as<std::string>());
    }
    return grpc::Status::OK;
  });
}

grpc::Status BackupStore::ListBackups(const std::string& target, const std::string& state, int limit,
                                      std::optional<std::pair<long long, std::string>> after,
                                      std::vector<v1::Backup>* out, bool* more) {
  return pool_.Transact("list backups", [&](pqxx::transaction_base& tx) {
    std::optional<long long> after_us;
    std::optional<std::string> after_id;
    if (after) {
      after_us = after->first;
      after_id = after->second;
    }
    pqxx::result r = db::Exec(tx, "backups_list", target, state, after_us, after_id, limit + 1);
    out->clear();
    for (const pqxx::row& row : r) {
      if (static_cast<int>(out->size()) == limit) break;
      BackupFromRow(row, &out->emplace_back());
    }
    if (more) *more = static_cast<int>(r.size()) > limit;
    return grpc::Status::OK;
  });
}

grpc::Status BackupStore::RecentBackups(const std::string& target, int limit, std::vector<v1::Backup>* out) {
  return ListBackups(target, "", limit, std::nullopt, out, nullptr);
}

grpc::Status BackupStore::MarkRunning(const std::string& id, const std::string& runner, Clock::TimePoint now) {
  return pool_.Transact("start backup", [&](pqxx::transaction_base& tx) {
    if (db::Exec(tx, "backups_mark_running", id, runner, ToMicros(now)).empty()) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "backup " + id + " is not pending");
    }
    return grpc::Status::OK;
  });
}

grpc::Status BackupStore::Heartbeat(const std::string& id, long long progress, Clock::TimePoint now) {
  return pool_.Transact("backup heartbeat", [&](pqxx::transaction_base& tx) {
    db::Exec(tx, "backups_heartbeat", id, progress, ToMicros(now));
    return grpc::Status::OK;
  });
}

namespace {

// A restore whose runner died: FAILED, saying so (the database may hold part of the data).
v1::Backup FailInterruptedRestore(pqxx::transaction_base& tx, const pqxx::row& row, long long now_us) {
  v1::Backup b;
  BackupFromRow(row, &b);
  v1::BackupRestore* r = b.mutable_last_restore();
  r->set_state("FAILED");
  r->set_error("interrupted: the service running it stopped during the restore; database " +
               r->target_database() + " may be partly restored and must not be used");
  SetTimestamp(r->mutable_finished_at(), now_us);
  db::Exec(tx, "backups_save", b.id(), v1::Backup::State_Name(b.state()), db::DetailJson(b), VerifiedColumn(b),
           b.progress_bytes(), now_us);
  return b;
}

}  // namespace

grpc::Status BackupStore::ClaimRestore(const std::string& id, const std::string& runner, Clock::TimePoint now,
                                       bool* claimed) {
  return pool_.Transact("claim restore", [&](pqxx::transaction_base& tx) {
    *claimed = !db::Exec(tx, "backups_restore_claim", id, runner, ToMicros(now)).empty();
    if (*claimed) return grpc::Status::OK;
    // Claimed before, and its job taken again: the runner that claimed it died mid-restore.
    for (const pqxx::row& row : db::Exec(tx, "backups_restore_running", id)) {
      FailInterruptedRestore(tx, row, ToMicros(now));
    }
    return grpc::Status::OK;
  });
}

grpc::Status BackupStore::RestoreHeartbeat(const std::string& id, const std::string& runner, Clock::TimePoint now) {
  return pool_.Transact("restore heartbeat", [&](pqxx::transaction_base& tx) {
    db::Exec(tx, "backups_restore_heartbeat", id, runner, ToMicros(now));
    return grpc::Status::OK;
  });
}

grpc::Status BackupStore::FailAbandonedRestores(const std::string& host, const std::string& runner,
                                                Clock::TimePoint stale_before, Clock::TimePoint now,
                                                std::vector<v1::Backup>* failed) {
  return pool_.Transact("fail abandoned restores", [&](pqxx::transaction_base& tx) {
    failed->clear();
    for (const pqxx::row& row : db::Exec(tx, "backups_restore_abandoned", host, runner, ToMicros(stale_before))) {
      failed->push_back(FailInterruptedRestore(tx, row, ToMicros(now)));
    }
    return grpc::Status::OK;
  });
}

grpc::Status BackupStore::Save(const v1::Backup& b, Clock::TimePoint now, std::vector<JobRequest> then) {
  return SaveAnd(b, now, std::move(then), false);
}

grpc::Status BackupStore::StartRestore(const v1::Backup& b, Clock::TimePoint now, std::vector<JobRequest> then) {
  return SaveAnd(b, now, std::move(then), true);
}

grpc::Status BackupStore::SaveAnd(const v1::Backup& b, Clock::TimePoint now, std::vector<JobRequest> then,
                                  bool unclaim_restore) {
  return pool_.Transact("save backup", [&](pqxx::transaction_base& tx) {
    db::Exec(tx, "backups_save", b.id(), v1::Backup::State_Name(b.state()), db::DetailJson(b), VerifiedColumn(b),
             b.progress_bytes(), ToMicros(now));
    if (unclaim_restore) db::Exec(tx, "backups_restore_unclaim", b.id());
    for (const JobRequest& j : then) {
      grpc::Status s = jobs_.EnqueueIn(tx, j.kind, j.key, j.payload, j.due_at, j.retry);
      if (!s.ok() && s.error_code() != grpc::StatusCode::ALREADY_EXISTS) return s;
    }
    return grpc::Status::OK;
  });
}

grpc::Status BackupStore::FailAbandoned(const std::string& host, const std::string& runner,
                                        Clock::TimePoint stale_before, Clock::TimePoint now,
                                        const std::string& reason, std::vector<v1::Backup>* failed) {
  return pool_.Transact("fail abandoned backups", [&](pqxx::transaction_base& tx) {
    failed->clear();
    for (const pqxx::row& row : db::Exec(tx, "backups_abandoned", host, runner, ToMicros(stale_before))) {
      v1::Backup b;
      BackupFromRow(row, &b);
      b.set_state(v1::Backup::FAILED);
      b.set_failure_reason(reason);
      SetTimestamp(b.mutable_finished_at(), ToMicros(now));
      db::Exec(tx, "backups_save", b.id(), std::string("FAILED"), db::DetailJson(b), std::string(""),
               b.progress_bytes(), ToMicros(now));
      failed->push_back(b);
    }
    return grpc::Status::OK;
  });
}

grpc::Status BackupStore::Enqueue(const JobRequest& j) {
  grpc::Status s = jobs_.Enqueue(j.kind, j.key, j.payload, j.due_at, j.retry);
  return s.error_code() == grpc::StatusCode::ALREADY_EXISTS ? grpc::Status::OK : s;
}

}  // namespace flightdeck::backups
