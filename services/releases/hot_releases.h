#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "common/clock/clock.h"

namespace flightdeck::db {
class ChangeFeed;
}

namespace flightdeck::releases {

// The releases GetRelease answered lately, kept in this process in front of Redis, so that a
// dashboard's repeated reads cost no Redis round trip (and no thread blocked on one).
//
// Any change to any release empties it: every committed write to releases.releases notifies the
// change feed's channel (migrations/releases/0009 and 0012; the services' own writes are
// announced just after their commits, db::ChangeAnnouncer), which moves the feed's generation
// on every replica, and this replica's own commits call Changed() before they are
// answered. An entry is kept only if nothing changed while it was being read (its Stamp), so a
// slow reader cannot put back what a writer replaced. Across replicas an entry can outlive a
// change by the time the notification takes to arrive; on this replica, not at all.
//
// It serves nothing while the feed is not listening (a lost connection misses notifications),
// and no entry older than `max_age` by `clock` (nor one stored in its future, should the clock
// step back): the bound on staleness should a connection die without the feed noticing.
// Thread-safe.
class HotReleases {
 public:
  struct Stamp {
    uint64_t feed = 0;
    uint64_t local = 0;
    bool operator==(const Stamp& o) const { return feed == o.feed && local == o.local; }
    bool operator!=(const Stamp& o) const { return !(*this == o); }
  };

  // `feed` null: nothing is ever kept.
  HotReleases(const db::ChangeFeed* feed, const Clock& clock, std::chrono::milliseconds max_age,
              size_t capacity = 4096);

  // Before reading a release elsewhere (Redis, the database): what Put is given with it.
  Stamp Now() const;
  // The serialized release, when kept and nothing changed since it was read.
  std::optional<std::string> Get(const std::string& id);
  // Keeps `serialized` unless something changed since `read_at` or the feed is not listening.
  void Put(const std::string& id, std::string serialized, Stamp read_at);
  // This process committed a change to a release: forget everything at once, without waiting
  // for the notification to come back.
  void Changed();

 private:
  struct Entry {
    std::string serialized;
    Clock::TimePoint stored;
  };
  // Under mu_; nullopt when the feed is absent or not listening.
  std::optional<Stamp> CurrentLocked() const;

  const db::ChangeFeed* feed_;
  const Clock& clock_;
  const std::chrono::milliseconds max_age_;
  const size_t capacity_;
  mutable std::mutex mu_;
  uint64_t local_ = 0;  // Changed() calls
  Stamp entries_read_at_;  // every entry was read at this stamp
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace flightdeck::releases
