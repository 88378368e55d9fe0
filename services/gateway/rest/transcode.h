#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include <google/protobuf/message.h>
#include <grpcpp/support/status.h>

namespace flightdeck::gateway {

// Fills a request message from the parts of a REST call, the way grpc-gateway does: the JSON
// body (canonical proto3 JSON; snake_case or lowerCamel names; unknown fields refused), then
// path parameters, then query parameters (each must name a scalar or enum field of the message).
// Errors are INVALID_ARGUMENT naming the field or parameter.
grpc::Status BuildRequest(const std::string& body,
                          const std::map<std::string, std::string>& path_params,
                          const std::vector<std::pair<std::string, std::string>>& query,
                          google::protobuf::Message* out);

struct BuildOptions {
  // Accept and drop JSON fields the message does not have (intake from other tools).
  bool ignore_unknown_fields = false;
};
grpc::Status BuildRequest(const std::string& body,
                          const std::map<std::string, std::string>& path_params,
                          const std::vector<std::pair<std::string, std::string>>& query,
                          const BuildOptions& options, google::protobuf::Message* out);

// Canonical proto3 JSON with the proto field names (snake_case), enums as names, and every
// field present, so clients see a stable shape.
std::string ToJson(const google::protobuf::Message& message);

}  // namespace flightdeck::gateway
