#pragma once

#include <string>
#include <vector>

#include <grpcpp/support/status.h>

#include "common/clock/clock.h"
#include "common/secrets/secrets.h"
#include "flightdeck/v1/health.pb.h"
#include "services/health/request_checks.h"

namespace flightdeck::db {
class Pool;
}
namespace flightdeck::jobs {
class Queue;
}

namespace flightdeck::health::smoke {

// SQL of smoke suites and runs (migrations/health/0003_smoke.sql). A run's work is a chain of
// "smoke_run" jobs, one per group of checks: each job records its group's results and schedules
// the next group in the same transaction, so a crash resumes at the first unrecorded group.
//
// Secret-looking header values (IsSecretHeader) are stored sealed with the master key and opened
// when read back; values stored before sealing existed read as plain text and are sealed when
// their row is next written. With no key, a suite or run carrying one is refused.
class SmokeStore {
 public:
  SmokeStore(db::Pool& pool, jobs::Queue& queue, const secrets::KeyRing* keys = nullptr);

  grpc::Status PutSuite(const v1::SmokeSuite& suite, Clock::TimePoint now, v1::SmokeSuite* out);
  grpc::Status GetSuite(const std::string& name, v1::SmokeSuite* out);
  grpc::Status ListSuites(std::vector<v1::SmokeSuite>* out);
  grpc::Status DeleteSuite(const std::string& name);

  // Stores `run` RUNNING (its id and created_at filled in) with the job of its first group.
  grpc::Status CreateRun(v1::SmokeRun* run, Clock::TimePoint now);
  grpc::Status GetRun(const std::string& id, v1::SmokeRun* out);
  // Newest first, after the run (`after_micros`, `after_id`) of a page token when given.
  grpc::Status ListRuns(const std::string& suite, const std::string& state, long long after_micros,
                        const std::string& after_id, int limit, std::vector<v1::SmokeRun>* out);
  // Up to `limit` run ids within `range`, in order: how an id prefix is resolved.
  grpc::Status RunIdsInRange(const UuidRange& range, int limit, std::vector<std::string>* ids);
  // Records `results` after the `recorded` results the run had when they were computed; ends
  // the run (PASSED/FAILED) after its last check, else schedules the next group. *applied is
  // false, and nothing changes, when the run moved on meanwhile (the job ran twice).
  grpc::Status RecordResults(const std::string& id, int recorded,
                             const std::vector<v1::SmokeCheckResult>& results, Clock::TimePoint now,
                             bool* applied);

 private:
  db::Pool& pool_;
  jobs::Queue& queue_;
  const secrets::KeyRing& keys_;
};

// The job payload naming a run and the index of its next check.
std::string RunJobPayload(const std::string& run_id, int next);

}  // namespace flightdeck::health::smoke
