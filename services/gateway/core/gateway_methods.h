#pragma once

#include "services/gateway/core/local_methods.h"
#include "services/gateway/core/overview.h"

namespace flightdeck::gateway {

class AuditLog;
class TokenStore;
namespace chatops {
class ChatStore;
}

// GatewayService: API tokens, the audit log, who-am-I, the overview and the chat identities,
// served by the gateway itself behind the same core as every other method. Without an identity
// store the chat identity methods are UNIMPLEMENTED.
class GatewayMethods final : public LocalMethods {
 public:
  GatewayMethods(TokenStore& tokens, AuditLog& audit, const OverviewBuilder& overview,
                 chatops::ChatStore* identities = nullptr)
      : tokens_(tokens), audit_(audit), overview_(overview), identities_(identities) {}
  grpc::Status Call(const api::Method& method, const Principal& caller,
                    const google::protobuf::Message& request,
                    google::protobuf::Message* response) override;

 private:
  TokenStore& tokens_;
  AuditLog& audit_;
  const OverviewBuilder& overview_;
  chatops::ChatStore* identities_;
};

}  // namespace flightdeck::gateway
