#pragma once

#include "services/gateway/core/local_methods.h"
#include "services/gateway/core/overview.h"

namespace flightdeck::gateway {

class AuditLog;
class TokenStore;

// GatewayService: API tokens, the audit log, who-am-I and the overview, served by the
// gateway itself behind the same core as every other method.
class GatewayMethods final : public LocalMethods {
 public:
  GatewayMethods(TokenStore& tokens, AuditLog& audit, const OverviewBuilder& overview)
      : tokens_(tokens), audit_(audit), overview_(overview) {}
  grpc::Status Call(const api::Method& method, const Principal& caller,
                    const google::protobuf::Message& request,
                    google::protobuf::Message* response) override;

 private:
  TokenStore& tokens_;
  AuditLog& audit_;
  const OverviewBuilder& overview_;
};

}  // namespace flightdeck::gateway
