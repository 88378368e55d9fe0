// fdctl release events ID [--watch]: a release's timeline, and following it to the end.
#include "cli/release_events.h"

#include <optional>
#include <ostream>
#include <set>

#include "cli/command.h"
#include "cli/release_format.h"
#include "cli/release_request.h"

namespace flightdeck::cli {

Timeline FetchTimeline(const HttpClient& client, const std::string& release_id, int first_page_size,
                       int page_size, int max_pages) {
  Timeline timeline;
  const std::string path = "/v1/releases/" + UrlEscape(release_id) + "/events";
  std::string token;
  for (int page = 0; page < max_pages; ++page) {
    Query query = {{"page_size", std::to_string(page == 0 ? first_page_size : page_size)}};
    if (!token.empty()) query.emplace_back("page_token", token);
    HttpResult result = client.Get(path, query);
    const Json body = result.reached && result.status >= 200 && result.status < 300
                          ? Json::parse(result.body, nullptr, /*allow_exceptions=*/false)
                          : Json(nullptr);
    if (!body.is_object()) {
      timeline.failed = std::move(result);
      return timeline;
    }
    if (const Json* events = FindField(body, "events"); events != nullptr && events->is_array()) {
      for (const Json& event : *events) timeline.events.push_back(event);
    }
    token = FieldText(body, "next_page_token");
    if (token.empty()) {
      timeline.complete = true;
      break;
    }
  }
  timeline.ok = true;
  return timeline;
}

namespace {

constexpr std::chrono::milliseconds kWatchInterval{2000};
// A gateway restart or a blip of 503s should not end a watch a pipeline depends on; this
// many failed polls in a row (about ten seconds) should.
constexpr int kWatchMaxFailures = 5;
constexpr int kPageSize = 200;
constexpr int kMaxPages = 1000;

// Worth another try: no answer at all, throttled, or the gateway/a service is unavailable.
bool IsTransient(const HttpResult& result) {
  return !result.reached || result.status == 429 || result.status >= 500;
}

void PrintEvent(Context& ctx, const Json& event) {
  if (ctx.json()) {
    ctx.out() << DumpJson(event) << "\n";  // one JSON document per line while watching
  } else {
    ctx.out() << FormatEventLine(event);
  }
  ctx.out().flush();
}

int ShowTimeline(Context& ctx, const HttpClient& client, const std::string& id) {
  Timeline timeline = FetchTimeline(client, id, kPageSize, kPageSize, kMaxPages);
  if (!timeline.ok) {
    std::string error;
    ctx.ReadAnswer(timeline.failed, &error);
    ctx.err() << error;
    return kExitError;
  }
  if (ctx.json()) {
    // The pages joined into one answer of the same shape.
    ctx.out() << DumpJson(Json{{"events", timeline.events}}, 2) << "\n";
    return kExitOk;
  }
  if (timeline.events.empty()) {
    ctx.out() << "No events.\n";
    return kExitOk;
  }
  for (const Json& event : timeline.events) ctx.out() << FormatEventLine(event);
  return kExitOk;
}

// Polls until the release reaches a terminal state, printing each event once. The release
// is read before its events so that the events of the final transition are printed before
// the loop ends. Exit code: 0 when it SUCCEEDED, 1 when it ended otherwise.
int WatchTimeline(Context& ctx, const HttpClient& client, const std::string& id) {
  std::set<std::string> printed;
  int failures = 0;
  for (;;) {
    std::string error;
    bool transient = false;
    const HttpResult answer = client.Get("/v1/releases/" + UrlEscape(id));
    const std::optional<Json> release = ctx.ReadAnswer(answer, &error);
    Timeline timeline;
    if (!release) {
      transient = IsTransient(answer);
    } else {
      timeline = FetchTimeline(client, id, kPageSize, kPageSize, kMaxPages);
      if (!timeline.ok) {
        ctx.ReadAnswer(timeline.failed, &error);
        transient = IsTransient(timeline.failed);
      }
    }
    if (!release || !timeline.ok) {
      if (!transient || ++failures >= kWatchMaxFailures) {
        ctx.err() << error;
        return kExitError;
      }
      ctx.err() << "warning: " << (error.rfind("error: ", 0) == 0 ? error.substr(7) : error);
      ctx.Sleep(kWatchInterval);
      continue;
    }

    failures = 0;
    for (const Json& event : timeline.events) {
      std::string key = FieldText(event, "id");
      if (key.empty()) key = DumpJson(event);
      if (printed.insert(key).second) PrintEvent(ctx, event);
    }
    const std::string state = FieldText(*release, "state");
    if (IsTerminalState(state)) {
      if (!ctx.json()) {
        const std::string reason = FieldText(*release, "outcome_reason");
        ctx.out() << "release " << id << " is " << state << (reason.empty() ? "" : ": " + reason)
                  << "\n";
      }
      return state == "SUCCEEDED" ? kExitOk : kExitError;
    }
    ctx.Sleep(kWatchInterval);
  }
}

int ReleaseEvents(Context& ctx) {
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  const std::string& id = ctx.operands().front();
  return ctx.args().Has("watch") ? WatchTimeline(ctx, *client, id) : ShowTimeline(ctx, *client, id);
}

}  // namespace

void AddReleaseEventsCommand(CommandTable& table) {
  table.Add(Command{{"release", "events"},
                    "ID",
                    "Show a release's timeline, or follow it until the release ends",
                    {{"watch", "",
                      "print new events every 2 s until the release is SUCCEEDED (exit 0) or "
                      "ROLLED_BACK, ABORTED or FAILED (exit 1)"}},
                    1,
                    1,
                    ReleaseEvents});
}

}  // namespace flightdeck::cli
