#include "common/notify/format.h"

namespace flightdeck::notify {
namespace {

using Json = nlohmann::json;

// Bodies never fail on a stray invalid UTF-8 byte from a title: it becomes U+FFFD.
std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

}  // namespace

Json SlackButtonJson(const SlackButton& b) {
  Json button = {{"type", "button"},
                 {"text", {{"type", "plain_text"}, {"text", b.label}}},
                 {"action_id", b.action_id},
                 {"value", b.value}};
  if (!b.style.empty()) button["style"] = b.style;
  if (!b.confirm.empty()) {
    button["confirm"] = {{"title", {{"type", "plain_text"}, {"text", "Are you sure?"}}},
                         {"text", {{"type", "plain_text"}, {"text", b.confirm}}},
                         {"confirm", {{"type", "plain_text"}, {"text", b.label}}},
                         {"deny", {{"type", "plain_text"}, {"text", "Cancel"}}}};
  }
  return button;
}

std::string SlackEscape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string SlackBody(const SlackMessage& m) {
  Json blocks = Json::array();
  blocks.push_back({{"type", "section"},
                    {"text", {{"type", "mrkdwn"}, {"text", "*" + SlackEscape(m.heading) + "*\n" + SlackEscape(m.message)}}}});
  std::string lines;
  for (const std::string& line : m.lines) lines += (lines.empty() ? "" : "\n") + line;
  // A section's text is limited to 3,000 characters.
  if (lines.size() > 2900) lines = lines.substr(0, 2900) + "\n…";
  if (!lines.empty()) blocks.push_back({{"type", "section"}, {"text", {{"type", "mrkdwn"}, {"text", lines}}}});
  if (!m.context.empty()) {
    blocks.push_back({{"type", "context"}, {"elements", Json::array({{{"type", "mrkdwn"}, {"text", m.context}}})}});
  }
  if (!m.buttons.empty()) {
    Json elements = Json::array();
    for (const SlackButton& b : m.buttons) elements.push_back(SlackButtonJson(b));
    blocks.push_back({{"type", "actions"}, {"block_id", "flightdeck_actions"}, {"elements", std::move(elements)}});
  }
  return Dump({{"text", SlackEscape(m.text)}, {"blocks", std::move(blocks)}});
}

std::string GenericBody(const std::string& kind, const std::string& message, const std::string& subject_key,
                        Json subject, const Json& extra) {
  Json body = {{"event", kind}, {"message", message}, {subject_key, std::move(subject)}};
  if (extra.is_object()) {
    for (const auto& [key, value] : extra.items()) body[key] = value;
  }
  return Dump(body);
}

std::string UrlSchemeAndHost(const std::string& url) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return {};
  size_t host_start = scheme_end + 3;
  size_t authority_end = url.find_first_of("/?#", host_start);
  std::string authority = url.substr(host_start, authority_end == std::string::npos ? std::string::npos
                                                                                    : authority_end - host_start);
  size_t at = authority.rfind('@');
  if (at != std::string::npos) authority = authority.substr(at + 1);
  // The port goes too, except inside an IPv6 literal ("[::1]:8080" -> "[::1]").
  size_t bracket = authority.rfind(']');
  size_t colon = authority.rfind(':');
  if (colon != std::string::npos && (bracket == std::string::npos || colon > bracket)) {
    authority = authority.substr(0, colon);
  }
  return url.substr(0, host_start) + authority;
}

}  // namespace flightdeck::notify
