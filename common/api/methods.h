#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "flightdeck/v1/gateway.pb.h"

namespace flightdeck::api {

using Role = v1::Token::Role;

// Who serves a method: one of the four services, or the gateway itself (tokens, audit, the
// overview).
enum class Service { kReleases, kBackups, kHealth, kIncidents, kGateway };
inline constexpr Service kUpstreamServices[] = {Service::kReleases, Service::kBackups,
                                                Service::kHealth, Service::kIncidents};
const char* ServiceName(Service service);  // "releases"

// One RPC of Flightdeck's API: the one table that every front (REST, gRPC-web, chat) and every
// role check reads, so that they cannot drift. An RPC missing from it is refused, never open.
struct Method {
  const char* rpc;  // fully qualified: "flightdeck.v1.ReleaseService.GetRelease"
  // Least role allowed. ROLE_UNSPECIFIED: any valid token, whatever its role.
  Role role;
  Service service;
  // Its REST projection, when it has one: "POST", "/v1/releases/{id}/approve".
  const char* http_method = nullptr;
  const char* http_path = nullptr;
};

const std::vector<Method>& Methods();
// By "flightdeck.v1.ReleaseService.GetRelease" or the gRPC path
// "/flightdeck.v1.ReleaseService/GetRelease"; nullptr when the table does not have it.
const Method* FindMethod(std::string_view name);

// Reads are named Get*, List* or Watch* (the API's naming convention, checked by a test):
// they are neither audited nor subject to Idempotency-Key.
bool IsRead(const Method& method);

// VIEWER < DEPLOYER < OPERATOR < ADMIN are ordered: each may do what the ones below it may.
// INGEST stands outside the ladder: an ingest token may only call methods that need INGEST,
// and those are open to operators and admins too.
bool RoleAllows(Role have, Role need);
std::string RoleName(Role role);  // "VIEWER"

}  // namespace flightdeck::api
