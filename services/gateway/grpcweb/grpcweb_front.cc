#include "services/gateway/grpcweb/grpcweb_front.h"

#include <algorithm>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>

#include "services/gateway/core/call.h"
#include "services/gateway/core/errors.h"
#include "services/gateway/core/rate_limiter.h"
#include "services/gateway/grpcweb/framing.h"
#include "services/gateway/http_call.h"

namespace flightdeck::gateway {

using grpcweb::Base64Decode;
using grpcweb::Base64Encode;
using grpcweb::EncodeFrame;
using grpcweb::kCompressedFlag;
using grpcweb::kDataFrame;
using grpcweb::kTrailerFrame;
using grpcweb::PercentEncodeMessage;
using grpcweb::TrailerBlock;

namespace {

using google::protobuf::Message;

// What a gRPC-web client sends besides the standard headers (connect-web, grpc-web, Envoy).
constexpr char kAllowedHeaders[] =
    "authorization, content-type, x-grpc-web, x-user-agent, grpc-timeout, idempotency-key, "
    "traceparent, tracestate, x-request-id";
constexpr char kExposedHeaders[] =
    "grpc-status, grpc-message, x-request-id, idempotent-replayed, retry-after, ratelimit-limit, "
    "ratelimit-remaining, ratelimit-reset";

struct ContentType {
  bool text = false;  // base64 bodies
  std::string value;  // what the answer says
};

std::optional<ContentType> ParseContentType(std::string_view header) {
  std::string v(header.substr(0, header.find(';')));
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
  while (!v.empty() && v.back() == ' ') v.pop_back();
  if (v == "application/grpc-web" || v == "application/grpc-web+proto") {
    return ContentType{false, "application/grpc-web+proto"};
  }
  if (v == "application/grpc-web-text" || v == "application/grpc-web-text+proto") {
    return ContentType{true, "application/grpc-web-text+proto"};
  }
  return std::nullopt;
}

class GrpcWebResponder final : public Responder {
 public:
  GrpcWebResponder(std::shared_ptr<HttpCall> call, ContentType type, Headers cors)
      : call_(std::move(call)), type_(std::move(type)), cors_(std::move(cors)) {}

  void Reply(const Message& response, bool replayed) override {
    Headers headers = cors_;
    if (replayed) headers.emplace_back("Idempotent-Replayed", "true");
    std::string body = Encode(EncodeFrame(kDataFrame, response.SerializeAsString())) +
                       Encode(EncodeFrame(kTrailerFrame, TrailerBlock(0, "")));
    call_->Send(200, std::move(body), std::move(headers), type_.value);
  }
  void StreamOpened() override { call_->BeginStream(200, cors_, type_.value); }
  void StreamMessage(const Message& message) override {
    call_->Write(Encode(EncodeFrame(kDataFrame, message.SerializeAsString())));
  }
  void Finish(const grpc::Status& status) override {
    const int code = static_cast<int>(status.error_code());
    if (call_->streaming()) {
      call_->Write(Encode(EncodeFrame(kTrailerFrame, TrailerBlock(code, status.error_message()))));
      return call_->End();
    }
    if (status.ok()) {  // a stream that ended before its first message
      return call_->Send(200, Encode(EncodeFrame(kTrailerFrame, TrailerBlock(0, ""))), cors_, type_.value);
    }
    // Trailers-only: the status travels in the HTTP headers, the body is empty.
    Headers headers = cors_;
    headers.emplace_back("grpc-status", std::to_string(code));
    headers.emplace_back("grpc-message", PercentEncodeMessage(status.error_message()));
    call_->Send(200, "", std::move(headers), type_.value);
  }

  void SetRateLimit(const RateDecision& decision) override { call_->SetAnswerHeaders(RateLimitHeaders(decision)); }

 private:
  std::string Encode(std::string frame) const { return type_.text ? Base64Encode(frame) : frame; }

  std::shared_ptr<HttpCall> call_;
  ContentType type_;
  Headers cors_;
};

}  // namespace

GrpcWebFront::GrpcWebFront(Core& core, std::vector<std::string> allowed_origins)
    : core_(core), allowed_origins_(std::move(allowed_origins)) {}

bool GrpcWebFront::Serves(const std::string& path) {
  // "/flightdeck.v1.ReleaseService/GetRelease": one slash inside, a dotted service name.
  if (path.size() < 4 || path[0] != '/') return false;
  size_t slash = path.find('/', 1);
  if (slash == std::string::npos || path.find('/', slash + 1) != std::string::npos) return false;
  return path.find('.') < slash && slash + 1 < path.size();
}

Headers GrpcWebFront::CorsHeaders(const HttpCall& call) const {
  std::string origin(call.request().Header("origin"));
  if (origin.empty()) return {};
  bool allowed = std::any_of(allowed_origins_.begin(), allowed_origins_.end(),
                             [&](const std::string& o) { return o == "*" || o == origin; });
  // Same origin (the dashboard at /ui): the browser sends Origin on POSTs; allow it.
  std::string_view host = call.request().Header("host");
  if (!allowed && !host.empty() &&
      (origin == "http://" + std::string(host) || origin == "https://" + std::string(host))) {
    allowed = true;
  }
  if (!allowed) return {};
  return {{"Access-Control-Allow-Origin", origin},
          {"Vary", "Origin"},
          {"Access-Control-Expose-Headers", kExposedHeaders}};
}

void GrpcWebFront::Preflight(const std::shared_ptr<HttpCall>& call) {
  Headers headers = CorsHeaders(*call);
  if (headers.empty()) {
    return call->Send(403, ErrorJson(grpc::StatusCode::PERMISSION_DENIED,
                                     "origin not allowed: set FLIGHTDECK_CORS_ORIGINS to allow it"));
  }
  headers.emplace_back("Access-Control-Allow-Methods", "POST, OPTIONS");
  headers.emplace_back("Access-Control-Allow-Headers", kAllowedHeaders);
  headers.emplace_back("Access-Control-Max-Age", "600");
  call->Send(204, "", std::move(headers), "text/plain");
}

void GrpcWebFront::Handle(const std::shared_ptr<HttpCall>& call) {
  const http::ServerRequest& request = call->request();
  call->StartSpan(request.path);
  if (request.method == "OPTIONS") return Preflight(call);
  std::optional<ContentType> type = ParseContentType(request.Header("content-type"));
  Headers cors = CorsHeaders(*call);
  if (request.method != "POST" || !type) {
    return call->Send(415, ErrorJson(grpc::StatusCode::INVALID_ARGUMENT,
                                     "gRPC-web calls are POSTs with Content-Type application/grpc-web+proto "
                                     "or application/grpc-web-text+proto"),
                      cors);
  }
  auto responder = std::make_shared<GrpcWebResponder>(call, *type, cors);
  const api::Method* method = api::FindMethod(request.path);
  const google::protobuf::MethodDescriptor* descriptor =
      method == nullptr ? nullptr
                        : google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(method->rpc);
  if (descriptor == nullptr) {
    return responder->Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "unknown method " + request.path));
  }

  CallRequest req;
  req.method = method;
  req.message = NewCallMessage(descriptor->input_type());
  std::string body = request.body;
  if (type->text) {
    std::string compact;
    for (char c : body) {
      if (c != '\r' && c != '\n') compact.push_back(c);
    }
    std::optional<std::string> decoded = Base64Decode(compact);
    if (!decoded) req.invalid = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "body: not valid base64");
    body = decoded ? std::move(*decoded) : std::string();
  }
  if (req.invalid.ok()) {
    std::string error;
    std::optional<std::vector<grpcweb::Frame>> frames = grpcweb::DecodeFrames(body, &error);
    if (!frames) {
      req.invalid = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "body: " + error);
    } else if (frames->size() != 1 || (*frames)[0].flags != kDataFrame) {
      bool compressed = frames->size() == 1 && ((*frames)[0].flags & kCompressedFlag);
      req.invalid = compressed ? grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "compressed messages are not supported")
                               : grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                              "body: expected exactly one uncompressed message frame");
    } else if (!req.message->ParseFromString((*frames)[0].payload)) {
      req.invalid = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                 "body: not a " + descriptor->input_type()->full_name() + " message");
    }
  }
  std::string_view timeout = request.Header("grpc-timeout");
  if (!timeout.empty()) {
    std::optional<std::chrono::milliseconds> t = grpcweb::ParseGrpcTimeout(timeout);
    if (!t) return responder->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "grpc-timeout: malformed"));
    req.timeout = std::max(*t, std::chrono::milliseconds(1));
  }
  req.bearer_token = call->BearerToken();
  req.client_address = request.peer;
  req.idempotency_key = std::string(request.Header("idempotency-key"));
  req.request_id = call->request_id();
  req.audit_action = "POST " + request.path;
  req.audit_target = request.path;
  req.trace = call->trace_context();
  std::shared_ptr<CallHandle> handle = core_.Start(std::move(req), responder);
  call->exchange().OnClose([handle] { handle->Cancel(); });
}

}  // namespace flightdeck::gateway
