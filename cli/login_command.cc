// fdctl login: stores the gateway URL and token, then checks the token with a cheap read.
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
  std::string error;
  if (!WriteConfigFile(*path, StoredConfig{*url, token}, &error)) {
    ctx.err() << "error: " << error << "\n";
    return kExitError;
  }
  ctx.out() << "Saved the gateway URL and token to " << *path << "\n";

  const HttpClient client(*url, token);
  const HttpResult check = client.Get("/v1/releases", {{"page_size", "1"}});
  const std::string where = RedactUrl(*url);
  if (!check.reached) {
    ctx.err() << "error: could not reach " << where
              << " to check the token: " << check.transport_error << "\n";
    return kExitError;
  }
  if (check.status >= 200 && check.status < 300) {
    ctx.out() << "The token works: " << where << " accepted it.\n";
    return kExitOk;
  }
  if (check.status == 403) {
    // Authenticated, only not allowed to read releases: the login itself is good.
    ctx.out() << "The token is valid at " << where << " but may not list releases.\n";
    return kExitOk;
  }
  if (check.status == 401) ctx.err() << "The token was rejected by " << where << ".\n";
  ctx.err() << FormatError(check.status, check.body);
  return kExitError;
}

}  // namespace

void AddLoginCommand(CommandTable& table) {
  table.Add(Command{{"login"},
                    "",
                    "Save the gateway URL and token, and check that the token works",
                    {{"url", "URL", "gateway URL, e.g. https://flightdeck.example.com", true},
                     {"token", "TOKEN", "API token; - reads it from standard input", true}},
                    0,
                    0,
                    Login});
}

}  // namespace flightdeck::cli
