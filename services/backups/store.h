#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <grpcpp/support/status.h>

#include "common/clock/clock.h"
#include "common/jobs/jobs.h"
#include "common/secrets/secrets.h"
#include "flightdeck/v1/backups.pb.h"
#include "services/backups/request_checks.h"

namespace flightdeck::db {
class Pool;
}
namespace flightdeck::jobs {
class Queue;
}

namespace flightdeck::backups {

// Where each sealed value of the backups schema lives: it opens only there (secrets::Binding).
inline secrets::Binding TargetUrlBinding(const std::string& target) {
  return {"backups.targets.database_url_sealed", target};
}
inline secrets::Binding BackupServerBinding(const std::string& backup_id) {
  return {"backups.backups.server_url_sealed", backup_id};
}
// The server an admin named for one restore, carried in its job.
inline secrets::Binding RestoreServerBinding(const std::string& backup_id) {
  return {"backups.jobs.restore.server_url_sealed", backup_id};
}

// Job kinds of the backups service (payload: JSON with the ids they name).
inline constexpr char kRunJob[] = "backup.run";            // {"backup_id"}
inline constexpr char kScheduleJob[] = "backup.schedule";  // {"target","due_us"}
inline constexpr char kVerifyJob[] = "backup.verify";      // {"backup_id"}
inline constexpr char kRestoreJob[] = "backup.restore";    // {"backup_id","database","overwrite"}
inline constexpr char kRetentionJob[] = "backup.retention";  // {"target"}

// A target as stored: the message (URL redacted) and the sealed URL.
struct TargetRecord {
  v1::BackupTarget target;
  std::string sealed_url;
  std::optional<Clock::TimePoint> next_run_at;
};

struct JobRequest {
  std::string kind;
  std::string key;
  std::string payload;
  Clock::TimePoint due_at;
  jobs::RetryPolicy retry{};
};

// What the RPO gauges need of one target: its objective, when it was created, the snapshot
// time of its newest SUCCEEDED backup, and that of its newest SUCCEEDED backup whose
// verification PASSED (none yet: nullopt). Only the verified one is known to restore.
struct TargetRpo {
  std::string target;
  std::chrono::seconds rpo_target{0};
  Clock::TimePoint created_at;
  std::optional<Clock::TimePoint> last_snapshot;
  std::optional<Clock::TimePoint> last_verified_snapshot;
};

// SQL for the backups schema (migrations/backups). Every method returns a status.
class BackupStore {
 public:
  BackupStore(db::Pool& pool, jobs::Queue& jobs);

  // Inserts the target and, when it has a schedule, its first schedule job (same transaction).
  grpc::Status CreateTarget(const TargetRecord& record, Clock::TimePoint now);
  grpc::Status GetTarget(const std::string& name, TargetRecord* out);
  grpc::Status ListTargets(std::vector<TargetRecord>* out);
  // The RPO facts of one target, or of every target (target ""), by name: one query, the newest
  // success and the newest verified success found through backups_by_target. The RPO gauges
  // read it every few seconds, and the API's status reads it too, so both report one figure.
  grpc::Status RpoFacts(const std::string& target, std::vector<TargetRpo>* out);
  // Rewrites the target; a changed schedule gets a new schedule job keyed by the new due time.
  grpc::Status UpdateTarget(const TargetRecord& record, Clock::TimePoint now);
  grpc::Status DeleteTarget(const std::string& name);

  // Inserts a PENDING backup and its run job. A scheduled run names its due time: a second
  // insert for the same target and due time is ALREADY_EXISTS (one run per due time).
  grpc::Status CreateBackup(v1::Backup* backup, std::optional<Clock::TimePoint> scheduled_for,
                            Clock::TimePoint now, std::vector<JobRequest> also = {});
  grpc::Status GetBackup(const std::string& id, v1::Backup* out);
  // Up to `limit` backup ids within `range`, in order: how an id prefix is resolved.
  grpc::Status BackupIdsInRange(const UuidRange& range, int limit, std::vector<std::string>* ids);
  // Newest first; before_created_us/before_id page from a previous call.
  grpc::Status ListBackups(const std::string& target, const std::string& state, int limit,
                           std::optional<std::pair<long long, std::string>> after,
                           std::vector<v1::Backup>* out, bool* more);
  grpc::Status RecentBackups(const std::string& target, int limit, std::vector<v1::Backup>* out);

  // The server a backup is taken from, sealed: set when its run starts, read by a restore.
  grpc::Status RecordServer(const std::string& id, const std::string& sealed_url);
  // "" when the backup never ran.
  grpc::Status BackupServer(const std::string& id, std::string* sealed_url);

  // PENDING -> RUNNING under `runner`; FAILED_PRECONDITION when it is not PENDING.
  grpc::Status MarkRunning(const std::string& id, const std::string& runner, Clock::TimePoint now);
  grpc::Status Heartbeat(const std::string& id, long long progress_bytes, Clock::TimePoint now);
  // Writes the backup's state and detail, and schedules `then` in the same transaction.
  grpc::Status Save(const v1::Backup& backup, Clock::TimePoint now, std::vector<JobRequest> then = {});
  // Save for a restore just requested (last_restore RUNNING): also leaves it unclaimed, so that
  // exactly one ClaimRestore takes it.
  grpc::Status StartRestore(const v1::Backup& backup, Clock::TimePoint now, std::vector<JobRequest> then);
  // RUNNING backups whose runner is gone: same host with another pid (a restart), or no
  // heartbeat since `stale_before`. Marked FAILED with `reason`; returned for clean-up.
  grpc::Status FailAbandoned(const std::string& host, const std::string& runner,
                             Clock::TimePoint stale_before, Clock::TimePoint now,
                             const std::string& reason, std::vector<v1::Backup>* failed);
  // Takes a requested restore for `runner` (*claimed). A restore claimed before (its job was
  // taken again after its runner died) is not run twice: it is marked FAILED as interrupted,
  // and *claimed is false, as it is when the restore is no longer RUNNING.
  grpc::Status ClaimRestore(const std::string& id, const std::string& runner, Clock::TimePoint now, bool* claimed);
  grpc::Status RestoreHeartbeat(const std::string& id, const std::string& runner, Clock::TimePoint now);
  // Restores left RUNNING by a runner that is gone (the same rule as FailAbandoned, counted only
  // once a runner claimed them): their last_restore becomes FAILED with an "interrupted" reason.
  grpc::Status FailAbandonedRestores(const std::string& host, const std::string& runner,
                                     Clock::TimePoint stale_before, Clock::TimePoint now,
                                     std::vector<v1::Backup>* failed);
  grpc::Status Enqueue(const JobRequest& job);

 private:
  grpc::Status SaveAnd(const v1::Backup& backup, Clock::TimePoint now, std::vector<JobRequest> then,
                       bool unclaim_restore);
  db::Pool& pool_;
  jobs::Queue& jobs_;
};

}  // namespace flightdeck::backups
