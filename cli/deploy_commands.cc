// fdctl deploy status|rollback: a service in one environment, rather than one release.
#include <ostream>

#include "cli/command.h"
#include "cli/release_format.h"

namespace flightdeck::cli {
namespace {

std::string EnvironmentPath(Context& ctx) {
  return "/v1/services/" + UrlEscape(ctx.operands().front()) + "/environments/" +
         UrlEscape(*ctx.args().Get("env"));
}

int DeployStatus(Context& ctx) {
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  return ctx.Respond(client->Get(EnvironmentPath(ctx)),
                     [&ctx](const Json& se) { ctx.out() << FormatServiceEnvironment(se); });
}

int DeployRollback(Context& ctx) {
  const Json body = {{"to_commit_sha", *ctx.args().Get("to")},
                     {"reason", *ctx.args().Get("reason")}};
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  return ctx.Respond(client->Post(EnvironmentPath(ctx) + "/rollback", DumpJson(body)),
                     [&ctx](const Json& release) {
                       ctx.out() << FormatReleaseDetails(release) << "\nFollow it: fdctl release "
                                 << "events " << FieldText(release, "id") << " --watch\n";
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
                     {"to", "SHA", "the commit to go back to", true},
                     {"reason", "TEXT", "why, for the timeline", true}},
                    1,
                    1,
                    DeployRollback});
}

}  // namespace flightdeck::cli
