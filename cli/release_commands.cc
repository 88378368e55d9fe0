// fdctl release create|get|list: the releases resource of the REST gateway.
#include <cctype>
#include <ostream>
#include <regex>

#include "cli/command.h"
#include "cli/release_events.h"
#include "cli/release_format.h"
#include "cli/release_prefix.h"
#include "cli/release_request.h"

namespace flightdeck::cli {
namespace {

// How many events `release get` shows, and how far back it reads to find the newest ones.
constexpr int kRecentEvents = 10;
constexpr int kTimelinePageSize = 200;
constexpr int kTimelineMaxPages = 50;

// The releases service tells a second release in flight how to wait in REST terms (send
// "queue": true); an fdctl user says it with --queue. The REST message stays for REST users.
HttpResult WithQueueFlagAdvice(HttpResult result) {
  if (!result.reached || result.status != 409) return result;
  Json body = Json::parse(result.body, nullptr, /*allow_exceptions=*/false);
  if (!body.is_object() || !body.contains("error") || !body["error"].is_object()) return result;
  Json& error = body["error"];
  if (FieldText(error, "code") != "ALREADY_EXISTS") return result;
  static const std::regex kQueueField(R"re("queue"\s*:\s*true)re");
  std::string message = FieldText(error, "message");
  if (std::regex_search(message, kQueueField)) {
    message = std::regex_replace(message, kQueueField, "--queue");
  } else if (message.find("in flight") != std::string::npos) {
    message += " (add --queue to wait behind it)";
  } else {
    return result;
  }
  error["message"] = message;
  result.body = DumpJson(body);
  return result;
}

int CreateRelease(Context& ctx) {
  std::string error;
  const std::optional<Json> body = CreateReleaseBody(ctx.args(), &error);
  if (!body) return ctx.UsageError(error);
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  return ctx.Respond(WithQueueFlagAdvice(client->Post("/v1/releases", DumpJson(*body))),
                     [&ctx](const Json& release) {
                       ctx.out() << FormatReleaseDetails(release, OutputWidth(ctx));
                     });
}

// The newest few events under the release; a timeline that cannot be read is a warning,
// since the release itself was shown.
void PrintRecentEvents(Context& ctx, const HttpClient& client, const std::string& id) {
  const Timeline timeline =
      FetchTimeline(client, id, kRecentEvents, kTimelinePageSize, kTimelineMaxPages);
  if (!timeline.ok) {
    std::string error;
    ctx.ReadAnswer(timeline.failed, &error);
    ctx.err() << "warning: could not read the timeline: "
              << (error.rfind("error: ", 0) == 0 ? error.substr(7) : error);
    return;
  }
  const Json& all = timeline.events;
  const size_t skip = all.size() > kRecentEvents ? all.size() - kRecentEvents : 0;
  Json recent = Json::array();
  for (size_t i = skip; i < all.size(); ++i) recent.push_back(all[i]);
  ctx.out() << "\n"
            << FormatEventsSection(recent, id,
                                   timeline.complete ? static_cast<long long>(all.size()) : -1,
                                   OutputWidth(ctx));
}

int GetRelease(Context& ctx) {
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  const std::string& id = ctx.operands().front();
  return RespondToPrefix(ctx, client->Get("/v1/releases/" + UrlEscape(id)), id,
                         ChooseLongerReleaseId(id), [&ctx, client, &id](const Json& release) {
                           ctx.out() << FormatReleaseDetails(release, OutputWidth(ctx));
                           PrintRecentEvents(ctx, *client, id);
                         });
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
  if (auto state = ctx.args().Get("state")) {
    const std::optional<std::string> name = ParseReleaseState(*state);
    if (!name) {
      return ctx.UsageError("--state '" + *state +
                            "' is not a release state (PENDING, AWAITING_APPROVAL, CANARY, "
                            "PROMOTING, VERIFYING, BAKING, SUCCEEDED, ROLLING_BACK, ROLLED_BACK, ABORTED, "
                            "FAILED)");
    }
    query.emplace_back("state", *name);
  }
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
                     {"image", "I", "container image reference"},
                     {"require-approval", "", "hold the release until someone approves it"},
                     {"no-approval", "", "start without approval (if the environment allows)"},
                     {"driver", "KIND", "external (the pipeline acts on next_action) or command"},
                     {"step", "WEIGHT:DURATION",
                      "a canary step, e.g. 5:10m; repeat the flag for each step", false, true},
                     {"interval", "D", "how often the analysis judges the canary, e.g. 60s"},
                     {"max-error-rate", "R", "highest error rate that passes, e.g. 0.05 or 5%"},
                     {"max-p99-ms", "X", "highest p99 latency in ms that passes"},
                     {"min-requests", "N", "fewer requests than this in an interval: inconclusive"},
                     {"failure-limit", "N", "consecutive failed analyses that roll back"},
                     {"inconclusive-limit", "N", "consecutive inconclusive analyses that pause"},
                     {"health-target", "NAME", "judge the canary by this health target's probes"},
                     {"smoke-suite", "NAME", "run this saved smoke suite as the verification"},
                     {"queue", "", "wait behind a release in flight, or for the environment's "
                                   "window to open, instead of failing with 409"},
                     {"override-window", "REASON",
                      "admin: release through a closed window, a freeze or a failed checklist"}},
                    0,
                    0,
                    CreateRelease});
  table.Add(Command{{"release", "get"},
                    "ID",
                    "Show one release: state, canary progress, next action and recent events",
                    {},
                    1,
                    1,
                    GetRelease});
  table.Add(Command{{"release", "list"},
                    "",
                    "List releases, newest first",
                    {{"service", "S", "only this service"},
                     {"env", "E", "only this environment"},
                     {"state", "STATE", "only releases in this state, e.g. CANARY"},
                     {"page-size", "N", "at most N releases per page"},
                     {"page-token", "T", "the page after a previous list (from its output)"}},
                    0,
                    0,
                    ListReleases});
}

}  // namespace flightdeck::cli
