#pragma once

#include <string>

#include <grpcpp/server_context.h>

namespace flightdeck::rpc {

// Metadata the gateway attaches to every call after authenticating the caller. Services sit
// behind the gateway on a private network and trust these (DESIGN.md §1).
inline constexpr char kActorKey[] = "x-flightdeck-actor";  // token name
inline constexpr char kRoleKey[] = "x-flightdeck-role";    // VIEWER|DEPLOYER|OPERATOR|ADMIN
inline constexpr char kRequestIdKey[] = "x-request-id";

// The value of one metadata key sent by the client, or `fallback`.
inline std::string ClientMetadata(const grpc::ServerContext& context, const char* key,
                                  const std::string& fallback = {}) {
  auto it = context.client_metadata().find(key);
  if (it == context.client_metadata().end()) return fallback;
  return std::string(it->second.data(), it->second.size());
}

}  // namespace flightdeck::rpc
