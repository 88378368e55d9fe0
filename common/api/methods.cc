#include "common/api/methods.h"

#include <unordered_map>

namespace flightdeck::api {

const char* ServiceName(Service service) {
  switch (service) {
    case Service::kReleases: return "releases";
    case Service::kBackups: return "backups";
    case Service::kHealth: return "health";
    case Service::kIncidents: return "incidents";
    case Service::kGateway: return "gateway";
  }
  return "unknown";
}

const std::vector<Method>& Methods() {
  // Roles: viewers read; deployers drive releases; operators write everything else but
  // tokens; intake is for INGEST tokens (and operators). An integration's routing key is a
  // credential: only operators read integrations.
  static const std::vector<Method> methods = {
      // Releases
      {"flightdeck.v1.ReleaseService.CreateRelease", v1::Token::DEPLOYER, Service::kReleases, "POST", "/v1/releases"},
      {"flightdeck.v1.ReleaseService.ListReleases", v1::Token::VIEWER, Service::kReleases, "GET", "/v1/releases"},
      {"flightdeck.v1.ReleaseService.GetRelease", v1::Token::VIEWER, Service::kReleases, "GET", "/v1/releases/{id}"},
      {"flightdeck.v1.ReleaseService.ListReleaseEvents", v1::Token::VIEWER, Service::kReleases, "GET", "/v1/releases/{id}/events"},
      {"flightdeck.v1.ReleaseService.ApproveRelease", v1::Token::DEPLOYER, Service::kReleases, "POST", "/v1/releases/{id}/approve"},
      {"flightdeck.v1.ReleaseService.PromoteRelease", v1::Token::DEPLOYER, Service::kReleases, "POST", "/v1/releases/{id}/promote"},
      {"flightdeck.v1.ReleaseService.AbortRelease", v1::Token::DEPLOYER, Service::kReleases, "POST", "/v1/releases/{id}/abort"},
      {"flightdeck.v1.ReleaseService.RollbackRelease", v1::Token::DEPLOYER, Service::kReleases, "POST", "/v1/releases/{id}/rollback"},
      {"flightdeck.v1.ReleaseService.PostObservations", v1::Token::DEPLOYER, Service::kReleases, "POST", "/v1/releases/{id}/observations"},
      {"flightdeck.v1.ReleaseService.PostVerification", v1::Token::DEPLOYER, Service::kReleases, "POST", "/v1/releases/{id}/verification"},
      {"flightdeck.v1.ReleaseService.GetServiceEnvironment", v1::Token::VIEWER, Service::kReleases, "GET", "/v1/services/{service}/environments/{environment}"},
      {"flightdeck.v1.ReleaseService.RollbackServiceEnvironment", v1::Token::DEPLOYER, Service::kReleases, "POST", "/v1/services/{service}/environments/{environment}/rollback"},
      {"flightdeck.v1.ReleaseService.ListServiceEnvironments", v1::Token::VIEWER, Service::kReleases, "GET", "/v1/services"},
      {"flightdeck.v1.ReleaseService.WatchRelease", v1::Token::VIEWER, Service::kReleases},
      // A note on a release's timeline from another service (deploy correlation): no REST route.
      {"flightdeck.v1.ReleaseService.AnnotateRelease", v1::Token::OPERATOR, Service::kReleases},
      // Maintenance windows and freezes ("/v1/windows/next" before "/v1/windows/{name}": the
      // first route that matches wins, and "next" is not a valid window name).
      {"flightdeck.v1.ReleaseService.CreateWindow", v1::Token::OPERATOR, Service::kReleases, "POST", "/v1/windows"},
      {"flightdeck.v1.ReleaseService.ListWindows", v1::Token::VIEWER, Service::kReleases, "GET", "/v1/windows"},
      {"flightdeck.v1.ReleaseService.GetNextWindow", v1::Token::VIEWER, Service::kReleases, "GET", "/v1/windows/next"},
      {"flightdeck.v1.ReleaseService.GetWindow", v1::Token::VIEWER, Service::kReleases, "GET", "/v1/windows/{name}"},
      {"flightdeck.v1.ReleaseService.DeleteWindow", v1::Token::OPERATOR, Service::kReleases, "DELETE", "/v1/windows/{name}"},
      {"flightdeck.v1.ReleaseService.GetWindowChecklist", v1::Token::VIEWER, Service::kReleases, "GET", "/v1/windows/{name}/checklist"},
      {"flightdeck.v1.ReleaseService.TickChecklistItem", v1::Token::OPERATOR, Service::kReleases, "POST", "/v1/windows/{name}/checklist/{item}/tick"},
      // Backups
      {"flightdeck.v1.BackupService.CreateBackupTarget", v1::Token::OPERATOR, Service::kBackups, "POST", "/v1/backup-targets"},
      {"flightdeck.v1.BackupService.ListBackupTargets", v1::Token::VIEWER, Service::kBackups, "GET", "/v1/backup-targets"},
      {"flightdeck.v1.BackupService.GetBackupTarget", v1::Token::VIEWER, Service::kBackups, "GET", "/v1/backup-targets/{name}"},
      {"flightdeck.v1.BackupService.UpdateBackupTarget", v1::Token::OPERATOR, Service::kBackups, "PATCH", "/v1/backup-targets/{name}"},
      {"flightdeck.v1.BackupService.DeleteBackupTarget", v1::Token::OPERATOR, Service::kBackups, "DELETE", "/v1/backup-targets/{name}"},
      {"flightdeck.v1.BackupService.CreateBackup", v1::Token::OPERATOR, Service::kBackups, "POST", "/v1/backups"},
      {"flightdeck.v1.BackupService.ListBackups", v1::Token::VIEWER, Service::kBackups, "GET", "/v1/backups"},
      {"flightdeck.v1.BackupService.GetBackup", v1::Token::VIEWER, Service::kBackups, "GET", "/v1/backups/{id}"},
      {"flightdeck.v1.BackupService.VerifyBackup", v1::Token::OPERATOR, Service::kBackups, "POST", "/v1/backups/{id}/verify"},
      {"flightdeck.v1.BackupService.RestoreBackup", v1::Token::OPERATOR, Service::kBackups, "POST", "/v1/backups/{id}/restore"},
      // Health
      {"flightdeck.v1.HealthService.CreateTarget", v1::Token::OPERATOR, Service::kHealth, "POST", "/v1/health/targets"},
      {"flightdeck.v1.HealthService.ListTargets", v1::Token::VIEWER, Service::kHealth, "GET", "/v1/health/targets"},
      {"flightdeck.v1.HealthService.GetTarget", v1::Token::VIEWER, Service::kHealth, "GET", "/v1/health/targets/{name}"},
      {"flightdeck.v1.HealthService.DeleteTarget", v1::Token::OPERATOR, Service::kHealth, "DELETE", "/v1/health/targets/{name}"},
      {"flightdeck.v1.HealthService.GetTargetStats", v1::Token::VIEWER, Service::kHealth, "GET", "/v1/health/targets/{name}/stats"},
      {"flightdeck.v1.HealthService.GetServiceHealth", v1::Token::VIEWER, Service::kHealth, "GET", "/v1/health/services/{service}"},
      {"flightdeck.v1.HealthService.ListHealthEvents", v1::Token::VIEWER, Service::kHealth, "GET", "/v1/health/events"},
      {"flightdeck.v1.SmokeService.CreateSmokeRun", v1::Token::OPERATOR, Service::kHealth, "POST", "/v1/health/smoke-runs"},
      {"flightdeck.v1.SmokeService.GetSmokeRun", v1::Token::VIEWER, Service::kHealth, "GET", "/v1/health/smoke-runs/{id}"},
      {"flightdeck.v1.SmokeService.ListSmokeRuns", v1::Token::VIEWER, Service::kHealth, "GET", "/v1/health/smoke-runs"},
      {"flightdeck.v1.SmokeService.PutSmokeSuite", v1::Token::OPERATOR, Service::kHealth, "POST", "/v1/health/smoke-suites"},
      {"flightdeck.v1.SmokeService.ListSmokeSuites", v1::Token::VIEWER, Service::kHealth, "GET", "/v1/health/smoke-suites"},
      {"flightdeck.v1.SmokeService.GetSmokeSuite", v1::Token::VIEWER, Service::kHealth, "GET", "/v1/health/smoke-suites/{name}"},
      {"flightdeck.v1.SmokeService.DeleteSmokeSuite", v1::Token::OPERATOR, Service::kHealth, "DELETE", "/v1/health/smoke-suites/{name}"},
      {"flightdeck.v1.HealthService.WatchHealth", v1::Token::VIEWER, Service::kHealth},
      // Incidents
      {"flightdeck.v1.IncidentService.PostAlertmanager", v1::Token::INGEST, Service::kIncidents, "POST", "/v1/alerts/alertmanager"},
      {"flightdeck.v1.IncidentService.PostAlerts", v1::Token::INGEST, Service::kIncidents, "POST", "/v1/alerts"},
      {"flightdeck.v1.IncidentService.PostPagerDutyEvent", v1::Token::INGEST, Service::kIncidents},
      {"flightdeck.v1.IncidentService.ListAlerts", v1::Token::VIEWER, Service::kIncidents, "GET", "/v1/alerts"},
      {"flightdeck.v1.IncidentService.DeclareIncident", v1::Token::OPERATOR, Service::kIncidents, "POST", "/v1/incidents"},
      {"flightdeck.v1.IncidentService.ListIncidents", v1::Token::VIEWER, Service::kIncidents, "GET", "/v1/incidents"},
      {"flightdeck.v1.IncidentService.GetIncident", v1::Token::VIEWER, Service::kIncidents, "GET", "/v1/incidents/{id}"},
      {"flightdeck.v1.IncidentService.ListIncidentAlerts", v1::Token::VIEWER, Service::kIncidents, "GET", "/v1/incidents/{id}/alerts"},
      {"flightdeck.v1.IncidentService.ListIncidentEvents", v1::Token::VIEWER, Service::kIncidents, "GET", "/v1/incidents/{id}/events"},
      {"flightdeck.v1.IncidentService.AcknowledgeIncident", v1::Token::OPERATOR, Service::kIncidents, "POST", "/v1/incidents/{id}/acknowledge"},
      {"flightdeck.v1.IncidentService.ResolveIncident", v1::Token::OPERATOR, Service::kIncidents, "POST", "/v1/incidents/{id}/resolve"},
      {"flightdeck.v1.IncidentService.EscalateIncident", v1::Token::OPERATOR, Service::kIncidents, "POST", "/v1/incidents/{id}/escalate"},
      {"flightdeck.v1.IncidentService.PostStatusUpdate", v1::Token::OPERATOR, Service::kIncidents, "POST", "/v1/incidents/{id}/updates"},
      {"flightdeck.v1.IncidentService.SubmitReview", v1::Token::OPERATOR, Service::kIncidents, "POST", "/v1/incidents/{id}/review"},
      {"flightdeck.v1.IncidentService.AddAction", v1::Token::OPERATOR, Service::kIncidents, "POST", "/v1/incidents/{id}/actions"},
      {"flightdeck.v1.IncidentService.ListActions", v1::Token::VIEWER, Service::kIncidents, "GET", "/v1/actions"},
      {"flightdeck.v1.IncidentService.CompleteAction", v1::Token::OPERATOR, Service::kIncidents, "POST", "/v1/actions/{id}/complete"},
      {"flightdeck.v1.IncidentService.GetWeeklyReport", v1::Token::VIEWER, Service::kIncidents, "GET", "/v1/reports/weekly"},
      {"flightdeck.v1.IncidentService.CreateIntegration", v1::Token::OPERATOR, Service::kIncidents, "POST", "/v1/integrations"},
      {"flightdeck.v1.IncidentService.ListIntegrations", v1::Token::OPERATOR, Service::kIncidents, "GET", "/v1/integrations"},
      {"flightdeck.v1.IncidentService.GetIntegration", v1::Token::OPERATOR, Service::kIncidents, "GET", "/v1/integrations/{name}"},
      {"flightdeck.v1.IncidentService.DeleteIntegration", v1::Token::OPERATOR, Service::kIncidents, "DELETE", "/v1/integrations/{name}"},
      {"flightdeck.v1.IncidentService.PutEscalationPolicy", v1::Token::OPERATOR, Service::kIncidents, "POST", "/v1/escalation-policies"},
      {"flightdeck.v1.IncidentService.ListEscalationPolicies", v1::Token::VIEWER, Service::kIncidents, "GET", "/v1/escalation-policies"},
      {"flightdeck.v1.IncidentService.GetEscalationPolicy", v1::Token::VIEWER, Service::kIncidents, "GET", "/v1/escalation-policies/{name}"},
      {"flightdeck.v1.IncidentService.DeleteEscalationPolicy", v1::Token::OPERATOR, Service::kIncidents, "DELETE", "/v1/escalation-policies/{name}"},
      {"flightdeck.v1.IncidentService.CreateSilence", v1::Token::OPERATOR, Service::kIncidents, "POST", "/v1/silences"},
      {"flightdeck.v1.IncidentService.ListSilences", v1::Token::VIEWER, Service::kIncidents, "GET", "/v1/silences"},
      {"flightdeck.v1.IncidentService.ExpireSilence", v1::Token::OPERATOR, Service::kIncidents, "POST", "/v1/silences/{id}/expire"},
      {"flightdeck.v1.IncidentService.CreateInhibitionRule", v1::Token::OPERATOR, Service::kIncidents, "POST", "/v1/inhibition-rules"},
      {"flightdeck.v1.IncidentService.ListInhibitionRules", v1::Token::VIEWER, Service::kIncidents, "GET", "/v1/inhibition-rules"},
      {"flightdeck.v1.IncidentService.DeleteInhibitionRule", v1::Token::OPERATOR, Service::kIncidents, "DELETE", "/v1/inhibition-rules/{id}"},
      {"flightdeck.v1.IncidentService.GetIncidentSettings", v1::Token::VIEWER, Service::kIncidents, "GET", "/v1/incident-settings"},
      {"flightdeck.v1.IncidentService.PutIncidentSettings", v1::Token::OPERATOR, Service::kIncidents, "PUT", "/v1/incident-settings"},
      {"flightdeck.v1.IncidentService.WatchIncidents", v1::Token::VIEWER, Service::kIncidents},
      {"flightdeck.v1.IncidentService.CloseIncident", v1::Token::OPERATOR, Service::kIncidents, "POST", "/v1/incidents/{id}/close"},
      // Gateway
      {"flightdeck.v1.GatewayService.CreateToken", v1::Token::ADMIN, Service::kGateway, "POST", "/v1/tokens"},
      {"flightdeck.v1.GatewayService.ListTokens", v1::Token::ADMIN, Service::kGateway, "GET", "/v1/tokens"},
      {"flightdeck.v1.GatewayService.RevokeToken", v1::Token::ADMIN, Service::kGateway, "DELETE", "/v1/tokens/{name}"},
      {"flightdeck.v1.GatewayService.ListAudit", v1::Token::ADMIN, Service::kGateway, "GET", "/v1/audit"},
      {"flightdeck.v1.GatewayService.GetPrincipal", v1::Token::ROLE_UNSPECIFIED, Service::kGateway, "GET", "/v1/whoami"},
      {"flightdeck.v1.GatewayService.GetOverview", v1::Token::VIEWER, Service::kGateway, "GET", "/v1/overview"},
      {"flightdeck.v1.GatewayService.CreateChatIdentity", v1::Token::ADMIN, Service::kGateway, "POST", "/v1/chatops/identities"},
      {"flightdeck.v1.GatewayService.ListChatIdentities", v1::Token::ADMIN, Service::kGateway, "GET", "/v1/chatops/identities"},
      {"flightdeck.v1.GatewayService.DeleteChatIdentity", v1::Token::ADMIN, Service::kGateway, "DELETE", "/v1/chatops/identities"},
  };
  return methods;
}

const Method* FindMethod(std::string_view name) {
  static const std::unordered_map<std::string, const Method*> index = [] {
    std::unordered_map<std::string, const Method*> m;
    for (const Method& method : Methods()) m.emplace(method.rpc, &method);
    return m;
  }();
  std::string key(name);
  // "/flightdeck.v1.ReleaseService/GetRelease" -> "flightdeck.v1.ReleaseService.GetRelease"
  if (!key.empty() && key.front() == '/') {
    key.erase(0, 1);
    size_t slash = key.find('/');
    if (slash == std::string::npos || key.find('/', slash + 1) != std::string::npos) return nullptr;
    key[slash] = '.';
  }
  auto it = index.find(key);
  return it == index.end() ? nullptr : it->second;
}

bool IsRead(const Method& method) {
  std::string_view rpc(method.rpc);
  std::string_view name = rpc.substr(rpc.rfind('.') + 1);
  for (std::string_view prefix : {"Get", "List", "Watch"}) {
    if (name.substr(0, prefix.size()) == prefix) return true;
  }
  return false;
}

bool RoleAllows(Role have, Role need) {
  if (have == v1::Token::ROLE_UNSPECIFIED) return false;
  if (need == v1::Token::ROLE_UNSPECIFIED) return true;
  if (have == v1::Token::INGEST) return need == v1::Token::INGEST;
  if (need == v1::Token::INGEST) return static_cast<int>(have) >= static_cast<int>(v1::Token::OPERATOR);
  return static_cast<int>(have) >= static_cast<int>(need);
}

std::string RoleName(Role role) {
  return role == v1::Token::ROLE_UNSPECIFIED ? "any role" : v1::Token::Role_Name(role);
}

}  // namespace flightdeck::api
