#include "common/api/peers.h"

#include "common/grpc/metadata.h"

namespace flightdeck::api {

const std::vector<PeerGrant>& PeerGrants() {
  // Exactly the calls in the code: a new client call needs a line here, and the RBAC test of
  // the gRPC ports fails until it has one.
  static const std::vector<PeerGrant> grants = {
      // releases: a pre-deploy backup, the health metric source, the verification smoke run,
      // and its own alerts.
      {"releases", "flightdeck.v1.BackupService.CreateBackup"},
      {"releases", "flightdeck.v1.BackupService.GetBackup"},
      // releases: a maintenance window's checklist asks when a target's backup last verified.
      {"releases", "flightdeck.v1.BackupService.ListBackups"},
      {"releases", "flightdeck.v1.HealthService.GetTargetStats"},
      {"releases", "flightdeck.v1.SmokeService.CreateSmokeRun"},
      {"releases", "flightdeck.v1.SmokeService.GetSmokeRun"},
      {"releases", "flightdeck.v1.IncidentService.PostAlerts"},
      // incidents: deploy correlation (find the release, note it, abort or roll it back).
      {"incidents", "flightdeck.v1.ReleaseService.ListReleases"},
      {"incidents", "flightdeck.v1.ReleaseService.GetServiceEnvironment"},
      {"incidents", "flightdeck.v1.ReleaseService.AnnotateRelease"},
      {"incidents", "flightdeck.v1.ReleaseService.AbortRelease"},
      {"incidents", "flightdeck.v1.ReleaseService.RollbackRelease"},
      // backups and health raise alerts (a failed backup, a missed RPO, a service down).
      {"backups", "flightdeck.v1.IncidentService.PostAlerts"},
      {"health", "flightdeck.v1.IncidentService.PostAlerts"},
  };
  return grants;
}

bool PeerAllows(std::string_view identity, const Method& method, Role role) {
  if (method.service == Service::kGateway) return false;  // served by the gateway itself
  if (identity == "gateway") return RoleAllows(role, method.role);
  for (const PeerGrant& grant : PeerGrants()) {
    if (identity == grant.identity && std::string_view(method.rpc) == grant.rpc) return true;
  }
  return false;
}

grpc::Status AuthorizeCall(std::string_view identity, std::string_view path, std::optional<std::string_view> role) {
  auto refuse = [&](const std::string& why) {
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "not authorized: " + why);
  };
  const std::string who = identity.empty() ? std::string("a caller without an identity") : std::string(identity);
  if (role && identity != "gateway") {
    return refuse(who + " may not pass a user's role (" + rpc::kRoleKey + "): only the gateway speaks for users");
  }
  if (path.rfind("/grpc.health.v1.Health/", 0) == 0 || path.rfind("/grpc.reflection.v1alpha.ServerReflection/", 0) == 0) {
    return grpc::Status::OK;
  }
  const Method* method = FindMethod(path);
  if (method == nullptr) return refuse(std::string(path) + " is not in Flightdeck's method table");
  Role user_role = v1::Token::ROLE_UNSPECIFIED;
  if (role && !v1::Token::Role_Parse(std::string(*role), &user_role)) user_role = v1::Token::ROLE_UNSPECIFIED;
  if (PeerAllows(identity, *method, user_role)) return grpc::Status::OK;
  if (identity == "gateway") {
    return refuse(std::string(path) + " needs the role " + RoleName(method->role) + ", the call carries " +
                  (role ? "\"" + std::string(*role) + "\"" : std::string("none")));
  }
  return refuse(who + " may not call " + std::string(path) + " (common/api/peers.cc lists what each process may call)");
}

}  // namespace flightdeck::api
