#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace flightdeck::backups {

struct RetentionPolicy {
  int keep_last = 7;
  int keep_days = 30;
};

// What the last verification of a backup found: only kPassed proves that it restores.
enum class Verification { kNotVerified, kRunning, kPassed, kFailed };

// What retention needs to know of one stored backup.
struct BackupRecord {
  std::string id;
  std::chrono::system_clock::time_point finished_at;
  bool succeeded = false;  // finished with a file
  Verification verification = Verification::kNotVerified;
  bool failed = false;     // a failed or interrupted run (its file, if any, is garbage)
};

struct Deletion {
  std::string id;
  std::string reason;  // "older than 30 days and not among the newest 7 verified backups"
};

// Decides which backups of one target retention deletes, oldest first.
//
// Only a *verified* backup (it succeeded and its verification PASSED) counts as good. The
// newest verified backup is never deleted, whatever the policy says (keep_last 0 included); the
// other verified ones are deleted once older than keep_days AND not among the newest keep_last
// verified. A backup whose verification FAILED protects nothing and counts towards nothing: it
// is deleted once older than keep_days, even when it is the newest. A backup never verified does
// not count either and goes once older than keep_days, except the newest one when it is newer
// than every verified backup (the freshest data, not judged yet). A backup whose verification is
// running is not touched until it is judged. Failed runs are always cleaned up; runs still in
// progress are never touched.
std::vector<Deletion> SelectForDeletion(const std::vector<BackupRecord>& backups,
                                        const RetentionPolicy& policy,
                                        std::chrono::system_clock::time_point now);

}  // namespace flightdeck::backups
