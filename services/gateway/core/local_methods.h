#pragma once

#include <google/protobuf/message.h>
#include <grpcpp/support/status.h>

#include "common/api/methods.h"
#include "services/gateway/core/auth.h"

namespace flightdeck::gateway {

// The methods the gateway serves itself (GatewayService: tokens, audit, who am I, overview).
// The core calls them on a worker thread, after authentication, authorisation and
// idempotency, exactly as it calls an upstream service.
class LocalMethods {
 public:
  virtual ~LocalMethods() = default;
  virtual grpc::Status Call(const api::Method& method, const Principal& caller,
                            const google::protobuf::Message& request,
                            google::protobuf::Message* response) = 0;
};

}  // namespace flightdeck::gateway
