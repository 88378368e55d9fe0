#include "services/backups/retention.h"

#include <algorithm>
#include <tuple>

namespace flightdeck::backups {
namespace {

bool IsGood(const BackupRecord& b) { return b.succeeded && !b.failed; }

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
  const int keep_last = std::max(policy.keep_last, 0);
  const int keep_days = std::max(policy.keep_days, 0);

  std::vector<const BackupRecord*> sorted;
  sorted.reserve(backups.size());
  for (const BackupRecord& b : backups) sorted.push_back(&b);
  std::sort(sorted.begin(), sorted.end(), OlderFirst);

  // Walking newest first, the first good backup and the first keep_last verified ones are the
  // ones a restore would reach for, so they survive whatever their age.
  std::vector<bool> protect(sorted.size(), false);
  bool newest_good_seen = false;
  int verified_kept = 0;
  for (size_t i = sorted.size(); i-- > 0;) {
    const BackupRecord& b = *sorted[i];
    if (!IsGood(b)) continue;
    if (!newest_good_seen) {
      protect[i] = true;
      newest_good_seen = true;
    }
    if (b.verified && verified_kept < keep_last) {
      protect[i] = true;
      ++verified_kept;
    }
  }

  const auto max_age = std::chrono::hours(24) * keep_days;
  const std::string age_reason =
      "older than " + Plural(keep_days, "day", "days") + " and not among the newest " +
      Plural(keep_last, "verified backup", "verified backups");

  std::vector<Deletion> deletions;
  for (size_t i = 0; i < sorted.size(); ++i) {
    const BackupRecord& b = *sorted[i];
    if (b.failed) {
      deletions.push_back({b.id, "failed run"});
    } else if (IsGood(b) && !protect[i] && now - b.finished_at > max_age) {
      deletions.push_back({b.id, age_reason});
    }
    // A record that is neither good nor failed is still running: never ours to delete.
  }
  return deletions;
}

}  // namespace flightdeck::backups
