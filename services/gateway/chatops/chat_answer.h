#pragma once

#include <string>
#include <vector>

#include "common/notify/format.h"

// What the chat front says back, in platform-neutral terms, and its two renderings: Slack's
// Block Kit message and Mattermost's attachment message. Both are built to read on a phone:
// one bold title line, short lines under it, buttons last.
namespace flightdeck::gateway::chatops {

// A button on an answer: action_id "approve", "abort", "promote", "ack" or "resolve" with the
// release or incident id as value, the same buttons the services' notifications carry.
using ChatButton = notify::SlackButton;

struct ChatAnswer {
  bool in_channel = false;        // everyone in the channel sees it (changes); else only the caller
  bool replace_original = false;  // a button's answer replaces the message the button was on
  std::string title;              // plain text, shown bold
  std::vector<std::string> lines;  // Markdown-light: `code`, no other markup
  std::string context;            // small print under the body ("by alice via Slack")
  std::vector<ChatButton> buttons;
  enum class Tone { kInfo, kGood, kWarning, kBad } tone = Tone::kInfo;
};

// {"response_type":..,"text":..,"blocks":[...],"replace_original":..}
std::string SlackJson(const ChatAnswer& answer);
// {"response_type":..,"text":..,"attachments":[{...}]} (buttons are Slack-only: Mattermost
// lists the equivalent commands instead)
std::string MattermostJson(const ChatAnswer& answer);

// The one-line text of an answer (notification previews, logs): its title.
std::string PlainText(const ChatAnswer& answer);

}  // namespace flightdeck::gateway::chatops
