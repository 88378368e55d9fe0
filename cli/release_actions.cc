// fdctl release approve|promote|abort|rollback|observe|verify: what humans and pipelines do
// to a release in flight. Each prints the release as the action left it.
#include <ostream>

#include "cli/command.h"
#include "cli/release_events.h"
#include "cli/release_format.h"
#include "cli/release_prefix.h"
#include "cli/release_request.h"

namespace flightdeck::cli {
namespace {

int PostAction(Context& ctx, const std::string& action, const Json& body) {
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  const std::string& id = ctx.operands().front();
  const std::string path = "/v1/releases/" + UrlEscape(id) + "/" + action;
  return RespondToPrefix(ctx, client->Post(path, DumpJson(body)), id, ChooseLongerReleaseId(id),
                         [&ctx](const Json& release) {
                           ctx.out() << FormatReleaseDetails(release, OutputWidth(ctx));
                         });
}

// approve/promote/abort/rollback: the reason goes into the timeline. abort and rollback
// require one (the parser enforces --reason); for approve and promote it is a comment.
std::function<int(Context&)> ReasonAction(std::string action) {
  return [action](Context& ctx) {
    Json body = Json::object();
    if (auto reason = ctx.args().Get("reason")) body["reason"] = *reason;
    return PostAction(ctx, action, body);
  };
}

int Observe(Context& ctx) {
  std::string error;
  const std::optional<Json> body = ObservationsBody(ctx.args(), &error);
  if (!body) return ctx.UsageError(error);
  return PostAction(ctx, "observations", *body);
}

int Verify(Context& ctx) {
  std::string error;
  const std::optional<Json> body = VerificationBody(ctx.args(), &error);
  if (!body) return ctx.UsageError(error);
  return PostAction(ctx, "verification", *body);
}

}  // namespace

void AddReleaseActionCommands(CommandTable& table) {
  table.Add(Command{{"release", "approve"},
                    "ID",
                    "Approve a release that is AWAITING_APPROVAL",
                    {{"reason", "TEXT", "a comment for the timeline"}},
                    1,
                    1,
                    ReasonAction("approve")});
  table.Add(Command{{"release", "promote"},
                    "ID",
                    "Skip the remaining canary steps and promote to 100% (also resumes a paused "
                    "canary)",
                    {{"reason", "TEXT", "a comment for the timeline"}},
                    1,
                    1,
                    ReasonAction("promote")});
  table.Add(Command{{"release", "abort"},
                    "ID",
                    "Stop a release in flight and roll its canary back",
                    {{"reason", "TEXT", "why, for the timeline", true}},
                    1,
                    1,
                    ReasonAction("abort")});
  table.Add(Command{{"release", "rollback"},
                    "ID",
                    "Roll the environment back from a SUCCEEDED release to the previous good one",
                    {{"reason", "TEXT", "why, for the timeline", true}},
                    1,
                    1,
                    ReasonAction("rollback")});
  table.Add(Command{{"release", "observe"},
                    "ID",
                    "Report the canary's metrics for one window (the \"pushed\" analysis source)",
                    {{"requests", "N", "requests the canary served in the window", true},
                     {"errors", "N", "of which failed", true},
                     {"p99-ms", "X", "99th percentile latency in milliseconds"},
                     {"window", "D", "the window the numbers cover, e.g. 60s"}},
                    1,
                    1,
                    Observe});
  table.Add(Command{{"release", "verify"},
                    "ID",
                    "Report the smoke test result of a release that is VERIFYING",
                    {{"passed", "", "the smoke tests passed"},
                     {"failed", "", "the smoke tests failed (the release rolls back)"},
                     {"details", "TEXT", "what ran, for the timeline"}},
                    1,
                    1,
                    Verify});
}

}  // namespace flightdeck::cli
