#pragma once

#include <string>

#include <grpcpp/server_context.h>

namespace flightdeck::rpc {

// Metadata the gateway attaches to every call after authenticating the user. A service takes
// them only from the gateway's identity (the authorization policy refuses them from any other
// process, and Caller* below ignores them); on a plaintext port (FLIGHTDECK_GRPC_INSECURE)
// there is no identity and they are trusted as sent.
inline constexpr char kActorKey[] = "x-flightdeck-actor";  // token name
inline constexpr char kRoleKey[] = "x-flightdeck-role";    // VIEWER|DEPLOYER|OPERATOR|ADMIN|INGEST
inline constexpr char kRequestIdKey[] = "x-request-id";

// The value of one metadata key sent by the client, or `fallback`.
inline std::string ClientMetadata(const grpc::ServerContext& context, const char* key,
                                  const std::string& fallback = {}) {
  auto it = context.client_metadata().find(key);
  if (it == context.client_metadata().end()) return fallback;
  return std::string(it->second.data(), it->second.size());
}

// The process identity of the caller ("gateway", "releases", ...): the common name of its
// verified client certificate; "" on a plaintext port.
std::string PeerIdentity(const grpc::ServerContext& context);

// Who a call acts for: the user the gateway names; a service calling on its own account is
// itself ("incidents"), with what it says it acts for in parentheses ("releases (release
// 3f2a...)"). `fallback` when there is no context or nobody is named.
std::string CallerActor(const grpc::ServerContext* context, const std::string& fallback = "anonymous");
// The end user's role as the gateway passed it ("ADMIN"); "" for a service's own calls.
std::string CallerRole(const grpc::ServerContext* context);

}  // namespace flightdeck::rpc
