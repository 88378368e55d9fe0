#include "services/gateway/chatops/chat_answer.h"

#include <nlohmann/json.hpp>

namespace flightdeck::gateway::chatops {
namespace {

using nlohmann::json;

using notify::SlackEscape;

const char* Emoji(ChatAnswer::Tone tone) {
  switch (tone) {
    case ChatAnswer::Tone::kGood: return ":white_check_mark: ";
    case ChatAnswer::Tone::kWarning: return ":warning: ";
    case ChatAnswer::Tone::kBad: return ":x: ";
    case ChatAnswer::Tone::kInfo: return "";
  }
  return "";
}

const char* Color(ChatAnswer::Tone tone) {
  switch (tone) {
    case ChatAnswer::Tone::kGood: return "#2eb67d";
    case ChatAnswer::Tone::kWarning: return "#ecb22e";
    case ChatAnswer::Tone::kBad: return "#e01e5a";
    case ChatAnswer::Tone::kInfo: return "#1d9bd1";
  }
  return "#1d9bd1";
}

std::string Body(const ChatAnswer& answer, const std::string& (*escape)(const std::string&)) {
  std::string out;
  for (const std::string& line : answer.lines) {
    if (!out.empty()) out.push_back('\n');
    out += escape(line);
  }
  return out;
}

const std::string& Same(const std::string& s) { return s; }

// Chat text is whatever people typed, decoded from a form: bytes that are not UTF-8 are
// replaced rather than allowed to make the answer unsendable (nlohmann would throw).
std::string Dump(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

std::string PlainText(const ChatAnswer& answer) { return answer.title; }

std::string SlackJson(const ChatAnswer& answer) {
  json blocks = json::array();
  std::string heading = std::string(Emoji(answer.tone)) + "*" + SlackEscape(answer.title) + "*";
  blocks.push_back({{"type", "section"}, {"text", {{"type", "mrkdwn"}, {"text", heading}}}});
  std::string body;
  for (const std::string& line : answer.lines) body += (body.empty() ? "" : "\n") + SlackEscape(line);
  if (!body.empty()) {
    // A section's text is limited to 3,000 characters.
    if (body.size() > 2900) body = body.substr(0, 2900) + "\n…";
    blocks.push_back({{"type", "section"}, {"text", {{"type", "mrkdwn"}, {"text", body}}}});
  }
  if (!answer.context.empty()) {
    blocks.push_back({{"type", "context"},
                      {"elements", json::array({{{"type", "mrkdwn"}, {"text", SlackEscape(answer.context)}}})}});
  }
  if (!answer.buttons.empty()) {
    json elements = json::array();
    for (const ChatButton& b : answer.buttons) {
      elements.push_back(notify::SlackButtonJson(b));
    }
    blocks.push_back({{"type", "actions"}, {"block_id", "flightdeck_actions"}, {"elements", elements}});
  }
  json out = {{"response_type", answer.in_channel ? "in_channel" : "ephemeral"},
              {"text", answer.title},
              {"blocks", blocks}};
  if (answer.replace_original) out["replace_original"] = true;
  return Dump(out);
}

std::string MattermostJson(const ChatAnswer& answer) {
  std::string text = Body(answer, &Same);
  for (const ChatButton& b : answer.buttons) {
    text += (text.empty() ? "" : "\n") + std::string("→ `") + b.action_id + " " + b.value + "` to " + b.label;
  }
  json attachment = {{"fallback", answer.title},
                     {"color", Color(answer.tone)},
                     {"title", answer.title},
                     {"text", text}};
  if (!answer.context.empty()) attachment["footer"] = answer.context;
  json out = {{"response_type", answer.in_channel ? "in_channel" : "ephemeral"},
              {"text", ""},
              {"attachments", json::array({attachment})}};
  return Dump(out);
}

}  // namespace flightdeck::gateway::chatops
