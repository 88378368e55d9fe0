#pragma once

#include <string>
#include <vector>

#include <grpcpp/support/status.h>

namespace flightdeck::gateway {

// The HTTP status for a gRPC code, as grpc-gateway maps it (DESIGN.md §4).
// FAILED_PRECONDITION is 400 there; we answer 409 for it because every FAILED_PRECONDITION
// Flightdeck returns means "the resource is in the wrong state", which is a conflict.
int HttpStatusFor(grpc::StatusCode code);
// "INVALID_ARGUMENT" etc.
std::string CodeName(grpc::StatusCode code);

// {"error":{"code":"NOT_FOUND","message":"...","details":[...]}}
std::string ErrorJson(grpc::StatusCode code, const std::string& message,
                      const std::vector<std::string>& details = {});


}  // namespace flightdeck::gateway
