// fdctl incident ... and fdctl silence/silences: what an on-call engineer does during and
// after an incident, over the incidents routes of the REST gateway.
#include <ostream>

#include "cli/command.h"
#include "cli/incident_format.h"
#include "cli/incident_request.h"

namespace flightdeck::cli {
namespace {

std::string IncidentPath(const std::string& id) { return "/v1/incidents/" + UrlEscape(id); }

int PostIncident(Context& ctx, const std::string& path, const Json& body) {
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  return ctx.Respond(client->Post(path, DumpJson(body)),
                     [&ctx](const Json& incident) { ctx.out() << FormatIncidentDetails(incident); });
}

int ListIncidents(Context& ctx) {
  Query query;
  if (auto state = ctx.args().Get("state")) {
    const std::optional<std::string> name = ParseIncidentState(*state);
    if (!name) {
      return ctx.UsageError("--state '" + *state +
                            "' is not an incident state (TRIGGERED, ACKNOWLEDGED, RESOLVED, "
                            "CLOSED, or open)");
    }
    query.emplace_back("state", *name);
  }
  if (auto severity = ctx.args().Get("severity")) {
    const std::optional<std::string> sev = ParseSeverity(*severity);
    if (!sev) return ctx.UsageError("--severity '" + *severity + "' is not one of SEV1..SEV4");
    query.emplace_back("severity", *sev);
  }
  if (auto service = ctx.args().Get("service")) query.emplace_back("service", *service);
  if (auto environment = ctx.args().Get("environment")) query.emplace_back("environment", *environment);
  if (auto token = ctx.args().Get("page-token")) query.emplace_back("page_token", *token);
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  return ctx.Respond(client->Get("/v1/incidents", query), [&ctx](const Json& page) {
    const Json* incidents = FindField(page, "incidents");
    if (incidents == nullptr || !incidents->is_array() || incidents->empty()) {
      ctx.out() << "No incidents found.\n";
    } else {
      ctx.out() << FormatIncidentTable(*incidents);
    }
    const std::string next = FieldText(page, "next_page_token");
    if (!next.empty()) ctx.out() << "\nMore: fdctl incident list --page-token " << next << "\n";
  });
}

int GetIncident(Context& ctx) {
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  return ctx.Respond(client->Get(IncidentPath(ctx.operands().front())),
                     [&ctx](const Json& incident) { ctx.out() << FormatIncidentDetails(incident); });
}

int Declare(Context& ctx) {
  std::string error;
  const std::optional<Json> body = DeclareIncidentBody(ctx.args(), &error);
  if (!body) return ctx.UsageError(error);
  return PostIncident(ctx, "/v1/incidents", *body);
}

// ack, resolve, escalate: an optional note for the timeline.
std::function<int(Context&)> StateAction(std::string action) {
  return [action](Context& ctx) {
    Json body = Json::object();
    if (auto message = ctx.args().Get("message")) body["message"] = *message;
    return PostIncident(ctx, IncidentPath(ctx.operands().front()) + "/" + action, body);
  };
}

int Update(Context& ctx) {
  return PostIncident(ctx, IncidentPath(ctx.operands().front()) + "/updates",
                      Json{{"message", ctx.args().Get("message").value_or("")}});
}

int Review(Context& ctx) {
  std::string error;
  const std::optional<Json> body = ReviewBody(ctx.args(), &error);
  if (!body) return ctx.UsageError(error);
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  return ctx.Respond(client->Post(IncidentPath(ctx.operands().front()) + "/review", DumpJson(*body)),
                     [&ctx](const Json& incident) {
                       ctx.out() << FormatIncidentDetails(incident)
                                 << "\nClose it once every action is done or tracked: fdctl incident close "
                                 << FieldText(incident, "id") << "\n";
                     });
}

int AddAction(Context& ctx) {
  std::string error;
  const std::optional<Json> body = ActionBody(ctx.args(), &error);
  if (!body) return ctx.UsageError(error);
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  return ctx.Respond(
      client->Post(IncidentPath(ctx.operands().front()) + "/actions", DumpJson(*body)),
      [&ctx](const Json& action) {
        ctx.out() << FormatActionTable(Json::array({action})) << "\nDone? fdctl incident action complete "
                  << FieldText(action, "id") << "\n";
      });
}

int CompleteAction(Context& ctx) {
  Json body = Json::object();
  if (auto url = ctx.args().Get("tracking-url")) body["tracking_url"] = *url;
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  return ctx.Respond(
      client->Post("/v1/actions/" + UrlEscape(ctx.operands().front()) + "/complete", DumpJson(body)),
      [&ctx](const Json& action) { ctx.out() << FormatActionTable(Json::array({action})); });
}

int ListActions(Context& ctx) {
  Query query;
  if (ctx.args().Has("overdue")) query.emplace_back("overdue", "true");
  // Passed as typed: the server takes any case and id prefixes, and names a bad value.
  if (auto incident = ctx.args().Get("incident")) query.emplace_back("incident_id", *incident);
  if (auto owner = ctx.args().Get("owner")) query.emplace_back("owner", *owner);
  if (auto state = ctx.args().Get("state")) query.emplace_back("state", *state);
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  return ctx.Respond(client->Get("/v1/actions", query), [&ctx](const Json& page) {
    const Json* actions = FindField(page, "actions");
    if (actions == nullptr || !actions->is_array() || actions->empty()) {
      ctx.out() << (ctx.args().Has("overdue") ? "No overdue actions.\n" : "No actions.\n");
      return;
    }
    ctx.out() << FormatActionTable(*actions);
  });
}

int Report(Context& ctx) {
  Query query;
  if (auto week = ctx.args().Get("week")) {
    if (!IsIsoWeek(*week)) return ctx.UsageError("--week '" + *week + "' is not an ISO week like 2026-W47");
    query.emplace_back("week", *week);
  }
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  return ctx.Respond(client->Get("/v1/reports/weekly", query),
                     [&ctx](const Json& report) { ctx.out() << FormatWeeklyReport(report); });
}

int AddSilence(Context& ctx) {
  std::string error;
  const std::optional<Json> body = SilenceBody(ctx.args(), std::chrono::system_clock::now(), &error);
  if (!body) return ctx.UsageError(error);
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  return ctx.Respond(client->Post("/v1/silences", DumpJson(*body)), [&ctx](const Json& silence) {
    ctx.out() << FormatSilenceTable(Json::array({silence}));
  });
}

int ListSilences(Context& ctx) {
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  return ctx.Respond(client->Get("/v1/silences"), [&ctx](const Json& page) {
    const Json* silences = FindField(page, "silences");
    if (silences == nullptr || !silences->is_array() || silences->empty()) {
      ctx.out() << "No active silences.\n";
      return;
    }
    ctx.out() << FormatSilenceTable(*silences);
  });
}

int ExpireSilence(Context& ctx) {
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  return ctx.Respond(
      client->Post("/v1/silences/" + UrlEscape(ctx.operands().front()) + "/expire", "{}"),
      [&ctx](const Json& silence) { ctx.out() << FormatSilenceTable(Json::array({silence})); });
}

int CreateIntegration(Context& ctx) {
  Json body = Json::object();
  body["name"] = ctx.operands().front();
  body["service"] = ctx.args().Get("service").value_or("");
  if (auto environment = ctx.args().Get("environment")) body["environment"] = *environment;
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  return ctx.Respond(client->Post("/v1/integrations", DumpJson(body)), [&ctx](const Json& integration) {
    ctx.out() << "Integration " << FieldText(integration, "name") << " for service "
              << FieldText(integration, "service") << "\nRouting key: "
              << FieldText(integration, "routing_key")
              << "\n\nPagerDuty-style senders post events to <gateway>/v2/enqueue with this "
                 "routing_key.\n";
  });
}

const FlagSpec kMessage{"message", "M", "a note for the timeline"};

}  // namespace

void AddIncidentCommands(CommandTable& table) {
  table.Add(Command{{"incident", "list"},
                    "",
                    "List incidents, newest first",
                    {{"state", "STATE", "TRIGGERED, ACKNOWLEDGED, RESOLVED, CLOSED or open"},
                     {"severity", "SEV", "SEV1..SEV4"},
                     {"service", "S", "only this service"},
                     {"environment", "E", "only this environment"},
                     {"page-token", "T", "the page after a previous list (from its output)"}},
                    0, 0, ListIncidents});
  table.Add(Command{{"incident", "get"},
                    "ID",
                    "Show an incident: timeline, alerts, related releases, review and actions. "
                    "ID is INC-12, 12, or a unique prefix, as everywhere an id is taken",
                    {}, 1, 1, GetIncident});
  table.Add(Command{{"incident", "declare"},
                    "",
                    "Open an incident by hand",
                    {{"title", "T", "what is wrong, in a line", true},
                     {"severity", "SEV", "SEV1..SEV4", true},
                     {"service", "S", "the affected service", true},
                     {"environment", "E", "the affected environment, e.g. production"}},
                    0, 0, Declare});
  table.Add(Command{{"incident", "ack"}, "ID", "Acknowledge an incident (stops its escalation)",
                    {kMessage}, 1, 1, StateAction("acknowledge")});
  table.Add(Command{{"incident", "resolve"}, "ID", "Resolve an incident", {kMessage}, 1, 1,
                    StateAction("resolve")});
  table.Add(Command{{"incident", "escalate"}, "ID", "Escalate an incident to its next level now",
                    {kMessage}, 1, 1, StateAction("escalate")});
  table.Add(Command{{"incident", "update"}, "ID", "Post a status update",
                    {{"message", "M", "the update", true}}, 1, 1, Update});
  table.Add(Command{{"incident", "review"},
                    "ID",
                    "Submit the post-incident review of a RESOLVED incident, with its corrective "
                    "actions if you have them (more can be added later with `incident action add`). "
                    "It does not close the incident: `fdctl incident close ID` does, once every "
                    "action is done or tracked",
                    {{"summary", "TEXT", "what happened", true},
                     {"impact", "TEXT", "who was affected and how", true},
                     {"root-cause", "TEXT", "why it happened", true},
                     {"timeline-notes", "TEXT", "notes on the timeline"},
                     {"action", "TITLE|OWNER[|DUE]",
                      "a corrective action, e.g. 'rotate the key|ana|2026-12-01'; repeat for more",
                      false, true}},
                    1, 1, Review});
  table.Add(Command{{"incident", "close"},
                    "ID",
                    "Close a RESOLVED incident once its review is in and every action is done or "
                    "tracked (otherwise says what is missing)",
                    {kMessage}, 1, 1, StateAction("close")});
  table.Add(Command{{"incident", "action", "add"},
                    "ID",
                    "Add a corrective action to an incident",
                    {{"title", "T", "what to do", true},
                     {"owner", "O", "who does it", true},
                     {"due", "DATE", "when, e.g. 2026-12-01", true}},
                    1, 1, AddAction});
  table.Add(Command{{"incident", "action", "complete"},
                    "ACTION_ID",
                    "Mark a corrective action done (or tracked elsewhere with --tracking-url)",
                    {{"tracking-url", "U", "the ticket that tracks it instead"}},
                    1, 1, CompleteAction});
  table.Add(Command{{"incident", "actions"},
                    "",
                    "List corrective actions",
                    {{"overdue", "", "only open actions past their due date"},
                     {"incident", "ID", "only this incident's (INC-12, 12 or a unique prefix)"},
                     {"owner", "O", "only this owner's"},
                     {"state", "STATE", "OPEN or DONE"}},
                    0, 0, ListActions});
  table.Add(Command{{"incident", "report"},
                    "",
                    "Weekly report: counts, MTTA and MTTR (mean, p90), deploy-correlated share, "
                    "breached deadlines, overdue reviews and actions",
                    {{"week", "W", "ISO week, e.g. 2026-W47 (default: this week)"}},
                    0, 0, Report});
  table.Add(Command{{"incident", "silence", "add"},
                    "",
                    "Silence matching alerts for a while (they are stored but page no one)",
                    {{"matcher", "M", "NAME=VALUE (or !=, =~, !~); repeat for more", true, true},
                     {"duration", "D", "how long, e.g. 2h", true},
                     {"comment", "TEXT", "why"}},
                    0, 0, AddSilence});
  table.Add(Command{{"incident", "silences"}, "", "List silences", {}, 0, 0, ListSilences});
  table.Add(Command{{"incident", "silence", "expire"},
                    "SILENCE_ID",
                    "End a silence now (its id, or a unique prefix of at least 4 characters)",
                    {}, 1, 1, ExpireSilence});
  table.Add(Command{{"incident", "integration", "create"},
                    "NAME",
                    "Create a PagerDuty-style integration and print its routing key",
                    {{"service", "S", "the service its events are for", true},
                     {"environment", "E", "the environment its events are for"}},
                    1, 1, CreateIntegration});
}

}  // namespace flightdeck::cli
