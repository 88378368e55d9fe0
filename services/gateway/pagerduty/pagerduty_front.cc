#include "services/gateway/pagerduty/pagerduty_front.h"

#include "flightdeck/v1/incidents.pb.h"
#include "services/gateway/core/call.h"
#include "services/gateway/core/errors.h"
#include "services/gateway/core/rate_limiter.h"
#include "services/gateway/http_call.h"
#include "services/gateway/rest/transcode.h"

namespace flightdeck::gateway {
namespace {

constexpr char kPagerDutyActor[] = "pagerduty";
constexpr char kMethod[] = "flightdeck.v1.IncidentService.PostPagerDutyEvent";

void AppendJsonString(const std::string& text, std::string* out) {
  static const char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (unsigned char c : text) {
    switch (c) {
      case '"': *out += "\\\""; break;
      case '\\': *out += "\\\\"; break;
      case '\n': *out += "\\n"; break;
      case '\r': *out += "\\r"; break;
      case '\t': *out += "\\t"; break;
      default:
        if (c < 0x20) {
          *out += "\\u00";
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 0xf]);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

class PagerDutyResponder final : public Responder {
 public:
  explicit PagerDutyResponder(std::shared_ptr<HttpCall> call) : call_(std::move(call)) {}
  void Reply(const google::protobuf::Message& response, bool replayed) override {
    Headers headers;
    if (replayed) headers.emplace_back("Idempotent-Replayed", "true");
    call_->Send(202, ToJson(response), std::move(headers));  // PagerDuty's clients check for 202
  }
  void StreamMessage(const google::protobuf::Message&) override {}
  void Finish(const grpc::Status& status) override {
    if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
      return call_->Send(400, PagerDutyErrorJson(status.error_message()));
    }
    Headers headers;
    if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
      headers.emplace_back("WWW-Authenticate", "Bearer error=\"invalid_token\"");
    }
    call_->Send(HttpStatusFor(status.error_code()), ErrorJson(status.error_code(), status.error_message()),
                std::move(headers));
  }
  void SetRateLimit(const RateDecision& decision) override { call_->SetAnswerHeaders(RateLimitHeaders(decision)); }
  void ReplayLegacyJson(int http_status, const std::string& body) override {
    call_->Send(http_status, body, {{"Idempotent-Replayed", "true"}});
  }

 private:
  std::shared_ptr<HttpCall> call_;
};

}  // namespace

std::string PagerDutyErrorJson(const std::string& message) {
  std::string out = R"({"status":"invalid event","message":"Event object is invalid","errors":[)";
  size_t start = 0;
  bool first = true;
  while (start <= message.size()) {
    size_t end = message.find('\n', start);
    if (end == std::string::npos) end = message.size();
    if (end > start) {
      if (!first) out.push_back(',');
      AppendJsonString(message.substr(start, end - start), &out);
      first = false;
    }
    start = end + 1;
  }
  return out + "]}";
}

void PagerDutyFront::Handle(const std::shared_ptr<HttpCall>& call) {
  call->StartSpan(kPath);
  const http::ServerRequest& request = call->request();
  if (request.method != "POST") {
    return call->Send(405,
                      ErrorJson(grpc::StatusCode::UNIMPLEMENTED,
                                "method " + request.method + " is not allowed on " + kPath + " (allowed: POST)"),
                      {{"Allow", "POST"}});
  }
  CallRequest req;
  req.method = api::FindMethod(kMethod);
  req.message = NewCallMessage(v1::PagerDutyEvent::descriptor());
  BuildOptions build;
  build.ignore_unknown_fields = true;  // PagerDuty senders add fields over time
  req.invalid = BuildRequest(request.body, {}, {}, build, req.message.get());
  req.bearer_token = call->BearerToken();
  req.client_address = request.peer;
  if (!req.bearer_token) {
    req.principal = Principal{kPagerDutyActor, v1::Token::INGEST};
    // The routing key is this sender's credential: its rate limit is per routing key.
    req.routing_key = static_cast<const v1::PagerDutyEvent&>(*req.message).routing_key();
  }
  req.idempotency_key = std::string(request.Header("idempotency-key"));
  req.request_id = call->request_id();
  req.audit_action = "POST " + std::string(kPath);
  req.audit_target = request.target;
  req.trace = call->trace_context();
  core_.Start(std::move(req), std::make_shared<PagerDutyResponder>(call));
}

}  // namespace flightdeck::gateway
