#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <grpcpp/support/status.h>

namespace flightdeck::db {

// Wakes waiters when a PostgreSQL channel is notified (LISTEN/NOTIFY). A trigger on an events
// table notifies at commit, so a Watch stream on any replica learns of rows any replica wrote
// without polling the table every few hundred milliseconds. One connection and one thread per
// feed; a lost connection is retried with backoff (each reconnect counts as a change, since
// notifications sent meanwhile are lost). Thread-safe.
class ChangeFeed {
 public:
  // `channel` is a plain identifier ([a-z_][a-z0-9_]*); the listener starts at once.
  ChangeFeed(std::string url, std::string channel);
  ~ChangeFeed();
  ChangeFeed(const ChangeFeed&) = delete;
  ChangeFeed& operator=(const ChangeFeed&) = delete;

  // Counts notifications (and reconnects) so far: read it before querying, then wait on it.
  uint64_t generation() const;
  // True while the feed's connection LISTENs: a change committed now will move the generation.
  // False before the first connection and from a lost one until it is back.
  bool listening() const;
  // The generation, read with `listening` under one lock: nullopt while not listening.
  std::optional<uint64_t> ListeningGeneration() const;
  // Returns once the generation moved past `seen`, the timeout passed, or the feed stops.
  void WaitForChange(uint64_t seen, std::chrono::milliseconds timeout) const;
  // Stops the feed and wakes every waiter: the process is stopping, and the Watch loops that
  // wait on it end their streams (FeedClosed) instead of holding the shutdown for its grace.
  void Close();
  bool closed() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Sends the notifications of a service's writes after they commit, instead of inside them.
//
// A transaction that notifies holds PostgreSQL's notification lock, one for the whole cluster,
// from its commit until its commit record is flushed: every notifying commit waits for the one
// before it. At 16 clients creating releases, the create's statement spent most of its time
// waiting for that lock (pg_stat_activity: Lock/object).
//
// A Pool given an announcer (PoolOptions::announcer) sets flightdeck.announce_changes in its
// sessions. The notify triggers of the migrations then raise a notice naming their channel
// instead ("flightdeck changed <channel>"). The pool hands each channel to Announce() once the
// transaction that raised it has committed (for WithConnection: once fn returns, since each
// statement committed on its own).
//
// One thread, started at the first announcement, sends the notifications on a connection of its
// own, each in a transaction that writes nothing and so flushes nothing: at most one per 5 ms,
// carrying every change announced meanwhile. A lost connection is reopened with backoff, and
// what was pending is sent then.
//
// A process that dies between a commit and its announcement loses that notification. Watch loops
// still look again within 5 s (Await), and a replica's cached releases expire within 1 s.
// Thread-safe.
class ChangeAnnouncer {
 public:
  explicit ChangeAnnouncer(std::string url);
  ~ChangeAnnouncer();  // one last attempt to send what is pending, then stops
  ChangeAnnouncer(const ChangeAnnouncer&) = delete;
  ChangeAnnouncer& operator=(const ChangeAnnouncer&) = delete;

  // Notifies `channel` (a plain identifier, as for ChangeFeed) soon, on the announcer's thread.
  void Announce(std::string_view channel);
  // Notifications sent so far.
  uint64_t sent() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The channel a notify trigger's notice names ("NOTICE:  flightdeck changed releases_events"),
// or empty for any other notice, including one whose message only quotes the marker.
std::string_view AnnouncedChannel(std::string_view notice);

// For Watch loops: `seen = Generation(feed)`, query, write what is new, `Await(feed, seen)`.
// With a feed, Await returns at the next change (or after 5 s, in case one was missed); without
// one (a service built without a feed in tests) it sleeps `poll`.
uint64_t Generation(const ChangeFeed* feed);
// True once `feed` (not null) was closed: a Watch loop then returns FeedClosed(), UNAVAILABLE,
// so that its client watches again (on another replica) from the last event it received.
bool Closed(const ChangeFeed* feed);
grpc::Status FeedClosed();
void Await(const ChangeFeed* feed, uint64_t seen,
           std::chrono::milliseconds poll = std::chrono::milliseconds(250));

}  // namespace flightdeck::db
