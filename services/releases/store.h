#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <grpcpp/support/status.h>

#include "common/clock/clock.h"
#include "common/jobs/jobs.h"
#include "flightdeck/v1/releases.pb.h"
#include "services/releases/canary_analysis.h"
#include "services/releases/driver.h"
#include "services/releases/statistical_judge.h"

namespace flightdeck::db {
class Pool;
class SessionLock;
}
namespace flightdeck::jobs {
class Queue;
}

namespace flightdeck::releases {

// The job kind that makes the pipeline look at a release (payload {"release_id": "..."}).
inline constexpr char kAdvanceJob[] = "release.advance";
// A release's next step is retried until it runs, never dropped: a dropped advance job leaves
// the release in flight for good, holding its service and environment. The queue's default (5
// attempts) was used up by five kill -9s of releases during one long driver command, each
// expiring the lease of an attempt (tests/chaos/releases_kill_test.cc). As Temporal retries an
// activity by default: without a limit in practice, the backoff capped at 30 s.
inline const jobs::RetryPolicy kAdvanceRetry{1000000, std::chrono::milliseconds(1000),
                                             std::chrono::milliseconds(30000)};

// Announces a timeline event to the environment's notification targets (notifications.h);
// payload {"release_id", "event_id", "kind"}. Enqueued with the change that records the event.
inline constexpr char kNotifyJob[] = "release.notify";

// Position in the newest-first listing: the last row returned.
struct ListCursor {
  long long created_at_us = 0;
  std::string id;
};

struct ListQuery {
  std::string service;      // empty: any
  std::string environment;  // empty: any
  std::string state;        // empty: any
  int limit = 50;
  std::optional<ListCursor> after;
  // A page for people (the ListReleases RPC) may come from the read replica, a few seconds
  // behind; a decision taken on the list (which release to roll back to) must not.
  bool stale_ok = false;
};

struct NewEvent {
  std::string type;
  std::string actor;
  std::string message;
  std::string data_json = "{}";
};

struct ObservationRow {
  Observation observation;
  long long window_ms = 0;
  VersionSamples samples;  // raw latency samples, for the mann_whitney judge
};

// What one change of a release does besides changing it; committed in the same transaction.
struct Changes {
  Clock::TimePoint now;
  std::string trace_id;
  std::vector<NewEvent> events;
  std::optional<Clock::TimePoint> advance_at;  // schedule the pipeline for this release
  std::optional<ObservationRow> observation;
  // Admit only: events for other releases' timelines, written in the same transaction; in their
  // message and data, "{new_id}" becomes the id of the release admitted.
  std::vector<std::pair<std::string, NewEvent>> other_events;
  // This release restores an older one: once it succeeds, every release that succeeded after
  // the restored one (and is still SUCCEEDED) becomes ROLLED_BACK.
  bool supersede_newer = false;
};

// SQL for the releases schema (migrations/releases). Every method returns a status; none throws.
class ReleaseStore {
 public:
  ReleaseStore(db::Pool& pool, jobs::Queue& jobs);
  // Called with the id and new revision of every release changed by a committed Update (cache
  // invalidation); not for an Update that only appended events or observations.
  using OnChange = std::function<void(const std::string& id, long long revision)>;
  void SetOnChange(OnChange on_change) {
    on_change_ = std::move(on_change);
  }
  // Whether an environment has targets for a notification kind (notify_targets.h). An event of
  // Admit or Update that announces such a kind enqueues kNotifyJob in the same transaction, so
  // that no announcement is lost nor made for a change that rolled back. Unset: none.
  using WantsNotification = std::function<bool(const std::string& environment, const std::string& kind)>;
  void SetNotifications(WantsNotification wants) { wants_notification_ = std::move(wants); }

  // Inserts a new release holding its (service, environment) lock — or, with `queue`, waiting
  // behind the release in flight (release->queued is set). Without `queue`, a release in flight
  // makes this ALREADY_EXISTS naming it. The unique index releases_one_in_flight is what
  // enforces the rule; this method only turns its verdict into a good message.
  grpc::Status Admit(v1::Release* release, bool queue, Changes changes);
  grpc::Status Get(const std::string& id, v1::Release* out);
  grpc::Status List(const ListQuery& query, std::vector<v1::Release>* out, bool* more);

  // Locks the release, lets `change` modify it (a non-OK status refuses and rolls back), writes
  // it back with revision + 1 together with the events, the scheduled work and the observation.
  // A release that leaves the in-flight states hands its lock to the oldest queued release of
  // its service and environment, which gets an advance job. expected_revision >= 0 refuses with
  // ABORTED when the release changed since the caller looked.
  using ChangeFn = std::function<grpc::Status(v1::Release& release, Changes& changes)>;
  grpc::Status Update(const std::string& id, long long expected_revision, Clock::TimePoint now,
                      const std::string& trace_id, const ChangeFn& change, v1::Release* out);

  grpc::Status ListEvents(const std::string& id, long long after_id, int limit,
                          std::vector<v1::ReleaseEvent>* out, bool* more);
  // Sums what was pushed for the release in [from, to): requests and errors added, the worst
  // p99. nullopt when nothing was pushed.
  grpc::Status SumObservations(const std::string& id, Clock::TimePoint from, Clock::TimePoint to,
                               std::optional<Observation>* out);
  // Every latency sample pushed for the release in [from, to), per version.
  grpc::Status ObservationSamples(const std::string& id, Clock::TimePoint from, Clock::TimePoint to,
                                  VersionSamples* out);

  // The newest release of that commit that once SUCCEEDED in the environment (NOT_FOUND).
  grpc::Status FindSucceeded(const std::string& service, const std::string& environment,
                             const std::string& commit_sha, v1::Release* out);
  // The newest release still SUCCEEDED in the environment: what runs there (NOT_FOUND).
  grpc::Status CurrentGood(const std::string& service, const std::string& environment,
                           v1::Release* out);
  // The release in flight (NOT_FOUND when none) and how many wait behind it.
  grpc::Status InFlight(const std::string& service, const std::string& environment,
                        v1::Release* out, int* queued);
  // Every release not yet in a terminal state, queued ones included (the release gauges read
  // them every few seconds: the one-in-flight and queue partial indexes answer it, however long
  // the history).
  grpc::Status Unfinished(std::vector<v1::Release>* out);
  // The newest finished DEPLOY releases of the environment, newest first.
  grpc::Status RecentFinishedDeploys(const std::string& service, const std::string& environment,
                                     int limit, std::vector<v1::Release>* out);

  // Ids of releases whose id lies in [lowest, highest] (full UUIDs bounding a prefix), in id
  // order, at most `limit`: the PK index answers it.
  grpc::Status IdsBetween(const std::string& lowest, const std::string& highest, int limit,
                          std::vector<v1::Release>* out);
  // Releases that once SUCCEEDED in the environment whose commit starts with `sha_prefix` (or
  // is a prefix of it: a commit created by its short form), newest success first, at most
  // `limit`.
  grpc::Status FindSucceededByPrefix(const std::string& service, const std::string& environment,
                                     const std::string& sha_prefix, int limit,
                                     std::vector<v1::Release>* out);
  // Every service and environment that has seen a release (only `service`'s when not empty),
  // sorted, each with current, in_flight and queued as CurrentGood and InFlight answer them:
  // three statements for all of them. An overview: read from the read replica when there is one.
  grpc::Status ListEnvironments(const std::string& service, std::vector<v1::ServiceEnvironment>* out);
  // Appends an event without changing the release (NOT_FOUND when there is no such release).
  grpc::Status AppendEvent(const std::string& id, Clock::TimePoint now, const std::string& trace_id,
                           const NewEvent& event, v1::ReleaseEvent* out);

  // Driver actions, keyed by their idempotency key. Start records one more attempt ("started" in
  // *status), unless the action finished before: then *status is "succeeded" or "failed", *result
  // what it returned, and it must not run again.
  grpc::Status StartDriverAction(const std::string& action_id, const DriverAction& action,
                                 Clock::TimePoint now, std::string* status, DriverResult* result);
  grpc::Status FinishDriverAction(const std::string& action_id, const DriverResult& result,
                                  Clock::TimePoint now);
  // The action's lock (db::SessionLock), held from before Start until after Finish: no two
  // runs of one action at once, whichever threads or replicas hold its step's job. Waits at most
  // `wait` for a run that holds it; DEADLINE_EXCEEDED when that run still goes on.
  grpc::Status HoldDriverAction(const std::string& action_id, std::chrono::milliseconds wait,
                                std::unique_ptr<db::SessionLock>* lock);

 private:
  // Whether the environment has notification targets for the kind this event announces.
  bool Announces(const std::string& environment, const NewEvent& e) const;
  // Enqueues the notification of an event already recorded as event_id, when wanted.
  grpc::Status EnqueueNotification(pqxx::transaction_base& tx, const std::string& id,
                                   const std::string& environment, long long at_us, const NewEvent& e,
                                   long long event_id);

  db::Pool& pool_;
  jobs::Queue& jobs_;
  OnChange on_change_;
  WantsNotification wants_notification_;
};

}  // namespace flightdeck::releases
