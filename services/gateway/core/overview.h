#pragma once

#include <chrono>
#include <map>
#include <memory>

#include "common/api/methods.h"
#include "flightdeck/v1/gateway.pb.h"

namespace grpc {
class Channel;
}

namespace flightdeck::gateway {

// Builds GET /v1/overview: what runs where, and is it OK. Asks each service for its part
// (releases: every service and environment; health: the roll-ups; incidents: the open ones;
// backups: every target with its RPO) and joins them by service and environment. A service
// that does not answer within `timeout` is named in `unavailable`: its part is missing, never
// guessed. Blocking: runs on a worker thread.
class OverviewBuilder {
 public:
  OverviewBuilder(std::map<api::Service, std::shared_ptr<grpc::Channel>> upstreams,
                  std::chrono::milliseconds timeout);
  v1::Overview Build(const std::string& actor, const std::string& request_id) const;

 private:
  std::map<api::Service, std::shared_ptr<grpc::Channel>> upstreams_;
  std::chrono::milliseconds timeout_;
};

}  // namespace flightdeck::gateway
