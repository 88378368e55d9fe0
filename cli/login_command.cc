// fdctl login and fdctl whoami: who the gateway takes a token for. Login asks first and saves
// only a URL and token the gateway accepted, so a typo never replaces a working config.
#include <istream>
#include <ostream>

#include "cli/command.h"

namespace flightdeck::cli {
namespace {

std::string Trim(std::string text) {
  const size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  return text.substr(begin, text.find_last_not_of(" \t\r\n") - begin + 1);
}

// "ci-pipeline (DEPLOYER)", from GET /v1/whoami's Principal.
std::string PrincipalText(const Json& principal) {
  const std::string name = FieldText(principal, "name");
  const std::string role = FieldText(principal, "role");
  return (name.empty() ? std::string("an unnamed token") : name) +
         (role.empty() ? "" : " (" + role + ")");
}

// What the gateway at `url` says of `token`: the principal as text, or false after printing
// why the login cannot be saved.
bool CheckLogin(Context& ctx, const std::string& url, const std::string& token,
                std::string* principal) {
  const HttpClient client(url, token);
  const std::string where = RedactUrl(url);
  HttpResult check = client.Get("/v1/whoami");
  if (check.reached && check.status == 404) {
    // A gateway older than /v1/whoami: any authenticated read proves the token (a 403 too:
    // the token is known, its role only may not list releases).
    check = client.Get("/v1/releases", {{"page_size", "1"}});
    if (check.reached && ((check.status >= 200 && check.status < 300) || check.status == 403)) {
      *principal = "the token (this gateway cannot say whose: it has no /v1/whoami)";
      return true;
    }
  }
  if (!check.reached) {
    ctx.err() << "error: could not reach " << where << ": " << check.transport_error
              << "\nCheck the URL (is the gateway running?). Nothing was saved.\n";
    return false;
  }
  if (check.status == 401) {
    ctx.err() << "error: " << where << " refused the token.\n"
              << FormatError(check.status, check.body)
              << "Nothing was saved. Check the token (tokens are created with "
                 "`fdctl token create`; a revoked token stays refused).\n";
    return false;
  }
  std::string error;
  const std::optional<Json> answer = ctx.ReadAnswer(check, &error);
  if (!answer) {
    ctx.err() << error << "Could not check the token at " << where << ". Nothing was saved.\n";
    return false;
  }
  *principal = PrincipalText(*answer);
  return true;
}

int Login(Context& ctx) {
  const std::optional<std::string> url = NormalizeGatewayUrl(*ctx.args().Get("url"));
  if (!url) return ctx.UsageError("--url must start with http:// or https://");
  std::string token = *ctx.args().Get("token");
  if (token == "-") {
    // Keeps the token out of shell history and `ps`.
    std::getline(ctx.in(), token);
    token = Trim(token);
    if (token.empty()) return ctx.UsageError("--token - read no token from standard input");
  }

  const std::optional<std::string> path = ConfigPath(ctx.env());
  if (!path) {
    ctx.err() << "error: nowhere to save the config: set HOME or FDCTL_CONFIG\n";
    return kExitError;
  }
  std::string principal;
  if (!CheckLogin(ctx, *url, token, &principal)) return kExitError;

  std::string error;
  if (!WriteConfigFile(*path, StoredConfig{*url, token}, &error)) {
    ctx.err() << "error: " << error << "\n";
    return kExitError;
  }
  ctx.out() << "Logged in to " << RedactUrl(*url) << " as " << principal << ".\n"
            << "Saved the gateway URL and token to " << *path << "\n";
  return kExitOk;
}

int Whoami(Context& ctx) {
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  return ctx.Respond(client->Get("/v1/whoami"), [&](const Json& principal) {
    ctx.out() << PrincipalText(principal) << " at " << RedactUrl(client->base_url()) << "\n";
  });
}

}  // namespace

void AddLoginCommand(CommandTable& table) {
  table.Add(Command{{"login"},
                    "",
                    "Check the gateway URL and token, then save them for later commands",
                    {{"url", "URL", "gateway URL, e.g. https://flightdeck.example.com", true},
                     {"token", "TOKEN", "API token; - reads it from standard input", true}},
                    0,
                    0,
                    Login});
}

void AddWhoamiCommand(CommandTable& table) {
  table.Add(Command{{"whoami"}, "", "Show the name and role the gateway knows your token by", {},
                    0, 0, Whoami});
}

}  // namespace flightdeck::cli
