// fdctl window create|list|get|delete|next|checklist|tick: maintenance windows and freezes, when
// changes may next go out, and the pre-maintenance checklist.
#include <fstream>
#include <ostream>
#include <sstream>

#include "cli/command.h"
#include "cli/release_request.h"

namespace flightdeck::cli {
namespace {

std::string WindowPath(const std::string& name) { return "/v1/windows/" + UrlEscape(name); }

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// The body from --file (a Window as JSON, e.g. with its checklist), then the flags on top.
std::optional<Json> WindowBody(Context& ctx, std::string* error) {
  Json body = Json::object();
  if (const std::optional<std::string> file = ctx.args().Get("file")) {
    std::ifstream in(*file);
    if (!in) {
      *error = "--file: cannot read " + *file;
      return std::nullopt;
    }
    std::stringstream text;
    text << in.rdbuf();
    body = Json::parse(text.str(), nullptr, false);
    if (!body.is_object()) {
      *error = "--file: " + *file + " is not a JSON object (a window)";
      return std::nullopt;
    }
  }
  body["name"] = ctx.operands().front();
  const ParsedArgs& args = ctx.args();
  if (auto kind = args.Get("kind")) body["kind"] = Upper(*kind);
  if (auto schedule = args.Get("schedule")) body["schedule"] = *schedule;
  if (auto tz = args.Get("tz")) body["time_zone"] = *tz;
  if (auto duration = args.Get("duration")) {
    std::optional<std::string> d = ParseDuration(*duration);
    if (!d) {
      *error = "--duration must be a duration such as 2h or 90m";
      return std::nullopt;
    }
    body["duration"] = *d;
  }
  if (auto services = args.Get("service")) body["services"] = SplitList(*services);
  if (auto envs = args.Get("env")) body["environments"] = SplitList(*envs);
  const std::optional<std::string> start = args.Get("start"), end = args.Get("end");
  if (start.has_value() != end.has_value()) {
    *error = "--start and --end go together (a one-off range, RFC 3339 times)";
    return std::nullopt;
  }
  if (start) body["ranges"].push_back({{"start", *start}, {"end", *end}});
  if (auto description = args.Get("description")) body["description"] = *description;
  if (auto suite = args.Get("smoke-suite")) body["smoke_suite"] = *suite;
  return body;
}

std::string Span(const Json& range) {
  if (!range.is_object()) return "-";
  const std::string start = FieldText(range, "start"), end = FieldText(range, "end");
  if (start.empty()) return "-";
  return ShortTime(start) + " .. " + ShortTime(end);
}

std::string Names(const Json& window, const char* field) {
  const Json* list = FindField(window, field);
  if (list == nullptr || !list->is_array() || list->empty()) return "all";
  std::string out;
  for (const Json& n : *list) out += (out.empty() ? "" : ",") + n.get<std::string>();
  return out;
}

// "Last smoke:   FAILED after 03-07 02:00 .. 03-07 04:00: smoke run ...: 0/1 checks passed; ..."
std::string LastSmokeText(const Json& holder) {
  const Json* last = FindField(holder, "last_smoke");
  if (last == nullptr || !last->is_object()) return "";
  const Json* occurrence = FindField(*last, "occurrence");
  return "Last smoke:   " + Paint(FieldText(*last, "state")) + " after " +
         (occurrence ? Span(*occurrence) : "-") + ": " + FieldText(*last, "summary") + "\n";
}

std::string WindowDetails(const Json& w) {
  std::ostringstream out;
  out << "Window:       " << FieldText(w, "name") << " (" << FieldText(w, "kind") << ")\n";
  if (!FieldText(w, "schedule").empty()) {
    out << "Schedule:     " << FieldText(w, "schedule") << " for " << FieldText(w, "duration")
        << " (" << FieldText(w, "time_zone") << ")\n";
  }
  if (const Json* ranges = FindField(w, "ranges"); ranges != nullptr && ranges->is_array()) {
    for (const Json& r : *ranges) out << "Range:        " << Span(r) << "\n";
  }
  out << "Covers:       services " << Names(w, "services") << "; environments "
      << Names(w, "environments") << "\n";
  const Json* current = FindField(w, "current");
  out << "Open now:     " << (current != nullptr ? Span(*current) : "no") << "\n";
  if (const Json* next = FindField(w, "next")) out << "Next:         " << Span(*next) << "\n";
  if (const Json* items = FindField(w, "checklist"); items != nullptr && items->is_array()) {
    for (const Json& i : *items) {
      out << "Checklist:    " << FieldText(i, "name") << " " << FieldText(i, "check")
          << (i.value("required", false) ? " (required)" : "") << "\n";
    }
  }
  if (!FieldText(w, "smoke_suite").empty()) {
    out << "Smoke suite:  " << FieldText(w, "smoke_suite") << " (run when each opening closes)\n";
  }
  out << LastSmokeText(w);
  return out.str();
}

std::string ChecklistText(const Json& c) {
  std::vector<std::vector<std::string>> rows;
  if (const Json* items = FindField(c, "items"); items != nullptr && items->is_array()) {
    for (const Json& i : *items) {
      const Json* item = FindField(i, "item");
      rows.push_back({item ? FieldText(*item, "name") : "", item ? FieldText(*item, "check") : "",
                      item && item->value("required", false) ? "yes" : "no",
                      Paint(FieldText(i, "state")), CellOrDash(FieldText(i, "reason"))});
    }
  }
  std::ostringstream out;
  const Json* occurrence = FindField(c, "occurrence");
  out << "Window " << FieldText(c, "window") << ", opening "
      << (occurrence ? Span(*occurrence) : "-") << ": verdict " << Paint(FieldText(c, "verdict"))
      << "\n";
  if (!rows.empty()) out << FormatTable({"ITEM", "CHECK", "REQUIRED", "STATE", "REASON"}, rows);
  out << LastSmokeText(c);
  return out.str();
}

int CreateWindow(Context& ctx) {
  std::string error;
  const std::optional<Json> body = WindowBody(ctx, &error);
  if (!body) return ctx.UsageError(error);
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  return ctx.Respond(client->Post("/v1/windows", DumpJson(*body)),
                     [&ctx](const Json& w) { ctx.out() << WindowDetails(w); });
}

int ListWindows(Context& ctx) {
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  std::string query;
  if (auto s = ctx.args().Get("service")) query += "service=" + UrlEscape(*s);
  if (auto e = ctx.args().Get("env")) query += (query.empty() ? "" : "&") + ("environment=" + UrlEscape(*e));
  return ctx.Respond(client->Get("/v1/windows" + (query.empty() ? "" : "?" + query)), [&ctx](const Json& page) {
    const Json* windows = FindField(page, "windows");
    if (windows == nullptr || !windows->is_array() || windows->empty()) {
      ctx.out() << "No windows. Create one: fdctl window create NAME --kind maintenance "
                   "--schedule \"0 2 * * SUN\" --duration 2h\n";
      return;
    }
    std::vector<std::vector<std::string>> rows;
    for (const Json& w : *windows) {
      const Json* current = FindField(w, "current");
      const Json* next = FindField(w, "next");
      rows.push_back({FieldText(w, "name"), FieldText(w, "kind"),
                      CellOrDash(FieldText(w, "schedule")), Names(w, "services"),
                      Names(w, "environments"), current ? "open" : "closed",
                      next ? Span(*next) : "-"});
    }
    ctx.out() << FormatTable({"NAME", "KIND", "SCHEDULE", "SERVICES", "ENVIRONMENTS", "NOW", "NEXT"}, rows);
  });
}

int GetWindow(Context& ctx) {
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  return ctx.Respond(client->Get(WindowPath(ctx.operands().front())),
                     [&ctx](const Json& w) { ctx.out() << WindowDetails(w); });
}

int DeleteWindow(Context& ctx) {
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  const std::string& name = ctx.operands().front();
  return ctx.Respond(client->Delete(WindowPath(name)),
                     [&ctx, &name](const Json&) { ctx.out() << "Deleted window " << name << ".\n"; });
}

int NextWindow(Context& ctx) {
  const std::optional<std::string> service = ctx.args().Get("service"), env = ctx.args().Get("env");
  if (!service || !env) return ctx.UsageError("--service and --env are required");
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  return ctx.Respond(
      client->Get("/v1/windows/next?service=" + UrlEscape(*service) + "&environment=" + UrlEscape(*env)),
      [&](const Json& n) {
        const std::string opens = ShortTime(FieldText(n, "opens_at"));
        const std::string closes = ShortTime(FieldText(n, "closes_at"));
        const std::string what = "Changes to " + *service + " in " + *env;
        if (n.value("open", false)) {
          ctx.out() << what << " may go out now" << (closes.empty() ? "" : ", until " + closes) << ".\n";
        } else if (!opens.empty()) {
          ctx.out() << what << " may next go out at " << opens
                    << (closes.empty() ? "" : " (until " + closes + ")") << ".\n";
        } else {
          ctx.out() << what << " may not go out within a year.\n";
        }
        if (!FieldText(n, "required_window").empty()) {
          ctx.out() << "Required window: " << FieldText(n, "required_window") << "\n";
        }
        if (!FieldText(n, "reason").empty()) ctx.out() << "Why not now: " << FieldText(n, "reason") << "\n";
        if (const Json* checklist = FindField(n, "checklist"); checklist != nullptr && checklist->is_object()) {
          ctx.out() << "Checklist:   " << Paint(FieldText(*checklist, "verdict"))
                    << " (fdctl window checklist " << FieldText(n, "required_window") << ")\n";
        }
      });
}

int ShowChecklist(Context& ctx) {
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  std::string query;
  auto add = [&query](const std::string& key, const std::optional<std::string>& value) {
    if (value) query += (query.empty() ? "?" : "&") + key + "=" + UrlEscape(*value);
  };
  add("service", ctx.args().Get("service"));
  add("environment", ctx.args().Get("env"));
  add("commit_sha", ctx.args().Get("commit"));
  return ctx.Respond(client->Get(WindowPath(ctx.operands().front()) + "/checklist" + query),
                     [&ctx](const Json& c) { ctx.out() << ChecklistText(c); });
}

int Tick(Context& ctx) {
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  Json body = Json::object();
  if (auto note = ctx.args().Get("note")) body["note"] = *note;
  return ctx.Respond(client->Post(WindowPath(ctx.operands()[0]) + "/checklist/" +
                                      UrlEscape(ctx.operands()[1]) + "/tick",
                                  DumpJson(body)),
                     [&ctx](const Json& c) { ctx.out() << ChecklistText(c); });
}

}  // namespace

void AddWindowCommands(CommandTable& table) {
  table.Add(Command{{"window", "create"},
                    "NAME",
                    "Define a maintenance window (changes only inside it, where an environment "
                    "requires it) or a freeze (no releases inside it)",
                    {{"kind", "K", "maintenance or freeze"},
                     {"schedule", "CRON",
                      "when it opens: 5-field cron (\"0 2 * * SUN\") or \"first tuesday 03:00\""},
                     {"duration", "D", "how long each opening lasts, e.g. 2h"},
                     {"tz", "ZONE", "IANA time zone of the schedule (default UTC)"},
                     {"service", "S", "services it covers, comma-separated (default all)"},
                     {"env", "E", "environments it covers, comma-separated (default all)"},
                     {"start", "TIME", "a one-off range's start (RFC 3339), with --end"},
                     {"end", "TIME", "a one-off range's end (RFC 3339)"},
                     {"description", "TEXT", "what it is for"},
                     {"smoke-suite", "SUITE",
                      "a saved smoke suite run when each opening closes (maintenance only); a "
                      "failure opens an incident"},
                     {"file", "F", "the window as JSON (e.g. with its checklist); flags override"}},
                    1,
                    1,
                    CreateWindow});
  table.Add(Command{{"window", "list"},
                    "",
                    "List windows and freezes with their next opening",
                    {{"service", "S", "only windows covering this service"},
                     {"env", "E", "only windows covering this environment"}},
                    0,
                    0,
                    ListWindows});
  table.Add(Command{{"window", "get"}, "NAME", "Show a window and its openings", {}, 1, 1, GetWindow});
  table.Add(Command{{"window", "delete"}, "NAME", "Delete a window or freeze", {}, 1, 1, DeleteWindow});
  table.Add(Command{{"window", "next"},
                    "",
                    "When changes to a service in an environment may next go out",
                    {{"service", "S", "the service", true}, {"env", "E", "the environment", true}},
                    0,
                    0,
                    NextWindow});
  table.Add(Command{{"window", "checklist"},
                    "NAME",
                    "Evaluate a window's checklist for its current or next opening",
                    {{"service", "S", "judge service items for this service"},
                     {"env", "E", "and this environment"},
                     {"commit", "SHA", "judge STAGING_SUCCEEDED for this commit"}},
                    1,
                    1,
                    ShowChecklist});
  table.Add(Command{{"window", "tick"},
                    "NAME ITEM",
                    "Tick a manual checklist item for the window's current or next opening",
                    {{"note", "TEXT", "what was done"}},
                    2,
                    2,
                    Tick});
}

}  // namespace flightdeck::cli
