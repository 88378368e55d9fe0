#pragma once

#include <memory>
#include <string>

#include <grpcpp/support/status.h>

namespace grpc {
class Channel;
}

namespace flightdeck::releases {

// Asks the backups service for a fresh backup before a deploy (environment policy
// backup_before_deploy) and follows it.
class PreDeployBackups {
 public:
  virtual ~PreDeployBackups() = default;
  // Starts a backup of the target; returns its id.
  virtual grpc::Status Start(const std::string& target, const std::string& actor, std::string* backup_id) = 0;
  // PENDING, RUNNING, SUCCEEDED, FAILED (with the reason in *detail).
  virtual grpc::Status State(const std::string& backup_id, std::string* state, std::string* detail) = 0;
};

// Over gRPC to flightdeck-backups (FLIGHTDECK_BACKUPS_ADDR), with a deadline per call.
std::unique_ptr<PreDeployBackups> MakeBackupsClient(std::shared_ptr<grpc::Channel> channel);

}  // namespace flightdeck::releases
