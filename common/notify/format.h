#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

// The bodies of outgoing notifications, shared by releases and incidents: a generic JSON
// envelope for webhooks and a Slack incoming-webhook message (Block Kit) whose buttons the
// gateway's chat-ops front understands (services/gateway/chatops/chat_request.cc maps action_id
// "approve", "promote", "abort", "ack" and "resolve", with the release or incident id as value,
// to the command it runs as the presser's linked principal).
namespace flightdeck::notify {

// Slack mrkdwn treats &, < and > as control characters.
std::string SlackEscape(const std::string& text);

struct SlackButton {
  std::string label;      // "Approve"
  std::string action_id;  // "approve"
  std::string value;      // the release or incident id
  std::string style;      // "", "primary" or "danger"
  std::string confirm;    // non-empty: Slack asks "Are you sure?" with this text first
};

// One Block Kit button element (the chat-ops front's answers use it too).
nlohmann::json SlackButtonJson(const SlackButton& button);

struct SlackMessage {
  std::string text;     // the notification's plain fallback (phones, screen readers)
  std::string heading;  // shown bold
  std::string message;  // the line under the heading
  std::vector<std::string> lines;  // more lines of mrkdwn, already escaped (numbers, reasons)
  std::string context;  // small print, mrkdwn, already escaped ("*State:* CANARY ...")
  std::vector<SlackButton> buttons;
};
// {"text":..,"blocks":[section, (section of lines), (context), (actions "flightdeck_actions")]}.
// Plain text (text, heading, message) is escaped here; lines and context are not.
std::string SlackBody(const SlackMessage& m);

// {"event":kind,"message":message,<subject_key>:subject, ...extra}: the generic webhook body.
std::string GenericBody(const std::string& kind, const std::string& message, const std::string& subject_key,
                        nlohmann::json subject, const nlohmann::json& extra = nlohmann::json::object());

// A notification URL as callers below ADMIN see it: scheme and host only
// ("https://hooks.slack.com"), since a Slack incoming-webhook URL's path is its credential.
// User info, port, path, query and fragment are dropped; "" when there is no scheme.
std::string UrlSchemeAndHost(const std::string& url);

}  // namespace flightdeck::notify
