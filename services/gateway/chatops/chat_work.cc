#include "services/gateway/chatops/chat_work.h"

#include <future>

#include <nlohmann/json.hpp>

#include "common/log/log.h"
#include "services/gateway/chatops/chat_commands.h"
#include "services/gateway/chatops/chat_store.h"
#include "services/gateway/chatops/command_parser.h"
#include "services/gateway/chatops/delivery.h"
#include "services/gateway/core/call.h"

namespace flightdeck::gateway::chatops {
namespace {

using nlohmann::json;

// Collects the core's one answer for a thread that waits for it.
class WaitingResponder final : public Responder {
 public:
  struct Outcome {
    grpc::Status status;
    std::unique_ptr<google::protobuf::Message> response;
  };
  void Reply(const google::protobuf::Message& response, bool) override {
    std::unique_ptr<google::protobuf::Message> copy(response.New());
    copy->CopyFrom(response);
    Set({grpc::Status::OK, std::move(copy)});
  }
  void StreamMessage(const google::protobuf::Message&) override {}
  void Finish(const grpc::Status& status) override {
    Set({status.ok() ? grpc::Status(grpc::StatusCode::INTERNAL, "empty answer") : status, nullptr});
  }
  std::future<Outcome> future() { return promise_.get_future(); }

 private:
  void Set(Outcome outcome) {
    std::call_once(once_, [&] { promise_.set_value(std::move(outcome)); });
  }
  std::once_flag once_;
  std::promise<Outcome> promise_;
};

// What the audit log says about where a chat action came from, as query parameters of the
// REST path it mirrors (so that a created resource's id still lands in the path).
std::string AuditTarget(const std::string& path, const ChatContext& c) {
  auto clean = [](const std::string& text) {
    std::string out;
    for (char ch : text) out.push_back(ch == '&' || ch == '?' || ch == ' ' || ch == '#' ? '_' : ch);
    return out;
  };
  return path + "?via=" + c.platform + "&team=" + clean(c.team_id) + "&user=" + clean(c.user_id) +
         "&channel=" + clean(c.channel_id) + (c.channel_name.empty() ? "" : "&channel_name=" + clean(c.channel_name));
}

}  // namespace

std::string ToPayload(const ChatContext& c) {
  return json{{"platform", c.platform},       {"team_id", c.team_id},     {"user_id", c.user_id},
              {"user_name", c.user_name},     {"channel_id", c.channel_id}, {"channel_name", c.channel_name},
              {"response_url", c.response_url}, {"text", c.text},         {"from_button", c.from_button}}
      .dump(-1, ' ', false, json::error_handler_t::replace);  // typed text may not be UTF-8
}

bool FromPayload(const std::string& payload, ChatContext* out) {
  json j = json::parse(payload, nullptr, false);
  if (!j.is_object()) return false;
  auto text = [&](const char* key) { return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : ""; };
  out->platform = text("platform");
  out->team_id = text("team_id");
  out->user_id = text("user_id");
  out->user_name = text("user_name");
  out->channel_id = text("channel_id");
  out->channel_name = text("channel_name");
  out->response_url = text("response_url");
  out->text = text("text");
  out->from_button = j.contains("from_button") && j["from_button"].is_boolean() && j["from_button"].get<bool>();
  return !out->platform.empty();
}

std::string RenderFor(const std::string& platform, const ChatAnswer& answer) {
  return platform == "mattermost" ? MattermostJson(answer) : SlackJson(answer);
}

ChatWork::ChatWork(Core& core, ChatStore& store, jobs::Queue& queue, ChatWorkOptions options)
    : core_(core), store_(store), queue_(queue), options_(options) {}

void ChatWork::Register(jobs::Worker& worker) {
  worker_ = &worker;
  worker.Handle(kCommandJob, [this](const jobs::Job& job) { return RunCommand(job); });
  worker.Handle(kDeliverJob, [this](const jobs::Job& job) { return Deliver(job); });
}

grpc::Status ChatWork::Enqueue(const ChatContext& context, long long* job_id) {
  // A command is run at most twice (a crash mid-run); its writes are idempotent by job id.
  jobs::RetryPolicy once{2, std::chrono::milliseconds(1000), std::chrono::milliseconds(1000)};
  grpc::Status s = queue_.Enqueue(kCommandJob, "", ToPayload(context), std::chrono::system_clock::now(), once, job_id);
  if (s.ok() && worker_ != nullptr) worker_->Nudge();
  return s;
}

ChatAnswer ChatWork::Execute(const ChatContext& context, const std::string& idempotency_key,
                             const std::string& request_id) {
  std::optional<Principal> principal;
  if (grpc::Status s = store_.Find(context.platform, context.team_id, context.user_id, &principal); !s.ok()) {
    ChatAnswer a;
    a.tone = ChatAnswer::Tone::kBad;
    a.title = "Flightdeck could not look you up (" + s.error_message() + "); nothing was done.";
    return a;
  }
  if (!principal) return NotLinkedAnswer(context.platform, context.team_id, context.user_id);
  ParseResult parsed = ParseCommand(context.text);
  if (!parsed.ok) return ParseErrorAnswer(parsed.error);
  if (parsed.command.kind == CommandKind::kHelp) return HelpAnswer();

  Actor actor{*principal, context.platform};
  PlannedCall plan = PlanCall(parsed.command);
  if (NeedsCurrentRelease(parsed.command)) {
    PlannedCall lookup = PlanCurrentLookup(parsed.command);
    Outcome current = Call(lookup, *principal, context, "", request_id);
    if (!current.status.ok()) return ErrorAnswer(parsed.command, lookup.method, current.status, actor);
    if (grpc::Status s = AimAtCurrentRelease(*current.response, parsed.command, &plan); !s.ok()) {
      return ErrorAnswer(parsed.command, plan.method, s, actor);
    }
  }
  Outcome outcome = Call(plan, *principal, context, idempotency_key, request_id);
  if (!outcome.status.ok()) return ErrorAnswer(parsed.command, plan.method, outcome.status, actor);
  return ResultAnswer(parsed.command, *outcome.response, actor);
}

ChatWork::Outcome ChatWork::Call(PlannedCall& plan, const Principal& principal, const ChatContext& context,
                                 const std::string& idempotency_key, const std::string& request_id) {
  CallRequest request;
  request.method = plan.method;
  request.message = std::move(plan.request);
  request.principal = principal;
  if (!api::IsRead(*plan.method)) request.idempotency_key = idempotency_key;
  request.request_id = request_id;
  request.audit_action = std::string(plan.method->http_method ? plan.method->http_method : "CALL") + " " +
                         (plan.method->http_path ? plan.method->http_path : plan.method->rpc);
  request.audit_target = AuditTarget(plan.target_path, context);
  request.timeout = options_.call_timeout;

  auto responder = std::make_shared<WaitingResponder>();
  auto future = responder->future();
  std::shared_ptr<CallHandle> handle = core_.Start(std::move(request), responder);
  // The core answers every call (upstream deadlines are shorter than this); the bound is for a
  // core that is shutting down.
  if (future.wait_for(options_.call_timeout + std::chrono::seconds(5)) != std::future_status::ready) {
    handle->Cancel();
    return {grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "no answer in time"), nullptr};
  }
  WaitingResponder::Outcome outcome = future.get();
  return {outcome.status, std::move(outcome.response)};
}

grpc::Status ChatWork::RunCommand(const jobs::Job& job) {
  ChatContext context;
  if (!FromPayload(job.payload, &context)) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "unreadable chat command payload");
  }
  const std::string id = std::to_string(job.id);
  ChatAnswer answer = Execute(context, "chatops-job-" + id, "chatops-" + id);
  // A button's outcome replaces the message it was on, for everyone; a refusal only tells the
  // presser, and leaves the buttons for someone who may press them.
  answer.replace_original = context.from_button && answer.in_channel;
  if (context.from_button && !context.user_name.empty() && answer.context.find(context.user_name) == std::string::npos) {
    answer.context += " (pressed by @" + context.user_name + ")";
  }
  json delivery = {{"platform", context.platform},
                   {"response_url", context.response_url},
                   {"body", RenderFor(context.platform, answer)},
                   {"command_job", job.id}};
  // Keyed by the command job: running the command again after a crash does not post twice.
  std::string payload = delivery.dump(-1, ' ', false, json::error_handler_t::replace);
  grpc::Status s = queue_.Enqueue(kDeliverJob, "deliver-" + id, payload, std::chrono::system_clock::now(),
                                  options_.delivery_retry);
  if (s.error_code() == grpc::StatusCode::ALREADY_EXISTS) return grpc::Status::OK;
  if (s.ok() && worker_ != nullptr) worker_->Nudge();
  return s;
}

grpc::Status ChatWork::Deliver(const jobs::Job& job) {
  json d = json::parse(job.payload, nullptr, false);
  if (!d.is_object() || !d.contains("response_url") || !d["response_url"].is_string() || !d.contains("body") ||
      !d["body"].is_string()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "unreadable delivery payload");
  }
  std::string platform = d.value("platform", "");
  DeliveryAttempt attempt = PostJson(d["response_url"].get<std::string>(), d["body"].get<std::string>(),
                                     options_.delivery_timeout, options_.egress);
  if (grpc::Status s = store_.RecordDelivery(job.id, platform, job.attempts, attempt.http_status, attempt.error,
                                             attempt.latency_ms);
      !s.ok()) {
    log::Warn("chat delivery attempt not recorded", {{"job", job.id}, {"error", s.error_message()}});
  }
  if (attempt.ok) return grpc::Status::OK;
  log::Info("chat answer not delivered yet", {{"job", job.id}, {"attempt", job.attempts}, {"error", attempt.error}});
  return grpc::Status(grpc::StatusCode::UNAVAILABLE, attempt.error);
}

}  // namespace flightdeck::gateway::chatops
