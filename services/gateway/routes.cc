#include "services/gateway/routes.h"

#include "flightdeck/v1/backups.pb.h"
#include "flightdeck/v1/releases.pb.h"

namespace flightdeck::gateway {

const char* UpstreamName(Upstream upstream) {
  switch (upstream) {
    case Upstream::kReleases: return "releases";
    case Upstream::kBackups: return "backups";
    case Upstream::kHealth: return "health";
    case Upstream::kIncidents: return "incidents";
  }
  return "unknown";
}

const std::vector<ProxyRoute>& ProxyRoutes() {
  // Linking a message of each proto file registers its descriptors in the generated pool,
  // where the gateway finds request and response types by method name.
  (void)v1::Release::descriptor();
  (void)v1::Backup::descriptor();
  static const std::vector<ProxyRoute> routes = {
      {"POST", "/v1/releases", v1::Token::DEPLOYER, Upstream::kReleases,
       "flightdeck.v1.ReleaseService.CreateRelease", true},
      {"GET", "/v1/releases", v1::Token::VIEWER, Upstream::kReleases,
       "flightdeck.v1.ReleaseService.ListReleases", false},
      {"GET", "/v1/releases/{id}", v1::Token::VIEWER, Upstream::kReleases,
       "flightdeck.v1.ReleaseService.GetRelease", false},
      {"GET", "/v1/releases/{id}/events", v1::Token::VIEWER, Upstream::kReleases,
       "flightdeck.v1.ReleaseService.ListReleaseEvents", false},
      {"POST", "/v1/releases/{id}/approve", v1::Token::DEPLOYER, Upstream::kReleases,
       "flightdeck.v1.ReleaseService.ApproveRelease", true},
      {"POST", "/v1/releases/{id}/promote", v1::Token::DEPLOYER, Upstream::kReleases,
       "flightdeck.v1.ReleaseService.PromoteRelease", true},
      {"POST", "/v1/releases/{id}/abort", v1::Token::DEPLOYER, Upstream::kReleases,
       "flightdeck.v1.ReleaseService.AbortRelease", true},
      {"POST", "/v1/releases/{id}/rollback", v1::Token::DEPLOYER, Upstream::kReleases,
       "flightdeck.v1.ReleaseService.RollbackRelease", true},
      {"POST", "/v1/releases/{id}/observations", v1::Token::DEPLOYER, Upstream::kReleases,
       "flightdeck.v1.ReleaseService.PostObservations", true},
      {"POST", "/v1/releases/{id}/verification", v1::Token::DEPLOYER, Upstream::kReleases,
       "flightdeck.v1.ReleaseService.PostVerification", true},
      {"GET", "/v1/services/{service}/environments/{environment}", v1::Token::VIEWER,
       Upstream::kReleases, "flightdeck.v1.ReleaseService.GetServiceEnvironment", false},
      {"POST", "/v1/services/{service}/environments/{environment}/rollback", v1::Token::DEPLOYER,
       Upstream::kReleases, "flightdeck.v1.ReleaseService.RollbackServiceEnvironment", true},
      {"POST", "/v1/backup-targets", v1::Token::OPERATOR, Upstream::kBackups,
       "flightdeck.v1.BackupService.CreateBackupTarget", true},
      {"GET", "/v1/backup-targets", v1::Token::VIEWER, Upstream::kBackups,
       "flightdeck.v1.BackupService.ListBackupTargets", false},
      {"GET", "/v1/backup-targets/{name}", v1::Token::VIEWER, Upstream::kBackups,
       "flightdeck.v1.BackupService.GetBackupTarget", false},
      {"PATCH", "/v1/backup-targets/{name}", v1::Token::OPERATOR, Upstream::kBackups,
       "flightdeck.v1.BackupService.UpdateBackupTarget", true},
      {"DELETE", "/v1/backup-targets/{name}", v1::Token::OPERATOR, Upstream::kBackups,
       "flightdeck.v1.BackupService.DeleteBackupTarget", false},
      {"POST", "/v1/backups", v1::Token::OPERATOR, Upstream::kBackups,
       "flightdeck.v1.BackupService.CreateBackup", true},
      {"GET", "/v1/backups", v1::Token::VIEWER, Upstream::kBackups,
       "flightdeck.v1.BackupService.ListBackups", false},
      {"GET", "/v1/backups/{id}", v1::Token::VIEWER, Upstream::kBackups,
       "flightdeck.v1.BackupService.GetBackup", false},
      {"POST", "/v1/backups/{id}/verify", v1::Token::OPERATOR, Upstream::kBackups,
       "flightdeck.v1.BackupService.VerifyBackup", true},
      {"POST", "/v1/backups/{id}/restore", v1::Token::OPERATOR, Upstream::kBackups,
       "flightdeck.v1.BackupService.RestoreBackup", true},
  };
  return routes;
}

}  // namespace flightdeck::gateway
