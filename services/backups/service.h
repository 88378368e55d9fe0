#pragma once

#include <string>

#include "common/clock/clock.h"
#include "common/net/egress.h"
#include "flightdeck/v1/backups.grpc.pb.h"
#include "services/backups/chunked_cipher.h"
#include "services/backups/store.h"

namespace flightdeck::backups {

// The gRPC surface of the backups service: validate, call the store, map errors. Long work
// (backups, verification, restores) is queued as jobs; answers show it PENDING or RUNNING.
class BackupServiceImpl final : public v1::BackupService::Service {
 public:
  // Targets' storage paths must lie under `backup_root` (FLIGHTDECK_BACKUP_ROOT).
  BackupServiceImpl(BackupStore& store, const KeyRing& keys, const Clock& clock, std::string backup_root,
                    std::function<void()> nudge);
  // Targets whose database the egress policy refuses are INVALID_ARGUMENT (null: no check).
  void SetEgressPolicy(const net::EgressPolicy* egress) { egress_ = egress; }

  grpc::Status CreateBackupTarget(grpc::ServerContext*, const v1::BackupTarget*, v1::BackupTarget*) override;
  grpc::Status GetBackupTarget(grpc::ServerContext*, const v1::GetBackupTargetRequest*,
                               v1::BackupTarget*) override;
  grpc::Status ListBackupTargets(grpc::ServerContext*, const v1::ListBackupTargetsRequest*,
                                 v1::ListBackupTargetsResponse*) override;
  grpc::Status UpdateBackupTarget(grpc::ServerContext*, const v1::UpdateBackupTargetRequest*,
                                  v1::BackupTarget*) override;
  grpc::Status DeleteBackupTarget(grpc::ServerContext*, const v1::DeleteBackupTargetRequest*,
                                  v1::BackupTarget*) override;
  grpc::Status CreateBackup(grpc::ServerContext*, const v1::CreateBackupRequest*, v1::Backup*) override;
  grpc::Status GetBackup(grpc::ServerContext*, const v1::GetBackupRequest*, v1::Backup*) override;
  grpc::Status ListBackups(grpc::ServerContext*, const v1::ListBackupsRequest*,
                           v1::ListBackupsResponse*) override;
  grpc::Status VerifyBackup(grpc::ServerContext*, const v1::VerifyBackupRequest*, v1::Backup*) override;
  grpc::Status RestoreBackup(grpc::ServerContext*, const v1::RestoreBackupRequest*, v1::Backup*) override;

 private:
  const net::EgressPolicy* egress_ = nullptr;
  // Fills target->status: the RPO figures from the target's RPO facts (the query the RPO gauges
  // and their alert read), the last success and failure and the failure streak from its recent
  // backups.
  grpc::Status FillStatus(const TargetRecord& record, const TargetRpo& rpo, v1::BackupTarget* target);
  // The same for one target, reading its RPO facts first.
  grpc::Status FillStatus(const TargetRecord& record, v1::BackupTarget* target);
  // A full backup id, or a unique prefix of at least 4 hex characters, as the full id.
  grpc::Status ResolveBackupId(const std::string& given, std::string* id);

  BackupStore& store_;
  const KeyRing& keys_;
  const Clock& clock_;
  std::string backup_root_;
  std::function<void()> nudge_;
};

}  // namespace flightdeck::backups
