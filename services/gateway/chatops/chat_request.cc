#include "services/gateway/chatops/chat_request.h"

#include <map>

#include <nlohmann/json.hpp>

#include "common/http/router.h"
#include "common/text/utf8.h"

namespace flightdeck::gateway::chatops {
namespace {

using nlohmann::json;

std::map<std::string, std::string> ParseForm(const std::string& body) {
  std::map<std::string, std::string> form;
  for (auto& [key, value] : http::ParseQuery(body)) form.emplace(std::move(key), std::move(value));
  return form;
}

std::string Field(const std::map<std::string, std::string>& form, const char* key) {
  auto it = form.find(key);
  return it == form.end() ? "" : it->second;
}

std::string JsonText(const json& j, const char* a, const char* b = nullptr) {
  if (!j.is_object() || !j.contains(a)) return "";
  const json& x = j[a];
  if (b == nullptr) return x.is_string() ? x.get<std::string>() : "";
  return x.is_object() && x.contains(b) && x[b].is_string() ? x[b].get<std::string>() : "";
}

}  // namespace

std::string CommandForButton(const std::string& action_id, const std::string& value) {
  std::string quoted = "\"" + value + "\"";
  if (value.empty() || value.find('"') != std::string::npos) return "";
  if (action_id == "approve") return "approve " + quoted;
  if (action_id == "promote") return "promote " + quoted;
  if (action_id == "abort") return "abort " + quoted + " \"aborted with the chat button\"";
  if (action_id == "ack") return "incident ack " + quoted;
  if (action_id == "resolve") return "incident resolve " + quoted;
  return "";
}

bool ReadChatContext(const std::string& platform, bool interaction, const std::string& body, ChatContext* c,
                 std::string* error) {
  std::map<std::string, std::string> form = ParseForm(body);
  c->platform = platform;
  if (!interaction) {
    c->team_id = Field(form, "team_id");
    c->user_id = Field(form, "user_id");
    c->user_name = Field(form, "user_name");
    c->channel_id = Field(form, "channel_id");
    c->channel_name = Field(form, "channel_name");
    c->response_url = Field(form, "response_url");
    c->text = Field(form, "text");
    // Percent-decoding can spell any bytes; what reaches a service, a reply or the audit log must
    // be UTF-8 (a JSON payload is checked by its parser).
    for (const auto& [name, value] : form) {
      if (!text::IsUtf8(value)) {
        *error = text::ToUtf8(name) + ": not UTF-8 text";
        return false;
      }
    }
  } else {
    json payload = json::parse(Field(form, "payload"), nullptr, false);
    if (!payload.is_object()) {
      *error = "payload: not a JSON object";
      return false;
    }
    if (JsonText(payload, "type") != "block_actions") {
      *error = "payload.type: only block_actions are handled";
      return false;
    }
    c->team_id = JsonText(payload, "team", "id");
    if (c->team_id.empty()) c->team_id = JsonText(payload, "user", "team_id");
    c->user_id = JsonText(payload, "user", "id");
    c->user_name = JsonText(payload, "user", "username");
    c->channel_id = JsonText(payload, "channel", "id");
    c->channel_name = JsonText(payload, "channel", "name");
    c->response_url = JsonText(payload, "response_url");
    c->from_button = true;
    const json& actions = payload.contains("actions") ? payload["actions"] : json();
    if (!actions.is_array() || actions.empty() || !actions[0].is_object()) {
      *error = "payload.actions: no action";
      return false;
    }
    c->text = CommandForButton(JsonText(actions[0], "action_id"), JsonText(actions[0], "value"));
    if (c->text.empty()) {
      *error = "payload.actions[0].action_id: not a Flightdeck button";
      return false;
    }
  }
  if (c->team_id.empty()) *error = "team_id: missing";
  else if (c->user_id.empty()) *error = "user_id: missing";
  else if (c->response_url.empty()) *error = "response_url: missing";
  if (!error->empty()) return false;
  // What is kept of the request is queued as a jsonb job payload and audited as text, neither of
  // which can hold a NUL (percent-decoding and JSON's \u0000 can both spell one): refused here,
  // by name, rather than failing the queueing after the request was taken.
  struct Kept {
    const char* form_field;
    const char* payload_field;  // a button's
    const std::string& value;
  };
  const Kept kept[] = {{"team_id", "payload.team.id", c->team_id},
                       {"user_id", "payload.user.id", c->user_id},
                       {"user_name", "payload.user.username", c->user_name},
                       {"channel_id", "payload.channel.id", c->channel_id},
                       {"channel_name", "payload.channel.name", c->channel_name},
                       {"response_url", "payload.response_url", c->response_url},
                       {"text", "payload.actions[0].value", c->text}};
  for (const Kept& k : kept) {
    if (k.value.find('\0') != std::string::npos) {
      *error = std::string(interaction ? k.payload_field : k.form_field) + ": contains a NUL character";
      return false;
    }
  }
  return true;
}

std::string FormField(const std::string& body, const std::string& name) {
  return Field(ParseForm(body), name.c_str());
}

}  // namespace flightdeck::gateway::chatops
