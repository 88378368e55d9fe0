// libFuzzer: what the chat front reads from Slack and Mattermost before and after it trusts it:
// the signature headers, the form and the block_actions payload, the command language, and the
// answers rendered from what was parsed (never invalid JSON, whatever the text).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "services/gateway/chatops/chat_answer.h"
#include "services/gateway/chatops/chat_commands.h"
#include "services/gateway/chatops/chat_request.h"
#include "services/gateway/chatops/command_parser.h"
#include "services/gateway/chatops/request_verifier.h"

namespace chatops = flightdeck::gateway::chatops;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  // Line 1: the timestamp header, line 2: the signature header, the rest: the body.
  size_t first = input.find('\n');
  size_t second = first == std::string::npos ? std::string::npos : input.find('\n', first + 1);
  std::string ts = input.substr(0, first);
  std::string sig = first == std::string::npos ? "" : input.substr(first + 1, second - first - 1);
  std::string body = second == std::string::npos ? input : input.substr(second + 1);
  chatops::Verdict v = chatops::VerifySlackRequest({"fuzz-secret-0123456789"}, ts, sig, body, 1700000000);
  if (v.ok != v.reason.empty()) std::abort();

  for (bool interaction : {false, true}) {
    chatops::ChatContext context;
    std::string error;
    if (chatops::ReadChatContext("slack", interaction, body, &context, &error) == !error.empty()) std::abort();
  }
  for (const std::string& text : {input, body}) {
    chatops::ParseResult r = chatops::ParseCommand(text);
    if (r.ok != r.error.empty()) std::abort();
    chatops::ChatAnswer answer = r.ok ? chatops::HelpAnswer() : chatops::ParseErrorAnswer(r.error);
    if (r.ok) {
      chatops::PlannedCall plan = chatops::PlanCall(r.command);
      if (r.command.kind != chatops::CommandKind::kHelp && (plan.method == nullptr || !plan.request)) std::abort();
    }
    for (const std::string& json_text : {chatops::SlackJson(answer), chatops::MattermostJson(answer)}) {
      if (nlohmann::json::parse(json_text, nullptr, false).is_discarded()) std::abort();
    }
  }
  return 0;
}
