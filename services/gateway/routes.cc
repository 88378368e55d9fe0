#include "services/gateway/routes.h"

#include "flightdeck/v1/backups.pb.h"
#include "flightdeck/v1/health.pb.h"
#include "flightdeck/v1/incidents.pb.h"
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
  (void)v1::HealthTarget::descriptor();
  (void)v1::Incident::descriptor();
  constexpr bool kBody = true;
  constexpr bool kNoBody = false;
  constexpr bool kIgnoreUnknown = true;
  constexpr bool kPagerDuty = true;
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
      // Health (issue 4): viewers read, operators write.
      {"POST", "/v1/health/targets", v1::Token::OPERATOR, Upstream::kHealth,
       "flightdeck.v1.HealthService.CreateTarget", kBody},
      {"GET", "/v1/health/targets", v1::Token::VIEWER, Upstream::kHealth,
       "flightdeck.v1.HealthService.ListTargets", kNoBody},
      {"GET", "/v1/health/targets/{name}", v1::Token::VIEWER, Upstream::kHealth,
       "flightdeck.v1.HealthService.GetTarget", kNoBody},
      {"DELETE", "/v1/health/targets/{name}", v1::Token::OPERATOR, Upstream::kHealth,
       "flightdeck.v1.HealthService.DeleteTarget", kNoBody},
      {"GET", "/v1/health/targets/{name}/stats", v1::Token::VIEWER, Upstream::kHealth,
       "flightdeck.v1.HealthService.GetTargetStats", kNoBody},
      {"GET", "/v1/health/services/{service}", v1::Token::VIEWER, Upstream::kHealth,
       "flightdeck.v1.HealthService.GetServiceHealth", kNoBody},
      {"GET", "/v1/health/events", v1::Token::VIEWER, Upstream::kHealth,
       "flightdeck.v1.HealthService.ListHealthEvents", kNoBody},
      {"POST", "/v1/health/smoke-runs", v1::Token::OPERATOR, Upstream::kHealth,
       "flightdeck.v1.SmokeService.CreateSmokeRun", kBody},
      {"GET", "/v1/health/smoke-runs/{id}", v1::Token::VIEWER, Upstream::kHealth,
       "flightdeck.v1.SmokeService.GetSmokeRun", kNoBody},
      {"POST", "/v1/health/smoke-suites", v1::Token::OPERATOR, Upstream::kHealth,
       "flightdeck.v1.SmokeService.PutSmokeSuite", kBody},
      {"GET", "/v1/health/smoke-suites", v1::Token::VIEWER, Upstream::kHealth,
       "flightdeck.v1.SmokeService.ListSmokeSuites", kNoBody},
      {"GET", "/v1/health/smoke-suites/{name}", v1::Token::VIEWER, Upstream::kHealth,
       "flightdeck.v1.SmokeService.GetSmokeSuite", kNoBody},
      {"DELETE", "/v1/health/smoke-suites/{name}", v1::Token::OPERATOR, Upstream::kHealth,
       "flightdeck.v1.SmokeService.DeleteSmokeSuite", kNoBody},

      // Incidents (issue 5): intake is open to INGEST tokens (and operators); the rest is
      // viewer reads and operator writes.
      {"POST", "/v1/alerts/alertmanager", v1::Token::INGEST, Upstream::kIncidents,
       "flightdeck.v1.IncidentService.PostAlertmanager", kBody, kIgnoreUnknown},
      {"POST", "/v1/alerts", v1::Token::INGEST, Upstream::kIncidents,
       "flightdeck.v1.IncidentService.PostAlerts", kBody},
      {"POST", "/v2/enqueue", v1::Token::INGEST, Upstream::kIncidents,
       "flightdeck.v1.IncidentService.PostPagerDutyEvent", kBody, kIgnoreUnknown, kPagerDuty},
      {"GET", "/v1/alerts", v1::Token::VIEWER, Upstream::kIncidents,
       "flightdeck.v1.IncidentService.ListAlerts", kNoBody},
      {"POST", "/v1/incidents", v1::Token::OPERATOR, Upstream::kIncidents,
       "flightdeck.v1.IncidentService.DeclareIncident", kBody},
      {"GET", "/v1/incidents", v1::Token::VIEWER, Upstream::kIncidents,
       "flightdeck.v1.IncidentService.ListIncidents", kNoBody},
      {"GET", "/v1/incidents/{id}", v1::Token::VIEWER, Upstream::kIncidents,
       "flightdeck.v1.IncidentService.GetIncident", kNoBody},
      {"POST", "/v1/incidents/{id}/acknowledge", v1::Token::OPERATOR, Upstream::kIncidents,
       "flightdeck.v1.IncidentService.AcknowledgeIncident", kBody},
      {"POST", "/v1/incidents/{id}/resolve", v1::Token::OPERATOR, Upstream::kIncidents,
       "flightdeck.v1.IncidentService.ResolveIncident", kBody},
      {"POST", "/v1/incidents/{id}/escalate", v1::Token::OPERATOR, Upstream::kIncidents,
       "flightdeck.v1.IncidentService.EscalateIncident", kBody},
      {"POST", "/v1/incidents/{id}/updates", v1::Token::OPERATOR, Upstream::kIncidents,
       "flightdeck.v1.IncidentService.PostStatusUpdate", kBody},
      {"POST", "/v1/incidents/{id}/review", v1::Token::OPERATOR, Upstream::kIncidents,
       "flightdeck.v1.IncidentService.SubmitReview", kBody},
      {"POST", "/v1/incidents/{id}/actions", v1::Token::OPERATOR, Upstream::kIncidents,
       "flightdeck.v1.IncidentService.AddAction", kBody},
      {"POST", "/v1/incidents/{id}/close", v1::Token::OPERATOR, Upstream::kIncidents,
       "flightdeck.v1.IncidentService.CloseIncident", kBody},
      {"GET", "/v1/actions", v1::Token::VIEWER, Upstream::kIncidents,
       "flightdeck.v1.IncidentService.ListActions", kNoBody},
      {"POST", "/v1/actions/{id}/complete", v1::Token::OPERATOR, Upstream::kIncidents,
       "flightdeck.v1.IncidentService.CompleteAction", kBody},
      {"GET", "/v1/reports/weekly", v1::Token::VIEWER, Upstream::kIncidents,
       "flightdeck.v1.IncidentService.GetWeeklyReport", kNoBody},
      // An integration's routing key is a credential: only operators read integrations.
      {"POST", "/v1/integrations", v1::Token::OPERATOR, Upstream::kIncidents,
       "flightdeck.v1.IncidentService.CreateIntegration", kBody},
      {"GET", "/v1/integrations", v1::Token::OPERATOR, Upstream::kIncidents,
       "flightdeck.v1.IncidentService.ListIntegrations", kNoBody},
      {"GET", "/v1/integrations/{name}", v1::Token::OPERATOR, Upstream::kIncidents,
       "flightdeck.v1.IncidentService.GetIntegration", kNoBody},
      {"DELETE", "/v1/integrations/{name}", v1::Token::OPERATOR, Upstream::kIncidents,
       "flightdeck.v1.IncidentService.DeleteIntegration", kNoBody},
      {"POST", "/v1/escalation-policies", v1::Token::OPERATOR, Upstream::kIncidents,
       "flightdeck.v1.IncidentService.PutEscalationPolicy", kBody},
      {"GET", "/v1/escalation-policies", v1::Token::VIEWER, Upstream::kIncidents,
       "flightdeck.v1.IncidentService.ListEscalationPolicies", kNoBody},
      {"GET", "/v1/escalation-policies/{name}", v1::Token::VIEWER, Upstream::kIncidents,
       "flightdeck.v1.IncidentService.GetEscalationPolicy", kNoBody},
      {"DELETE", "/v1/escalation-policies/{name}", v1::Token::OPERATOR, Upstream::kIncidents,
       "flightdeck.v1.IncidentService.DeleteEscalationPolicy", kNoBody},
      {"POST", "/v1/silences", v1::Token::OPERATOR, Upstream::kIncidents,
       "flightdeck.v1.IncidentService.CreateSilence", kBody},
      {"GET", "/v1/silences", v1::Token::VIEWER, Upstream::kIncidents,
       "flightdeck.v1.IncidentService.ListSilences", kNoBody},
      {"POST", "/v1/silences/{id}/expire", v1::Token::OPERATOR, Upstream::kIncidents,
       "flightdeck.v1.IncidentService.ExpireSilence", kBody},
      {"POST", "/v1/inhibition-rules", v1::Token::OPERATOR, Upstream::kIncidents,
       "flightdeck.v1.IncidentService.CreateInhibitionRule", kBody},
      {"GET", "/v1/inhibition-rules", v1::Token::VIEWER, Upstream::kIncidents,
       "flightdeck.v1.IncidentService.ListInhibitionRules", kNoBody},
      {"DELETE", "/v1/inhibition-rules/{id}", v1::Token::OPERATOR, Upstream::kIncidents,
       "flightdeck.v1.IncidentService.DeleteInhibitionRule", kNoBody},
      {"GET", "/v1/incident-settings", v1::Token::VIEWER, Upstream::kIncidents,
       "flightdeck.v1.IncidentService.GetIncidentSettings", kNoBody},
      {"PUT", "/v1/incident-settings", v1::Token::OPERATOR, Upstream::kIncidents,
       "flightdeck.v1.IncidentService.PutIncidentSettings", kBody},
  };
  return routes;
}

}  // namespace flightdeck::gateway
