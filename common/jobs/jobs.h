#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/support/status.h>

#include "common/clock/clock.h"

namespace flightdeck::db {
class Pool;
}
namespace flightdeck::config {
class Env;
}
namespace pqxx {
class transaction_base;
}

namespace flightdeck::jobs {

// Durable due-work (DESIGN.md §2): a row in <schema>.jobs with a due time, claimed with
// FOR UPDATE SKIP LOCKED and a lease, so that replicas share the work, a crash loses nothing,
// and a job whose worker died is taken again when its lease expires. Times come from the
// injected clock, never from the database's now(), so tests can move time.
// The table comes from each owning schema's migration (see migrations/releases/0002_jobs.sql).

struct Job {
  long long id = 0;
  std::string kind;
  std::string key;      // unique among unfinished jobs of the schema when non-empty
  std::string payload;  // JSON text
  Clock::TimePoint due_at;
  int attempts = 0;     // including the current one once claimed
  int max_attempts = 0;
  std::string last_error;
};

struct RetryPolicy {
  int max_attempts = 5;
  std::chrono::milliseconds initial_backoff{1000};
  std::chrono::milliseconds max_backoff{300000};
};
// Backoff before attempt n+1 after n failed attempts: initial * 2^(n-1), capped.
std::chrono::milliseconds BackoffAfter(const RetryPolicy& policy, int failed_attempts);

class Queue {
 public:
  Queue(db::Pool& pool, std::string schema, const Clock& clock);

  // Adds a job. With a non-empty key, a job with the same key still pending or running is kept
  // and ALREADY_EXISTS returned (idempotent scheduling).
  grpc::Status Enqueue(const std::string& kind, const std::string& key, const std::string& payload,
                       Clock::TimePoint due_at, const RetryPolicy& policy = {},
                       long long* id = nullptr);
  // The same, inside the caller's transaction, so that a state change and the work it schedules
  // commit together (or not at all). Throws what libpqxx throws; the caller's Transact maps it.
  grpc::Status EnqueueIn(pqxx::transaction_base& tx, const std::string& kind,
                         const std::string& key, const std::string& payload,
                         Clock::TimePoint due_at, const RetryPolicy& policy = {},
                         long long* id = nullptr);
  // The same row as an INSERT for a statement of the caller's own, such as a CTE that schedules
  // work in the round trip of the change that needs it. Each field is an SQL expression of that
  // statement; `from` ends the INSERT's SELECT (its FROM and WHERE, or nothing).
  struct RowSql {
    std::string kind;                // text
    std::string key = "NULL";        // text; NULL for none
    std::string payload;             // jsonb
    std::string due_at;              // timestamptz
    std::string max_attempts;        // int, as RetryPolicy's three fields
    std::string initial_backoff_ms;  // int
    std::string max_backoff_ms;      // int
    std::string created_at;          // timestamptz
  };
  std::string InsertSql(const RowSql& row, const std::string& from = "") const;
  // Takes up to `limit` due jobs (pending and due, or running with an expired lease), marks them
  // running under `owner` until now + lease, attempts + 1. Returned in due order. A job whose
  // lease expired on its last allowed attempt is marked failed instead of being taken again.
  grpc::Status Claim(const std::string& owner, int limit, std::chrono::milliseconds lease,
                     std::vector<Job>* out);
  // The lease holder keeps a running job: its lease now ends at now + lease. FAILED_PRECONDITION
  // when the job is no longer leased to `owner` (it expired and another worker took it).
  grpc::Status Extend(long long id, const std::string& owner, std::chrono::milliseconds lease);
  // Only the current lease holder may complete or fail a job (a stale worker gets
  // FAILED_PRECONDITION and must not act on it).
  grpc::Status Complete(long long id, const std::string& owner);
  // Records the error; schedules a retry after backoff, or marks the job failed when attempts
  // are used up.
  grpc::Status Fail(long long id, const std::string& owner, const std::string& error);
  grpc::Status Get(long long id, Job* out, std::string* state = nullptr);
  // Deletes up to `limit` finished jobs: done ones last changed more than `keep_done` ago,
  // failed ones more than `keep_failed` ago (zero keeps them). *deleted says how many went.
  grpc::Status Prune(std::chrono::milliseconds keep_done, std::chrono::milliseconds keep_failed,
                     int limit, int* deleted);

  const std::string& schema() const { return schema_; }

 private:
  db::Pool& pool_;
  std::string schema_;
  const Clock& clock_;
};

// Polls a Queue and runs handlers by kind on a fixed number of threads until Stop(). Each poller
// claims one job at a time. A handler's OK completes the job; a non-OK status ("CODE: message"),
// an exception ("handler threw: ...") or a kind with no handler ("no handler for kind X") fails
// the attempt (Queue::Fail: retry after backoff, or failed). Once started, the worker extends
// the leases of the jobs it holds every third of a lease, so a handler may run longer than the
// lease; the lease only bounds how long a dead worker's jobs wait before another takes them. A
// handler may still run again after a crash, so it must be idempotent.
class Worker {
 public:
  using Handler = std::function<grpc::Status(const Job&)>;
  struct Options {
    std::string owner;  // unique per process, e.g. hostname:pid
    int threads = 2;
    std::chrono::milliseconds poll_interval{500};
    std::chrono::milliseconds lease{30000};  // extended while the handler runs
    // Finished jobs are deleted this long after their last change, by the thread that keeps
    // the leases, at its first beat (a third of a lease, at most prune_interval, after Start)
    // and every prune_interval: done ones after a day (River's default for completed jobs),
    // failed ones after a week, so that what gave up can still be looked at. Zero keeps them
    // for good. Without it the table and its claim index grow by every job ever run.
    std::chrono::milliseconds keep_done{std::chrono::hours(24)};
    std::chrono::milliseconds keep_failed{std::chrono::hours(24 * 7)};
    std::chrono::milliseconds prune_interval{std::chrono::minutes(10)};
  };
  // FLIGHTDECK_JOBS_KEEP_DONE and FLIGHTDECK_JOBS_KEEP_FAILED (durations; 0 keeps them for
  // good), which every service's worker reads.
  static void ReadRetention(const config::Env& env, Options* options);
  Worker(Queue& queue, Options options);
  ~Worker();
  void Handle(const std::string& kind, Handler handler);  // before Start
  void Start();
  void Stop();  // waits for running handlers
  // Claims what is due (up to 100 jobs) and runs it on the calling thread; returns how many ran
  // (tests).
  int RunOnce();
  void Nudge();  // wake a sleeping poller now (a job was just enqueued): one per nudge

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flightdeck::jobs
