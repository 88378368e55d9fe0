#include "services/gateway/chatops/chatops_front.h"

#include "common/log/log.h"
#include "services/gateway/chatops/chat_commands.h"
#include "services/gateway/chatops/chat_request.h"
#include "services/gateway/chatops/chat_store.h"
#include "services/gateway/chatops/chat_work.h"
#include "services/gateway/chatops/command_parser.h"
#include "services/gateway/chatops/request_verifier.h"
#include "services/gateway/core/auth.h"
#include "services/gateway/core/call.h"
#include "services/gateway/core/errors.h"
#include "services/gateway/http_call.h"

namespace flightdeck::gateway::chatops {
namespace {

constexpr char kSlackCommands[] = "/v1/chatops/slack/commands";
constexpr char kSlackInteractions[] = "/v1/chatops/slack/interactions";
constexpr char kMattermostCommands[] = "/v1/chatops/mattermost/commands";

void SendAnswer(const std::shared_ptr<HttpCall>& call, const std::string& platform, const ChatAnswer& answer) {
  call->Send(200, RenderFor(platform, answer));
}

}  // namespace

bool ChatOpsFront::Serves(const std::string& path) {
  return path == kSlackCommands || path == kSlackInteractions || path == kMattermostCommands;
}

ChatOpsFront::ChatOpsFront(Core& core, ChatStore& store, ChatWork& work, const Clock& clock, ChatOpsOptions options)
    : core_(core), store_(store), work_(work), clock_(clock), options_(std::move(options)) {}

void ChatOpsFront::Handle(const std::shared_ptr<HttpCall>& call) {
  const http::ServerRequest& request = call->request();
  call->StartSpan(request.path);
  if (request.method != "POST") {
    return call->Send(405,
                      ErrorJson(grpc::StatusCode::UNIMPLEMENTED,
                                "method " + request.method + " is not allowed on " + request.path + " (allowed: POST)"),
                      {{"Allow", "POST"}});
  }
  if (request.body.size() > options_.max_body_bytes) {
    return call->Send(413, ErrorJson(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                     "body: larger than " + std::to_string(options_.max_body_bytes) +
                                         " bytes, which no chat platform sends"));
  }
  auto unauthenticated = [&](const std::string& reason) {
    call->Send(401, ErrorJson(grpc::StatusCode::UNAUTHENTICATED, reason));
  };
  if (request.path == kMattermostCommands) {
    if (options_.mattermost_tokens.empty()) {
      return unauthenticated("Mattermost is not configured here (FLIGHTDECK_MATTERMOST_TOKEN)");
    }
    if (!MattermostTokenMatches(options_.mattermost_tokens, FormField(request.body, "token"))) {
      return unauthenticated("token: not a configured Mattermost slash-command token");
    }
    return Take(call, "mattermost", false, "");
  }
  // Slack: the signature is checked over the raw body before any of it is read.
  long long now = std::chrono::duration_cast<std::chrono::seconds>(clock_.Now().time_since_epoch()).count();
  std::string_view signature = request.Header("x-slack-signature");
  Verdict verdict = VerifySlackRequest(options_.slack_secrets, request.Header("x-slack-request-timestamp"),
                                       signature, request.body, now);
  if (!verdict.ok) return unauthenticated(verdict.reason);
  Take(call, "slack", request.path == kSlackInteractions, Sha256Hex("slack:" + std::string(signature)));
}

void ChatOpsFront::Take(const std::shared_ptr<HttpCall>& call, const std::string& platform, bool interaction,
                        const std::string& replay_digest) {
  bool posted = core_.RunBlocking(call->trace_context(), [this, call, platform, interaction, replay_digest] {
    if (!replay_digest.empty()) {
      bool fresh = false;
      grpc::Status s = store_.RecordRequest(replay_digest, static_cast<int>(2 * kSlackMaxSkew.count()), &fresh);
      if (!s.ok()) return call->Send(503, ErrorJson(s.error_code(), s.error_message()));
      if (!fresh) {
        return call->Send(401, ErrorJson(grpc::StatusCode::UNAUTHENTICATED,
                                         "X-Slack-Signature: this request was received before (a replay)"));
      }
    }
    ChatContext context;
    std::string error;
    if (!ReadChatContext(platform, interaction, call->request().body, &context, &error)) {
      return call->Send(400, ErrorJson(grpc::StatusCode::INVALID_ARGUMENT, error));
    }
    // A button's request gets no visible answer (Slack ignores it): everything it has to say,
    // a refusal included, goes to its response_url, so the job checks the presser itself.
    if (interaction) {
      long long job_id = 0;
      grpc::Status s = work_.Enqueue(context, &job_id);
      if (!s.ok()) return call->Send(503, ErrorJson(s.error_code(), s.error_message()));
      return call->Send(200, "", {}, "text/plain");
    }
    std::optional<Principal> principal;
    if (grpc::Status s = store_.Find(platform, context.team_id, context.user_id, &principal); !s.ok()) {
      ChatAnswer a;
      a.tone = ChatAnswer::Tone::kBad;
      a.title = "Flightdeck cannot take commands right now (" + s.error_message() + "); nothing was done.";
      return SendAnswer(call, platform, a);
    }
    if (!principal) {
      log::Info("chat command from an unlinked user", {{"platform", platform}, {"team_id", context.team_id},
                                                        {"user_id", context.user_id}});
      return SendAnswer(call, platform, NotLinkedAnswer(platform, context.team_id, context.user_id));
    }
    ParseResult parsed = ParseCommand(context.text);
    if (!parsed.ok) return SendAnswer(call, platform, ParseErrorAnswer(parsed.error));
    if (parsed.command.kind == CommandKind::kHelp) return SendAnswer(call, platform, HelpAnswer());
    long long job_id = 0;
    if (grpc::Status s = work_.Enqueue(context, &job_id); !s.ok()) {
      ChatAnswer a;
      a.tone = ChatAnswer::Tone::kBad;
      a.title = "Flightdeck could not take this command (" + s.error_message() + "); nothing was done.";
      return SendAnswer(call, platform, a);
    }
    ChatAnswer ack;
    ack.title = "Working on it: " + context.text;
    ack.context = "as " + principal->name + " (" + api::RoleName(principal->role) + ")";
    SendAnswer(call, platform, ack);
  });
  if (!posted) call->Send(503, ErrorJson(grpc::StatusCode::UNAVAILABLE, "gateway overloaded: retry shortly"));
}

}  // namespace flightdeck::gateway::chatops
