#include "services/releases/predeploy_backup.h"

#include <grpcpp/client_context.h>

#include "common/grpc/channel.h"
#include "common/grpc/metadata.h"
#include "flightdeck/v1/backups.grpc.pb.h"

namespace flightdeck::releases {
namespace {

class BackupsClient final : public PreDeployBackups {
 public:
  explicit BackupsClient(std::shared_ptr<grpc::Channel> channel)
      : stub_(v1::BackupService::NewStub(std::move(channel))) {}

  grpc::Status Start(const std::string& target, const std::string& actor, std::string* backup_id) override {
    grpc::ClientContext context;
    context.set_deadline(rpc::DeadlineAfter(std::chrono::seconds(10)));
    context.AddMetadata(rpc::kActorKey, actor);
    v1::CreateBackupRequest request;
    request.set_target(target);
    v1::Backup backup;
    grpc::Status s = stub_->CreateBackup(&context, request, &backup);
    if (s.ok()) *backup_id = backup.id();
    return s;
  }

  grpc::Status State(const std::string& backup_id, std::string* state, std::string* detail) override {
    grpc::ClientContext context;
    context.set_deadline(rpc::DeadlineAfter(std::chrono::seconds(10)));
    v1::GetBackupRequest request;
    request.set_id(backup_id);
    v1::Backup backup;
    grpc::Status s = stub_->GetBackup(&context, request, &backup);
    if (!s.ok()) return s;
    *state = v1::Backup::State_Name(backup.state());
    *detail = backup.failure_reason();
    return grpc::Status::OK;
  }

 private:
  std::unique_ptr<v1::BackupService::Stub> stub_;
};

}  // namespace

std::unique_ptr<PreDeployBackups> MakeBackupsClient(std::shared_ptr<grpc::Channel> channel) {
  return std::make_unique<BackupsClient>(std::move(channel));
}

}  // namespace flightdeck::releases
