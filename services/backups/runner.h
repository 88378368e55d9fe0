#pragma once

#include <algorithm>
#include <chrono>
#include <string>

#include <grpcpp/support/status.h>

#include "common/clock/clock.h"
#include "services/backups/chunked_cipher.h"
#include "services/backups/store.h"

namespace flightdeck::metrics {
class Registry;
class Counter;
template <typename T>
class Family;
}  // namespace flightdeck::metrics

namespace flightdeck::backups {

// The PostgreSQL client tools (they must be at least as new as the servers they dump).
struct BackupTools {
  std::string pg_dump = "/usr/lib/postgresql/15/bin/pg_dump";
  std::string pg_restore = "/usr/lib/postgresql/15/bin/pg_restore";
};

// Carries out the backups service's jobs: a backup run (consistent pg_dump -> zstd -> AES-GCM
// chunks -> storage, SHA-256 over the stored bytes), verification by a scratch restore,
// restores, retention, and the schedule. Every failure is recorded on the backup with its
// reason; nothing half-written is ever marked good.
class Runner {
 public:
  using Tools = BackupTools;
  Runner(BackupStore& store, const KeyRing& keys, const Clock& clock, metrics::Registry& metrics,
         std::string host, std::string runner_id, BackupTools tools = BackupTools());

  grpc::Status RunBackup(const std::string& backup_id);
  grpc::Status RunSchedule(const std::string& target, long long due_us);
  grpc::Status Verify(const std::string& backup_id);
  // Restores into `database` on the server the backup was taken from, or on the server of
  // `sealed_server_url` when it is not empty (an admin's choice, sealed with the master key).
  grpc::Status Restore(const std::string& backup_id, const std::string& database, bool overwrite,
                       const std::string& sealed_server_url = "");
  grpc::Status ApplyRetention(const std::string& target);
  // Fails RUNNING backups whose runner died (same host, other pid: a restart; or no heartbeat
  // for `stale_after`) and removes their partial files. Called at start-up and periodically.
  void RecoverAbandoned(std::chrono::milliseconds stale_after);
  // Running work beats every third of the stale window (at most every 5 s), so that no replica
  // mistakes a live run or restore for an abandoned one, however short the window.
  void SetStaleAfter(std::chrono::milliseconds stale_after) {
    heartbeat_every_ = std::clamp<std::chrono::milliseconds>(stale_after / 3, std::chrono::milliseconds(100),
                                                             std::chrono::seconds(5));
  }

  static std::string FileName(const std::string& backup_id) { return backup_id + ".fdbk"; }

 private:
  grpc::Status Fail(v1::Backup& backup, const std::string& reason);
  void NoteConsecutiveFailures(const std::string& target);

  BackupStore& store_;
  const KeyRing& keys_;
  const Clock& clock_;
  std::string host_;
  std::string runner_id_;
  std::chrono::milliseconds heartbeat_every_{5000};
  Tools tools_;
  metrics::Family<metrics::Counter>& runs_;
  metrics::Family<metrics::Counter>& alerts_;
};

}  // namespace flightdeck::backups
