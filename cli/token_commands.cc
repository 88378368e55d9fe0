// fdctl token create|list|revoke: the gateway's API tokens (admin only). The secret exists in
// clear only in the answer to create; the gateway stores it hashed.
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

int CreateToken(Context& ctx) {
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  // Roles are upper case in the API; `--role deployer` means the same to a person.
  const Json body = {{"name", ctx.operands().at(0)}, {"role", Upper(*ctx.args().Get("role"))}};
  return ctx.Respond(client->Post("/v1/tokens", DumpJson(body)), [&](const Json& token) {
    const std::string secret = FieldText(token, "secret");
    ctx.out() << "Created token " << FieldText(token, "name") << " ("
              << FieldText(token, "role") << ").\n";
    if (secret.empty()) {
      ctx.out() << "The gateway sent no secret: list the tokens and revoke this one if it is "
                   "not needed.\n";
      return;
    }
    ctx.out() << "\n    " << secret << "\n\n"
              << Tint("This secret is shown only now and cannot be shown again: store it (in "
                      "your CI's secret store, or `fdctl login --token -`) before you go on.",
                      Tone::kWarn)
              << "\n";
  });
}

int ListTokens(Context& ctx) {
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  return ctx.Respond(client->Get("/v1/tokens"), [&](const Json& answer) {
    const Json* tokens = FindField(answer, "tokens");
    if (tokens == nullptr || !tokens->is_array() || tokens->empty()) {
      ctx.out() << "No tokens yet. Create one: fdctl token create NAME --role ROLE\n";
      return;
    }
    std::vector<std::vector<std::string>> rows;
    for (const Json& token : *tokens) {
      rows.push_back({CellOrDash(FieldText(token, "name")), CellOrDash(FieldText(token, "role")),
                      CellOrDash(FieldText(token, "created_by")),
                      CellOrDash(ShortTime(FieldText(token, "created_at"))),
                      CellOrDash(FieldText(token, "id"))});
    }
    ctx.out() << FormatTable({"NAME", "ROLE", "CREATED BY", "CREATED", "ID"}, rows);
  });
}

int RevokeToken(Context& ctx) {
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  const std::string& name = ctx.operands().at(0);
  return ctx.Respond(client->Delete("/v1/tokens/" + UrlEscape(name)), [&](const Json&) {
    ctx.out() << "Revoked token " << name
              << ". Gateways that looked it up in the last FLIGHTDECK_TOKEN_CACHE_TTL (30s by "
                 "default) may accept it until then.\n";
  });
}

}  // namespace

void AddTokenCommands(CommandTable& table) {
  table.Add(Command{{"token", "create"},
                    "NAME",
                    "Create an API token and show its secret, once (admin)",
                    {{"role", "ROLE", "VIEWER, DEPLOYER, OPERATOR, ADMIN or INGEST", true}},
                    1,
                    1,
                    CreateToken});
  table.Add(Command{{"token", "list"}, "", "List the API tokens (admin)", {}, 0, 0, ListTokens});
  table.Add(Command{{"token", "revoke"},
                    "NAME",
                    "Revoke an API token: requests with it are refused (admin)",
                    {},
                    1,
                    1,
                    RevokeToken});
}

}  // namespace flightdeck::cli
