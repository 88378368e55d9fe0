#include "services/backups/retention.h"

#include <algorithm>
#include <tuple>

namespace flightdeck::backups {
namespace {

// A finished run with its file; whether the file restores is its verification's business.
bool IsStored(const BackupRecord& b) { return b.succeeded && !b.failed; }

// The only kind of backup a restore can be trusted with.
bool IsVerified(const BackupRecord& b) { return IsStored(b) && b.verification == Verification::kPassed; }

// Oldest first; the id breaks ties so that the answer never depends on input order.
bool OlderFirst(const BackupRecord* a, const BackupRecord* b) {
  return std::tie(a->finished_at, a->id) < std::tie(b->finished_at, b->id);
}

std::string Plural(int n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

}  // namespace

std::vector<Deletion> SelectForDeletion(const std::vector<BackupRecord>& backups,
                                        const RetentionPolicy& policy,
                                        std::chrono::system_clock::time_point now) {
  // The newest verified backup survives whatever keep_last says: a policy of 0 keeps 1.
  const int keep_verified = std::max(policy.keep_last, 1);
  const int keep_days = std::max(policy.keep_days, 0);

  std::vector<const BackupRecord*> sorted;
  sorted.reserve(backups.size());
  for (const BackupRecord& b : backups) sorted.push_back(&b);
  std::sort(sorted.begin(), sorted.end(), OlderFirst);

  // Walking newest first: the first keep_verified verified backups are the ones a restore would
  // reach for, so they survive whatever their age. A never-verified backup newer than all of
  // them is the freshest data and has not been judged: the newest such one survives too.
  std::vector<bool> protect(sorted.size(), false);
  int verified_kept = 0;
  bool newest_unjudged_seen = false;
  for (size_t i = sorted.size(); i-- > 0;) {
    const BackupRecord& b = *sorted[i];
    if (!IsStored(b)) continue;
    if (IsVerified(b)) {
      if (verified_kept < keep_verified) {
        protect[i] = true;
        ++verified_kept;
      }
    } else if (b.verification == Verification::kNotVerified && verified_kept == 0 &&
               !newest_unjudged_seen) {
      protect[i] = true;
      newest_unjudged_seen = true;
    }
  }

  const auto max_age = std::chrono::hours(24) * keep_days;
  const std::string older = "older than " + Plural(keep_days, "day", "days");
  const std::string verified_reason =
      older + " and not among the newest " + Plural(keep_verified, "verified backup", "verified backups");

  std::vector<Deletion> deletions;
  for (size_t i = 0; i < sorted.size(); ++i) {
    const BackupRecord& b = *sorted[i];
    if (b.failed) {
      deletions.push_back({b.id, "failed run"});
      continue;
    }
    // A record that is neither stored nor failed is still running, and a backup whose
    // verification runs is about to be judged: never ours to delete.
    if (!IsStored(b) || b.verification == Verification::kRunning) continue;
    if (protect[i] || now - b.finished_at <= max_age) continue;
    switch (b.verification) {
      case Verification::kPassed:
        deletions.push_back({b.id, verified_reason});
        break;
      case Verification::kFailed:
        deletions.push_back({b.id, older + " and its verification failed"});
        break;
      default:
        deletions.push_back({b.id, older + " and never verified"});
        break;
    }
  }
  return deletions;
}

}  // namespace flightdeck::backups
