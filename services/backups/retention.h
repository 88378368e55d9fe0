#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace flightdeck::backups {

struct RetentionPolicy {
  int keep_last = 7;
  int keep_days = 30;
};

// What retention needs to know of one stored backup.
struct BackupRecord {
  std::string id;
  std::chrono::system_clock::time_point finished_at;
  bool succeeded = false;  // finished with a good file
  bool verified = false;   // a verification PASSED
  bool failed = false;     // a failed or interrupted run (its file, if any, is garbage)
};

struct Deletion {
  std::string id;
  std::string reason;  // "older than 30 days and not among the newest 7 verified backups"
};

// A good backup is deleted only if it is older than keep_days AND not among the newest
// keep_last verified-good backups; the newest good backup (verified or not) is never deleted,
// whatever the policy says. Failed runs are always cleaned up.
std::vector<Deletion> SelectForDeletion(const std::vector<BackupRecord>& backups,
                                        const RetentionPolicy& policy,
                                        std::chrono::system_clock::time_point now);

}  // namespace flightdeck::backups
