#pragma once

#include <functional>
#include <memory>
#include <string>

#include <grpcpp/support/status.h>

#include "common/clock/clock.h"
#include "common/net/egress.h"
#include "common/secrets/secrets.h"
#include "flightdeck/v1/health.grpc.pb.h"

namespace flightdeck::db {
class Pool;
}
namespace flightdeck::jobs {
class Queue;
class Worker;
}
namespace flightdeck::health::smoke {
class SmokeStore;
}

// Smoke suites (issue 4): saved suites and runs (tables in migrations/health/0003_smoke.sql).
// A run is stored RUNNING and executed by a durable job ("smoke_run") so that a crash resumes
// it; checks run in order, adjacent checks marked concurrent together (libcurl multi).
// Each job runs one group of checks and schedules the next group as it records the results, so
// a job lasts at most about the longest timeout_ms of its group (60 s at most): the worker's
// lease must be longer than that.
namespace flightdeck::health {

inline constexpr char kSmokeRunJob[] = "smoke_run";

class SmokeServiceImpl final : public v1::SmokeService::Service {
 public:
  // `nudge` wakes the job worker after a run is enqueued. `keys` seal secret header values at
  // rest (smoke/store.h); null: no master key, and suites or runs with such headers are refused.
  // `egress` decides which addresses checks may reach: suites and runs naming a refused one are
  // INVALID_ARGUMENT, and a check whose address is refused when it runs fails with the reason;
  // null allows every address (tests of other things).
  SmokeServiceImpl(db::Pool& pool, jobs::Queue& queue, const Clock& clock,
                   std::function<void()> nudge, const secrets::KeyRing* keys = nullptr,
                   const net::EgressPolicy* egress = nullptr);
  ~SmokeServiceImpl() override;

  grpc::Status CreateSmokeRun(grpc::ServerContext* ctx, const v1::CreateSmokeRunRequest* req,
                              v1::SmokeRun* resp) override;
  grpc::Status GetSmokeRun(grpc::ServerContext* ctx, const v1::GetSmokeRunRequest* req,
                           v1::SmokeRun* resp) override;
  grpc::Status ListSmokeRuns(grpc::ServerContext* ctx, const v1::ListSmokeRunsRequest* req,
                             v1::ListSmokeRunsResponse* resp) override;
  grpc::Status PutSmokeSuite(grpc::ServerContext* ctx, const v1::SmokeSuite* req,
                             v1::SmokeSuite* resp) override;
  grpc::Status GetSmokeSuite(grpc::ServerContext* ctx, const v1::GetSmokeSuiteRequest* req,
                             v1::SmokeSuite* resp) override;
  grpc::Status ListSmokeSuites(grpc::ServerContext* ctx, const v1::ListSmokeSuitesRequest* req,
                               v1::ListSmokeSuitesResponse* resp) override;
  grpc::Status DeleteSmokeSuite(grpc::ServerContext* ctx, const v1::DeleteSmokeSuiteRequest* req,
                                v1::DeleteSmokeSuiteResponse* resp) override;

  // Registers the "smoke_run" job handler.
  void RegisterJobs(jobs::Worker& worker);
  // The "smoke_run" job: runs the run's next unrecorded group of checks and records it.
  // Idempotent: a run already finished, or a group recorded meanwhile, changes nothing.
  grpc::Status RunNextGroup(const std::string& run_id);

 private:
  const Clock& clock_;
  std::function<void()> nudge_;
  std::unique_ptr<smoke::SmokeStore> store_;
  const net::EgressPolicy* egress_;
};

}  // namespace flightdeck::health
