#include "services/gateway/rest/rest_front.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>

#include "common/config/url.h"
#include "services/gateway/core/call.h"
#include "services/gateway/core/errors.h"
#include "services/gateway/core/rate_limiter.h"
#include "services/gateway/http_call.h"
#include "services/gateway/rest/transcode.h"

namespace flightdeck::gateway {
namespace {

using google::protobuf::Message;

// Bodies of these come from tools we do not control (Alertmanager adds fields over time):
// unknown fields are dropped instead of refused.
bool AcceptsUnknownFields(const api::Method& method) {
  return std::string_view(method.rpc) == "flightdeck.v1.IncidentService.PostAlertmanager";
}

// REST reads that have a streaming twin, chosen with ?watch=true.
const api::Method* WatchTwin(const api::Method& method) {
  if (std::string_view(method.rpc) == "flightdeck.v1.ReleaseService.ListReleaseEvents") {
    return api::FindMethod("flightdeck.v1.ReleaseService.WatchRelease");
  }
  return nullptr;
}

bool HasBody(const std::string& http_method) {
  return http_method == "POST" || http_method == "PUT" || http_method == "PATCH";
}

class RestResponder final : public Responder {
 public:
  explicit RestResponder(std::shared_ptr<HttpCall> call) : call_(std::move(call)) {}

  void Reply(const Message& response, bool replayed) override {
    Headers headers;
    if (replayed) headers.emplace_back("Idempotent-Replayed", "true");
    call_->Send(200, ToJson(response), std::move(headers));
  }
  void StreamOpened() override { call_->BeginStream(200, {}, "application/x-ndjson"); }
  void StreamMessage(const Message& message) override {
    call_->Write(ToJson(message) + "\n");
  }
  void Finish(const grpc::Status& status) override {
    if (call_->streaming()) {
      // The stream has begun: its status can only be told in the body, as a last line.
      if (!status.ok() && status.error_code() != grpc::StatusCode::CANCELLED) {
        call_->Write(ErrorJson(status.error_code(), status.error_message()) + "\n");
      }
      return call_->End();
    }
    if (status.ok()) {  // a stream that ended before its first message
      call_->BeginStream(200, {}, "application/x-ndjson");
      return call_->End();
    }
    SendError(*call_, status);
  }
  void SetRateLimit(const RateDecision& decision) override { call_->SetAnswerHeaders(RateLimitHeaders(decision)); }
  void ReplayLegacyJson(int http_status, const std::string& body) override {
    call_->Send(http_status, body, {{"Idempotent-Replayed", "true"}});
  }

  static void SendError(HttpCall& call, const grpc::Status& status) {
    Headers headers;
    if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
      headers.emplace_back("WWW-Authenticate", call.BearerToken() ? "Bearer error=\"invalid_token\"" : "Bearer");
    }
    if (status.error_code() == grpc::StatusCode::UNAVAILABLE &&
        status.error_message().rfind("gateway overloaded", 0) == 0) {
      headers.emplace_back("Retry-After", "1");
    }
    call.Send(HttpStatusFor(status.error_code()), ErrorJson(status.error_code(), status.error_message()),
              std::move(headers));
  }

 private:
  std::shared_ptr<HttpCall> call_;
};

MessagePtr NewRequestOf(const api::Method& method) {
  const auto* descriptor =
      google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(method.rpc);
  if (descriptor == nullptr) return nullptr;
  return NewCallMessage(descriptor->input_type());
}

}  // namespace

RestFront::RestFront(Core& core) : core_(core) {
  for (const api::Method& m : api::Methods()) {
    if (m.http_method != nullptr && m.http_path != nullptr) router_.Add(m.http_method, m.http_path, &m);
  }
}

void RestFront::Handle(const std::shared_ptr<HttpCall>& call) {
  const http::ServerRequest& request = call->request();
  auto match = router_.Find(request.method, request.path);
  if (match.outcome == http::Router<const api::Method*>::Outcome::kFound) {
    call->StartSpan(match.pattern);
  } else {
    call->StartSpan("unmatched");
  }
  switch (match.outcome) {
    case http::Router<const api::Method*>::Outcome::kNotFound:
      return call->Send(404, ErrorJson(grpc::StatusCode::NOT_FOUND,
                                       "no route for " + request.method + " " + request.path));
    case http::Router<const api::Method*>::Outcome::kMethodNotAllowed: {
      std::string allowed;
      for (const std::string& m : match.allowed) allowed += (allowed.empty() ? "" : ", ") + m;
      return call->Send(405,
                        ErrorJson(grpc::StatusCode::UNIMPLEMENTED,
                                  "method " + request.method + " is not allowed on " + request.path +
                                      " (allowed: " + allowed + ")"),
                        {{"Allow", allowed}});
    }
    case http::Router<const api::Method*>::Outcome::kFound:
      break;
  }

  const api::Method* method = *match.handler;
  std::map<std::string, std::string> path_params = match.params;
  for (auto& [k, v] : path_params) v = config::PercentDecode(v);
  std::vector<std::pair<std::string, std::string>> query = http::ParseQuery(request.query);

  // ?watch=true turns a read into its streaming twin.
  for (auto it = query.begin(); it != query.end(); ++it) {
    if (it->first != "watch") continue;
    const api::Method* twin = WatchTwin(*method);
    if (twin == nullptr) {
      return RestResponder::SendError(*call, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                                          "watch: not supported on " + match.pattern));
    }
    if (it->second != "true" && it->second != "false") {
      return RestResponder::SendError(*call, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                                          "watch: must be true or false"));
    }
    bool watch = it->second == "true";
    query.erase(it);
    if (watch) method = twin;
    break;
  }

  CallRequest req;
  req.method = method;
  req.message = NewRequestOf(*method);
  if (!req.message) {
    return RestResponder::SendError(*call, grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                                                        std::string("no such method: ") + method->rpc));
  }
  BuildOptions build;
  build.ignore_unknown_fields = AcceptsUnknownFields(*method);
  if (grpc::Status s = BuildRequest(HasBody(request.method) ? request.body : std::string(), path_params,
                                    query, build, req.message.get());
      !s.ok()) {
    // Bad input is answered after authentication, and audited for writes, by the core.
    req.invalid = s;
  }
  req.bearer_token = call->BearerToken();
  req.client_address = request.peer;
  req.idempotency_key = std::string(request.Header("idempotency-key"));
  req.request_id = call->request_id();
  req.audit_action = request.method + " " + match.pattern;
  req.audit_target = request.target;
  req.trace = call->trace_context();
  auto responder = std::make_shared<RestResponder>(call);
  std::shared_ptr<CallHandle> handle = core_.Start(std::move(req), responder);
  call->exchange().OnClose([handle] { handle->Cancel(); });
}

}  // namespace flightdeck::gateway
