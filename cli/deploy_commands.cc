// fdctl deploy status|rollback: a service in one environment, rather than one release.
#include <ostream>

#include "cli/command.h"
#include "cli/release_events.h"
#include "cli/release_format.h"
#include "cli/release_prefix.h"

namespace flightdeck::cli {
namespace {

std::string EnvironmentPath(Context& ctx) {
  return "/v1/services/" + UrlEscape(ctx.operands().front()) + "/environments/" +
         UrlEscape(*ctx.args().Get("env"));
}

bool HasRelease(const Json& service_environment, std::string_view role) {
  const Json* release = FindField(service_environment, role);
  return release != nullptr && release->is_object() && !release->empty();
}

// Nothing runs and nothing is on its way: either the environment never saw a release of the
// service, or none of its releases succeeded. The newest release tells which; an empty
// table would tell neither.
void PrintWhyNothingRuns(Context& ctx, const HttpClient& client, const std::string& service,
                         const std::string& env) {
  const HttpResult answer = client.Get(
      "/v1/releases", {{"service", service}, {"environment", env}, {"page_size", "1"}});
  std::string error;
  const std::optional<Json> page = ctx.ReadAnswer(answer, &error);
  const Json* releases = page ? FindField(*page, "releases") : nullptr;
  if (releases == nullptr || !releases->is_array()) {
    ctx.out() << "Nothing of " << service << " runs in " << env << ".\n";
    if (!page) ctx.err() << "warning: could not read its releases: " << error.substr(7);
    return;
  }
  if (releases->empty()) {
    ctx.out() << "Nothing was released of " << service << " in " << env
              << " yet. Start with:\n  fdctl release create --service " << service << " --env "
              << env << " --version V --commit SHA\n";
    return;
  }
  const Json& newest = releases->front();
  const std::string id = FieldText(newest, "id");
  ctx.out() << "No release of " << service << " has succeeded in " << env
            << " yet; the newest is " << id << " (" << FieldText(newest, "state")
            << "): fdctl release get " << id << "\n";
}

int DeployStatus(Context& ctx) {
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  return ctx.Respond(client->Get(EnvironmentPath(ctx)), [&ctx, client](const Json& se) {
    if (HasRelease(se, "current") || HasRelease(se, "in_flight")) {
      ctx.out() << FormatServiceEnvironment(se);
      return;
    }
    PrintWhyNothingRuns(ctx, *client, ctx.operands().front(), *ctx.args().Get("env"));
  });
}

int DeployRollback(Context& ctx) {
  // The commit goes as given: the releases service resolves a unique prefix of one that
  // succeeded in the environment, and names the candidates when several match.
  const std::string commit = *ctx.args().Get("to");
  const Json body = {{"to_commit_sha", commit}, {"reason", *ctx.args().Get("reason")}};
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  return RespondToPrefix(
      ctx, client->Post(EnvironmentPath(ctx) + "/rollback", DumpJson(body)), commit,
      "give more characters of the commit with --to, e.g. one of those above",
      [&ctx](const Json& release) {
        ctx.out() << FormatReleaseDetails(release, OutputWidth(ctx))
                  << "\nFollow it: fdctl release events " << FieldText(release, "id")
                  << " --watch\n";
      });
}

}  // namespace

void AddDeployCommands(CommandTable& table) {
  table.Add(Command{{"deploy", "status"},
                    "SERVICE",
                    "Show the release running in an environment and the one in flight",
                    {{"env", "E", "environment, e.g. production", true}},
                    1,
                    1,
                    DeployStatus});
  table.Add(Command{{"deploy", "rollback"},
                    "SERVICE",
                    "Deploy a commit that once succeeded in the environment again (a new "
                    "ROLLBACK release)",
                    {{"env", "E", "environment, e.g. production", true},
                     {"to", "SHA",
                      "the commit to go back to: all of it or a unique prefix (7+ characters)",
                      true},
                     {"reason", "TEXT", "why, for the timeline", true}},
                    1,
                    1,
                    DeployRollback});
}

}  // namespace flightdeck::cli
