#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <grpcpp/support/status.h>
#include <vector>

#include "common/api/methods.h"

namespace flightdeck::api {

// The process identities of a Flightdeck deployment: each has its own certificate
// (scripts/certs), and a server knows its caller by it.
inline constexpr const char* kIdentities[] = {"gateway", "releases", "backups", "health", "incidents"};

// One service-to-service call the code makes: `identity` may call `rpc` on its own authority,
// without an end user's role. The gateway is not listed: it may call every RPC of the method
// table, each with the role of the user it acts for.
struct PeerGrant {
  const char* identity;  // "releases"
  const char* rpc;       // "flightdeck.v1.BackupService.CreateBackup"
};
const std::vector<PeerGrant>& PeerGrants();

// May `identity` call `method` (from the method table), for a user of `role` when it is the
// gateway? AuthorizeCall decides by it; the test of the gRPC ports checks the servers against it.
bool PeerAllows(std::string_view identity, const Method& method, Role role);

// What every service's gRPC server decides for each call before a handler sees it, from the
// caller's certificate identity, the gRPC path ("/flightdeck.v1.ReleaseService/GetRelease") and
// the user role the call carries (x-flightdeck-role; nullopt when absent). The gateway's calls
// must carry a role that reaches the method's least role; other identities may make their
// granted calls and must not carry a role; health checks and reflection are open to every
// identity. OK, or PERMISSION_DENIED whose message starts with "not authorized: " and says why.
grpc::Status AuthorizeCall(std::string_view identity, std::string_view path, std::optional<std::string_view> role);

}  // namespace flightdeck::api
