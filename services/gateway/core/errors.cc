#include "services/gateway/core/errors.h"

#include <google/protobuf/util/json_util.h>

#include "common/grpc/status_name.h"
#include "flightdeck/v1/gateway.pb.h"

namespace flightdeck::gateway {

int HttpStatusFor(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return 200;
    case grpc::StatusCode::CANCELLED: return 499;
    case grpc::StatusCode::UNKNOWN: return 500;
    case grpc::StatusCode::INVALID_ARGUMENT: return 400;
    case grpc::StatusCode::DEADLINE_EXCEEDED: return 504;
    case grpc::StatusCode::NOT_FOUND: return 404;
    case grpc::StatusCode::ALREADY_EXISTS: return 409;
    case grpc::StatusCode::PERMISSION_DENIED: return 403;
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return 429;
    case grpc::StatusCode::FAILED_PRECONDITION: return 409;
    case grpc::StatusCode::ABORTED: return 409;
    case grpc::StatusCode::OUT_OF_RANGE: return 400;
    case grpc::StatusCode::UNIMPLEMENTED: return 501;
    case grpc::StatusCode::INTERNAL: return 500;
    case grpc::StatusCode::UNAVAILABLE: return 503;
    case grpc::StatusCode::DATA_LOSS: return 500;
    case grpc::StatusCode::UNAUTHENTICATED: return 401;
    default: return 500;
  }
}

std::string CodeName(grpc::StatusCode code) { return rpc::StatusCodeName(code); }

std::string ErrorJson(grpc::StatusCode code, const std::string& message,
                      const std::vector<std::string>& details) {
  v1::ErrorBody body;
  body.mutable_error()->set_code(CodeName(code));
  body.mutable_error()->set_message(message);
  for (const std::string& d : details) body.mutable_error()->add_details(d);
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(body, &out, options);
  return out;
}

}  // namespace flightdeck::gateway
