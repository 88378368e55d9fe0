#include "services/gateway/core/gateway_methods.h"

#include "services/gateway/core/audit.h"
#include "services/gateway/core/auth.h"
#include "services/gateway/chatops/chat_store.h"

namespace flightdeck::gateway {

grpc::Status GatewayMethods::Call(const api::Method& method, const Principal& caller,
                                  const google::protobuf::Message& request,
                                  google::protobuf::Message* response) {
  const std::string_view rpc(method.rpc);
  const std::string_view name = rpc.substr(rpc.rfind('.') + 1);
  if (name == "CreateToken") {
    return tokens_.Create(static_cast<const v1::CreateTokenRequest&>(request), caller.name,
                          static_cast<v1::Token*>(response));
  }
  if (name == "ListTokens") {
    std::vector<v1::Token> tokens;
    if (grpc::Status s = tokens_.List(&tokens); !s.ok()) return s;
    auto* out = static_cast<v1::ListTokensResponse*>(response);
    for (v1::Token& t : tokens) *out->add_tokens() = std::move(t);
    return grpc::Status::OK;
  }
  if (name == "RevokeToken") {
    return tokens_.Revoke(static_cast<const v1::RevokeTokenRequest&>(request).name());
  }
  if (name == "ListAudit") {
    return audit_.List(static_cast<const v1::ListAuditRequest&>(request),
                       static_cast<v1::ListAuditResponse*>(response));
  }
  if (name == "GetPrincipal") {
    auto* out = static_cast<v1::Principal*>(response);
    out->set_name(caller.name);
    out->set_role(caller.role);
    return grpc::Status::OK;
  }
  if (name == "GetOverview") {
    *static_cast<v1::Overview*>(response) = overview_.Build(caller.name, "");
    return grpc::Status::OK;
  }
  if (name.find("ChatIdentit") != std::string_view::npos && identities_ == nullptr) {
    return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "chat-ops is not enabled on this gateway");
  }
  if (name == "CreateChatIdentity") {
    return identities_->Create(static_cast<const v1::ChatIdentity&>(request), caller.name,
                               static_cast<v1::ChatIdentity*>(response));
  }
  if (name == "ListChatIdentities") {
    std::vector<v1::ChatIdentity> identities;
    const auto& list = static_cast<const v1::ListChatIdentitiesRequest&>(request);
    if (grpc::Status s = identities_->List(list.platform(), &identities); !s.ok()) return s;
    auto* out = static_cast<v1::ListChatIdentitiesResponse*>(response);
    for (v1::ChatIdentity& i : identities) *out->add_identities() = std::move(i);
    return grpc::Status::OK;
  }
  if (name == "DeleteChatIdentity") {
    return identities_->Delete(static_cast<const v1::DeleteChatIdentityRequest&>(request));
  }
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, std::string(method.rpc) + " is not served here");
}

}  // namespace flightdeck::gateway
