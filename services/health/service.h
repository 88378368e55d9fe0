#pragma once

#include <chrono>

#include <grpcpp/grpcpp.h>

#include "common/clock/clock.h"
#include "common/db/change_feed.h"
#include "common/net/egress.h"
#include "flightdeck/v1/health.grpc.pb.h"
#include "services/health/store.h"

// The gRPC surface of the health service (proto/flightdeck/v1/health.proto): validates, calls
// the store, maps errors. Probing itself happens on whichever replica owns the target's shard.
namespace flightdeck::health {

class HealthServiceImpl final : public v1::HealthService::Service {
 public:
  struct Options {
    // WatchHealth waits on the feed for new events (and ends when the client cancels); without
    // one it polls the events table this often.
    const db::ChangeFeed* feed = nullptr;
    std::chrono::milliseconds watch_poll{250};
    // Targets whose probes would connect where it refuses are INVALID_ARGUMENT; null: none.
    const net::EgressPolicy* egress = nullptr;
  };
  HealthServiceImpl(HealthStore& store, const Clock& clock, Options options);

  grpc::Status CreateTarget(grpc::ServerContext* ctx, const v1::HealthTarget* req,
                            v1::HealthTarget* resp) override;
  grpc::Status GetTarget(grpc::ServerContext* ctx, const v1::GetTargetRequest* req,
                         v1::HealthTarget* resp) override;
  grpc::Status ListTargets(grpc::ServerContext* ctx, const v1::ListTargetsRequest* req,
                           v1::ListTargetsResponse* resp) override;
  grpc::Status DeleteTarget(grpc::ServerContext* ctx, const v1::DeleteTargetRequest* req,
                            v1::DeleteTargetResponse* resp) override;
  grpc::Status GetTargetStats(grpc::ServerContext* ctx, const v1::GetTargetStatsRequest* req,
                              v1::TargetWindowStats* resp) override;
  grpc::Status GetServiceHealth(grpc::ServerContext* ctx, const v1::GetServiceHealthRequest* req,
                                v1::GetServiceHealthResponse* resp) override;
  grpc::Status ListHealthEvents(grpc::ServerContext* ctx, const v1::ListHealthEventsRequest* req,
                                v1::ListHealthEventsResponse* resp) override;
  grpc::Status WatchHealth(grpc::ServerContext* ctx, const v1::WatchHealthRequest* req,
                           grpc::ServerWriter<v1::HealthEvent>* writer) override;

  // Window figures of a target from the result ring (also GetTarget's stats).
  grpc::Status WindowStats(const std::string& name, std::chrono::seconds window, Clock::TimePoint end,
                           v1::TargetWindowStats* out);

 private:
  HealthStore& store_;
  const Clock& clock_;
  Options options_;
};

}  // namespace flightdeck::health
