// fdctl chatops link|list|unlink: which Slack and Mattermost users may act from chat, as which
// Flightdeck principal and role (admin only; README "Chat-ops").
#include <algorithm>
#include <cctype>
#include <ostream>

#include "cli/command.h"

namespace flightdeck::cli {
namespace {

std::string Upper(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
  return text;
}

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return text;
}

int LinkIdentity(Context& ctx) {
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  const auto& ops = ctx.operands();
  const Json body = {{"platform", Lower(ops.at(0))}, {"team_id", ops.at(1)}, {"user_id", ops.at(2)},
                     {"name", ops.at(3)}, {"role", Upper(*ctx.args().Get("role"))}};
  return ctx.Respond(client->Post("/v1/chatops/identities", DumpJson(body)), [&](const Json& identity) {
    ctx.out() << "Linked " << FieldText(identity, "platform") << " user " << FieldText(identity, "user_id")
              << " (team " << FieldText(identity, "team_id") << ") to " << FieldText(identity, "name") << " ("
              << FieldText(identity, "role") << "): their chat commands now act as " << FieldText(identity, "name")
              << ".\n";
  });
}

int ListIdentities(Context& ctx) {
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  Query query;
  if (auto platform = ctx.args().Get("platform")) query.emplace_back("platform", Lower(*platform));
  return ctx.Respond(client->Get("/v1/chatops/identities", query), [&](const Json& answer) {
    const Json* identities = FindField(answer, "identities");
    if (identities == nullptr || !identities->is_array() || identities->empty()) {
      ctx.out() << "No chat users are linked. Link one: fdctl chatops link PLATFORM TEAM_ID USER_ID NAME --role ROLE\n";
      return;
    }
    std::vector<std::vector<std::string>> rows;
    for (const Json& i : *identities) {
      rows.push_back({CellOrDash(FieldText(i, "platform")), CellOrDash(FieldText(i, "team_id")),
                      CellOrDash(FieldText(i, "user_id")), CellOrDash(FieldText(i, "name")),
                      CellOrDash(FieldText(i, "role")), CellOrDash(FieldText(i, "created_by")),
                      CellOrDash(ShortTime(FieldText(i, "created_at")))});
    }
    ctx.out() << FormatTable({"PLATFORM", "TEAM", "USER", "NAME", "ROLE", "LINKED BY", "LINKED"}, rows);
  });
}

int UnlinkIdentity(Context& ctx) {
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  const auto& ops = ctx.operands();
  const std::string path = "/v1/chatops/identities?platform=" + UrlEscape(Lower(ops.at(0))) +
                           "&team_id=" + UrlEscape(ops.at(1)) + "&user_id=" + UrlEscape(ops.at(2));
  return ctx.Respond(client->Delete(path), [&](const Json&) {
    ctx.out() << "Unlinked " << Lower(ops.at(0)) << " user " << ops.at(2) << " (team " << ops.at(1)
              << "): their chat commands are refused from now on.\n";
  });
}

}  // namespace

void AddChatOpsCommands(CommandTable& table) {
  table.Add(Command{{"chatops", "link"},
                    "PLATFORM TEAM_ID USER_ID NAME",
                    "Let a Slack or Mattermost user act from chat as NAME with a role (admin)",
                    {{"role", "ROLE", "VIEWER, DEPLOYER, OPERATOR or ADMIN", true}},
                    4,
                    4,
                    LinkIdentity});
  table.Add(Command{{"chatops", "list"},
                    "",
                    "List the chat users linked to Flightdeck (admin)",
                    {{"platform", "PLATFORM", "only slack or only mattermost", false}},
                    0,
                    0,
                    ListIdentities});
  table.Add(Command{{"chatops", "unlink"},
                    "PLATFORM TEAM_ID USER_ID",
                    "Stop a chat user acting from chat (admin)",
                    {},
                    3,
                    3,
                    UnlinkIdentity});
}

}  // namespace flightdeck::cli
