#pragma once

#include <string>

// What a chat platform's request says, read from its body once it has been verified: the
// form of a slash command (Slack, Mattermost) or the JSON `payload` of a Slack button press.
namespace flightdeck::gateway::chatops {

// Who asked what, where, and where to answer: all a chat command needs once the request that
// carried it has been answered. Kept as the JSON payload of its job.
struct ChatContext {
  std::string platform;  // "slack" or "mattermost"
  std::string team_id;
  std::string user_id;
  std::string user_name;
  std::string channel_id;
  std::string channel_name;
  std::string response_url;
  std::string text;            // the command, as typed (a button press is turned into one)
  bool from_button = false;    // its answer replaces the message the button was on
};

std::string ToPayload(const ChatContext& context);
bool FromPayload(const std::string& payload, ChatContext* out);

// Reads a verified request body. `interaction`: a Slack block_actions payload (a button press,
// turned into the command it stands for). false with *error naming the field when the request
// lacks what a command needs (team, user, response_url; an action the front knows) or a field
// it keeps holds a NUL.
bool ReadChatContext(const std::string& platform, bool interaction, const std::string& body, ChatContext* out,
                     std::string* error);

// One form field of an application/x-www-form-urlencoded body ("" when absent).
std::string FormField(const std::string& body, const std::string& name);

// A button press as the command it stands for ("approve <id>"); "" for an unknown action.
std::string CommandForButton(const std::string& action_id, const std::string& value);

}  // namespace flightdeck::gateway::chatops
