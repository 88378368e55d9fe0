#pragma once

#include <memory>
#include <string>

#include <grpcpp/support/status.h>

namespace grpc {
class Channel;
}

namespace flightdeck::releases {

// Runs a saved smoke suite of the health service for a release in VERIFYING (its outcome is
// the verification verdict) or after a maintenance window closed, and follows the run.
class SmokeRuns {
 public:
  virtual ~SmokeRuns() = default;
  // `actor` is who the run is recorded as started by ("release <id>", "window <name>");
  // `release_id` is empty for a window's run.
  virtual grpc::Status Start(const std::string& suite, const std::string& actor,
                             const std::string& release_id, std::string* run_id) = 0;
  // RUNNING, PASSED or FAILED; `summary` says which checks failed and why.
  virtual grpc::Status State(const std::string& run_id, std::string* state, std::string* summary) = 0;
};

// Over gRPC to flightdeck-health (FLIGHTDECK_HEALTH_ADDR), with a deadline per call.
std::unique_ptr<SmokeRuns> MakeSmokeRunsClient(std::shared_ptr<grpc::Channel> channel);

}  // namespace flightdeck::releases
