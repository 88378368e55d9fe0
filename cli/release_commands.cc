// fdctl release create|get|list: the releases resource of the REST gateway.
#include <cctype>
#include <ostream>

#include "cli/command.h"

namespace flightdeck::cli {
namespace {

int CreateRelease(Context& ctx) {
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  Json body = Json::object();
  body["service"] = *ctx.args().Get("service");
  body["environment"] = *ctx.args().Get("env");
  body["version"] = *ctx.args().Get("version");
  body["commit_sha"] = *ctx.args().Get("commit");
  if (auto image = ctx.args().Get("image")) body["image"] = *image;
  return ctx.Respond(client->Post("/v1/releases", DumpJson(body)),
                     [&ctx](const Json& release) { ctx.out() << FormatReleaseDetails(release); });
}

int GetRelease(Context& ctx) {
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  return ctx.Respond(client->Get("/v1/releases/" + UrlEscape(ctx.operands().front())),
                     [&ctx](const Json& release) { ctx.out() << FormatReleaseDetails(release); });
}

bool IsPositiveNumber(const std::string& text) {
  if (text.empty() || text.size() > 9 ||
      text.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  return std::stol(text) > 0;
}

int ListReleases(Context& ctx) {
  Query query;
  if (auto service = ctx.args().Get("service")) query.emplace_back("service", *service);
  if (auto env = ctx.args().Get("env")) query.emplace_back("environment", *env);
  if (auto size = ctx.args().Get("page-size")) {
    if (!IsPositiveNumber(*size)) return ctx.UsageError("--page-size must be a positive number");
    query.emplace_back("page_size", *size);
  }
  if (auto token = ctx.args().Get("page-token")) query.emplace_back("page_token", *token);

  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  return ctx.Respond(client->Get("/v1/releases", query), [&ctx](const Json& page) {
    const Json releases = page.contains("releases") ? page["releases"] : Json::array();
    if (releases.empty()) {
      ctx.out() << "No releases found.\n";
    } else {
      ctx.out() << FormatReleaseTable(releases);
    }
    std::string next = FieldText(page, "next_page_token");
    if (!next.empty()) ctx.out() << "\nMore: fdctl release list --page-token " << next << "\n";
  });
}

}  // namespace

void AddReleaseCommands(CommandTable& table) {
  table.Add(Command{{"release", "create"},
                    "",
                    "Create a release of one version of a service for one environment",
                    {{"service", "S", "service name, e.g. api", true},
                     {"env", "E", "environment, e.g. staging or production", true},
                     {"version", "V", "version label, e.g. 1.4.2", true},
                     {"commit", "SHA", "the commit the release is built from", true},
                     {"image", "I", "container image reference"}},
                    0,
                    0,
                    CreateRelease});
  table.Add(Command{{"release", "get"}, "ID", "Show one release", {}, 1, 1, GetRelease});
  table.Add(Command{{"release", "list"},
                    "",
                    "List releases, newest first",
                    {{"service", "S", "only this service"},
                     {"env", "E", "only this environment"},
                     {"page-size", "N", "at most N releases per page"},
                     {"page-token", "T", "the page after a previous list (from its output)"}},
                    0,
                    0,
                    ListReleases});
}

}  // namespace flightdeck::cli
