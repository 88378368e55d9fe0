#include "common/grpc/metadata.h"

#include <grpcpp/security/auth_context.h>

namespace flightdeck::rpc {

std::string PeerIdentity(const grpc::ServerContext& context) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (!auth || !auth->IsPeerAuthenticated()) return {};
  std::vector<grpc::string_ref> names = auth->FindPropertyValues("x509_common_name");
  if (names.empty()) return {};
  return std::string(names.front().data(), names.front().size());
}

std::string CallerActor(const grpc::ServerContext* context, const std::string& fallback) {
  if (context == nullptr) return fallback;
  std::string peer = PeerIdentity(*context);
  std::string said = ClientMetadata(*context, kActorKey);
  if (peer.empty() || peer == "gateway") return said.empty() ? fallback : said;
  return said.empty() || said == peer ? peer : peer + " (" + said + ")";
}

std::string CallerRole(const grpc::ServerContext* context) {
  if (context == nullptr) return {};
  std::string peer = PeerIdentity(*context);
  if (!peer.empty() && peer != "gateway") return {};
  return ClientMetadata(*context, kRoleKey);
}

}  // namespace flightdeck::rpc
