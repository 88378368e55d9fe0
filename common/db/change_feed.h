#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

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
