// fdctl health targets|target|add|rm|service|events|smoke: the health service's probes, roll-up
// and smoke suites.
#include <fstream>
#include <ostream>
#include <sstream>

#include "cli/command.h"
#include "cli/health_format.h"
#include "cli/health_request.h"

namespace flightdeck::cli {
namespace {

constexpr std::chrono::milliseconds kPollInterval{1000};
// A gateway restart or a few 503s should not end the wait for a smoke run; this many failed
// polls in a row (about ten seconds) should.
constexpr int kMaxPollFailures = 10;

std::string TargetPath(const std::string& name) { return "/v1/health/targets/" + UrlEscape(name); }

Query Filters(const ParsedArgs& args) {
  Query query;
  if (const std::optional<std::string> service = args.Get("service")) query.emplace_back("service", *service);
  if (const std::string environment = EnvironmentFlag(args); !environment.empty()) {
    query.emplace_back("environment", environment);
  }
  return query;
}

int ListTargets(Context& ctx) {
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  return ctx.Respond(client->Get("/v1/health/targets", Filters(ctx.args())), [&ctx](const Json& page) {
    const Json* targets = FindField(page, "targets");
    if (targets == nullptr || !targets->is_array() || targets->empty()) {
      ctx.out() << "No health targets. Add one: fdctl health add NAME --service S --environment E "
                   "--role liveness --kind HTTP --probe-url URL\n";
      return;
    }
    ctx.out() << FormatHealthTargetTable(*targets);
  });
}

int GetTarget(Context& ctx) {
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  return ctx.Respond(client->Get(TargetPath(ctx.operands().front())),
                     [&ctx](const Json& target) { ctx.out() << FormatHealthTargetDetails(target); });
}

int AddTarget(Context& ctx) {
  std::string error;
  const std::optional<Json> body = CreateHealthTargetBody(ctx.operands().front(), ctx.args(), &error);
  if (!body) return ctx.UsageError(error);
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  return ctx.Respond(client->Post("/v1/health/targets", DumpJson(*body)), [&ctx](const Json& target) {
    ctx.out() << FormatHealthTargetDetails(target) << "\nWatch it: fdctl health target " << FieldText(target, "name")
              << "\n";
  });
}

int RemoveTarget(Context& ctx) {
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  const std::string& name = ctx.operands().front();
  return ctx.Respond(client->Delete(TargetPath(name)),
                     [&ctx, &name](const Json&) { ctx.out() << "Removed health target " << name << ".\n"; });
}

int ServiceHealth(Context& ctx) {
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  Query query;
  if (const std::string environment = EnvironmentFlag(ctx.args()); !environment.empty()) {
    query.emplace_back("environment", environment);
  }
  return ctx.Respond(client->Get("/v1/health/services/" + UrlEscape(ctx.operands().front()), query),
                     [&ctx](const Json& answer) { ctx.out() << FormatServiceHealth(answer); });
}

int Events(Context& ctx) {
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  Query query = Filters(ctx.args());
  if (const std::optional<std::string> kind = ctx.args().Get("kind")) query.emplace_back("kind", *kind);
  return ctx.Respond(client->Get("/v1/health/events", query), [&ctx](const Json& page) {
    const Json* events = FindField(page, "events");
    if (events == nullptr || !events->is_array() || events->empty()) {
      ctx.out() << "No health events.\n";
      return;
    }
    ctx.out() << FormatHealthEventTable(*events);
  });
}

bool IsTransient(const HttpResult& result) {
  return !result.reached || result.status == 429 || result.status >= 500;
}

std::optional<Json> SmokeBody(Context& ctx, std::string* error) {
  const std::optional<std::string> file = ctx.args().Get("file");
  const std::optional<std::string> suite = ctx.args().Get("suite");
  const std::string base_url = ctx.args().Get("base-url").value_or("");
  if (file.has_value() == suite.has_value()) {
    *error = "give either --file suite.json or --suite NAME";
    return std::nullopt;
  }
  if (suite) {
    Json body = {{"suite", *suite}};
    if (!base_url.empty()) body["base_url"] = base_url;
    return body;
  }
  std::ifstream in(*file);
  if (!in) {
    *error = "--file: cannot read " + *file;
    return std::nullopt;
  }
  std::stringstream text;
  text << in.rdbuf();
  return SmokeRunBodyFromFile(text.str(), base_url, error);
}

// Starts the run and reads it every second, printing each check's outcome as it is recorded.
// Exit 0 when the run PASSED, 1 when it FAILED (or the wait could not go on).
int Smoke(Context& ctx) {
  std::string error;
  const std::optional<Json> body = SmokeBody(ctx, &error);
  if (!body) return ctx.UsageError(error);
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  std::optional<Json> run = ctx.ReadAnswer(client->Post("/v1/health/smoke-runs", DumpJson(*body)), &error);
  if (!run) {
    ctx.err() << error;
    return kExitError;
  }
  const std::string id = FieldText(*run, "id");
  if (!ctx.json()) {
    const Json* checks = FindField(*run, "checks");
    ctx.out() << "Smoke run " << id << ": " << (checks != nullptr && checks->is_array() ? checks->size() : 0)
              << " checks\n";
  }
  size_t printed = 0;
  int failures = 0;
  for (;;) {
    const Json* results = FindField(*run, "results");
    if (!ctx.json() && results != nullptr && results->is_array()) {
      for (; printed < results->size(); ++printed) ctx.out() << FormatSmokeResult((*results)[printed]);
      ctx.out().flush();
    }
    const std::string state = FieldText(*run, "state");
    if (state == "PASSED" || state == "FAILED") {
      if (ctx.json()) {
        ctx.out() << DumpJson(*run, 2) << "\n";
      } else {
        ctx.out() << FormatSmokeSummary(*run);
      }
      return state == "PASSED" ? kExitOk : kExitError;
    }
    ctx.Sleep(kPollInterval);
    const HttpResult answer = client->Get("/v1/health/smoke-runs/" + UrlEscape(id));
    std::optional<Json> next = ctx.ReadAnswer(answer, &error);
    if (!next) {
      if (!IsTransient(answer) || ++failures >= kMaxPollFailures) {
        ctx.err() << error;
        return kExitError;
      }
      ctx.err() << "warning: " << (error.rfind("error: ", 0) == 0 ? error.substr(7) : error);
      continue;
    }
    failures = 0;
    run = std::move(next);
  }
}

const FlagSpec kServiceFilter{"service", "S", "only this service's"};
const FlagSpec kEnvironmentFilter{"environment", "E", "only this environment's"};
// --env is what release and deploy commands call it: both spellings work everywhere.
const FlagSpec kEnvFilter{"env", "E", "same as --environment"};

}  // namespace

void AddHealthCommands(CommandTable& table) {
  table.Add(Command{{"health", "targets"}, "", "List health targets with their status and last result",
                    {kServiceFilter, kEnvironmentFilter, kEnvFilter}, 0, 0, ListTargets});
  table.Add(Command{{"health", "target"}, "NAME",
                    "Show a health target: settings, state, uptime and latency, recent results", {}, 1, 1,
                    GetTarget});
  table.Add(Command{{"health", "add"},
                    "NAME",
                    "Register a target to probe (Kubernetes probe semantics)",
                    {{"service", "S", "the service it belongs to", true},
                     // Required, as --environment or --env (checked when the body is built).
                     {"environment", "E", "production, staging, ... (required; or --env)"},
                     kEnvFilter,
                     {"role", "R", "liveness, readiness or canary", true},
                     {"kind", "K", "HTTP, GRPC, TCP, POSTGRES or REDIS", true},
                     {"probe-url", "U", "HTTP: the URL to probe; POSTGRES/REDIS: the connection URL"},
                     {"address", "A", "GRPC/TCP: host:port"},
                     {"expect-status", "LIST", "HTTP: passing statuses, e.g. 200,204 (default 200-399)"},
                     {"body-contains", "T", "HTTP: the body must contain this"},
                     {"method", "M", "HTTP: GET (default) or HEAD"},
                     {"new-connection-per-probe", "",
                      "HTTP: open (and close) a new connection for every probe, as kubelet does, "
                      "instead of keeping one alive"},
                     {"grpc-service", "S", "GRPC: the service name asked of grpc.health.v1"},
                     {"period", "D", "how often to probe (default 10s)"},
                     {"timeout", "D", "a probe slower than this fails (default 1s)"},
                     {"initial-delay", "D", "wait this long before the first probe (default 0s)"},
                     {"success-threshold", "N", "consecutive successes to turn healthy (default 1)"},
                     {"failure-threshold", "N", "consecutive failures to turn unhealthy (default 3)"}},
                    1,
                    1,
                    AddTarget});
  table.Add(Command{{"health", "rm"}, "NAME", "Stop probing a target", {}, 1, 1, RemoveTarget});
  table.Add(Command{{"health", "service"}, "SERVICE",
                    "Show a service's health per environment and why",
                    {kEnvironmentFilter, kEnvFilter}, 1, 1, ServiceHealth});
  table.Add(Command{{"health", "events"}, "",
                    "List state changes and ServiceDown alerts, newest first",
                    {kServiceFilter, kEnvironmentFilter, kEnvFilter, {"kind", "K", "TARGET, SERVICE or ALERT (any case)"}}, 0, 0, Events});
  table.Add(Command{{"health", "smoke"}, "",
                    "Run a smoke suite and wait for it: exit 0 if every check passed, 1 if not",
                    {{"file", "F", "a suite as JSON: {\"base_url\":..., \"checks\":[{\"name\",\"url\",...}]}"},
                     {"suite", "NAME", "a saved suite's name"},
                     {"base-url", "U", "the URL relative check URLs join (overrides the suite's)"}},
                    0,
                    0,
                    Smoke});
}

}  // namespace flightdeck::cli
