// fdctl release events ID [--watch]: a release's timeline, and following it to the end.
#include "cli/release_events.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <iostream>
#include <optional>
#include <set>

#include "cli/release_format.h"
#include "cli/release_prefix.h"
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

size_t OutputWidth(Context& ctx) {
  if (&ctx.out() != &std::cout || isatty(STDOUT_FILENO) != 1) return 0;
  if (const std::optional<std::string> columns = ctx.env()("COLUMNS")) {
    if (!columns->empty() && columns->size() < 6 &&
        columns->find_first_not_of("0123456789") == std::string::npos) {
      return std::stoul(*columns);
    }
  }
  winsize size{};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0) return size.ws_col;
  return 0;
}

bool WaitsForCallersVerification(const Json& release) {
  return FieldText(release, "state") == "VERIFYING" && FieldText(release, "smoke_suite").empty();
}

namespace {

constexpr std::chrono::milliseconds kWatchInterval{2000};
// A gateway restart or a blip of 503s should not end a watch a pipeline depends on; this
// many failed attempts in a row (about ten seconds) should.
constexpr int kWatchMaxFailures = 5;
constexpr int kPageSize = 200;
constexpr int kMaxPages = 1000;
constexpr char kStreamType[] = "application/x-ndjson";

// Worth another try: no answer at all, throttled, or the gateway/a service is unavailable.
bool IsTransient(const HttpResult& result) {
  return !result.reached || result.status == 429 || result.status >= 500;
}

// The same, for the error object that ends a stream whose upstream call failed.
bool IsTransientCode(const std::string& code) {
  return code == "UNAVAILABLE" || code == "DEADLINE_EXCEEDED" || code == "RESOURCE_EXHAUSTED" ||
         code == "ABORTED";
}

std::string AsWarning(const std::string& error) {
  return "warning: " + (error.rfind("error: ", 0) == 0 ? error.substr(7) : error);
}

// The state a STATE_CHANGED event moved the release to; "" for other events.
std::string StateReached(const Json& event) {
  if (FieldText(event, "type") != "STATE_CHANGED") return "";
  if (const Json* data = FindField(event, "data"); data != nullptr && data->is_object()) {
    const std::string to = FieldText(*data, "to");
    if (!to.empty()) return to;
  }
  // Events without data say it in their message: "CANARY -> VERIFYING: why".
  const std::string message = FieldText(event, "message");
  const size_t arrow = message.find(" -> ");
  if (arrow == std::string::npos) return "";
  const size_t start = arrow + 4;
  return message.substr(start, message.find_first_of(": ", start) - start);
}

// The error lines for a failed answer about release `id`.
std::string ErrorText(Context& ctx, const HttpResult& result, const std::string& id) {
  if (result.reached) {
    if (std::optional<std::string> text =
            FormatAmbiguousPrefix(result.status, result.body, id, ChooseLongerReleaseId(id))) {
      return *text;
    }
  }
  std::string error;
  ctx.ReadAnswer(result, &error);
  return error;
}

int ShowTimeline(Context& ctx, const HttpClient& client, const std::string& id) {
  Timeline timeline = FetchTimeline(client, id, kPageSize, kPageSize, kMaxPages);
  if (!timeline.ok) {
    ctx.err() << ErrorText(ctx, timeline.failed, id);
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
  const size_t width = OutputWidth(ctx);
  for (const Json& event : timeline.events) ctx.out() << FormatEventLine(event, width);
  return kExitOk;
}

// Follows one release until it ends or waits for the caller's verdict, printing each event
// once as it arrives. It streams GET /v1/releases/{id}/events?watch=true (NDJSON: the
// timeline, then each new event, ending when the release does) and falls back to polling
// every 2 s on a gateway that cannot stream. Events printed are remembered across reconnects
// and the fallback, since both start again from the beginning of the timeline.
class TimelineWatch {
 public:
  TimelineWatch(Context& ctx, const HttpClient& client, std::string id)
      : ctx_(ctx), client_(client), id_(std::move(id)), width_(OutputWidth(ctx)) {}

  // Exit code: 0 when the release SUCCEEDED or waits for the caller's verification, 1 when it
  // ended otherwise or could not be followed.
  int Run() {
    int failures = 0;
    for (;;) {
      std::string error;
      bool progressed = false;
      switch (StreamOnce(&error, &progressed)) {
        case Pass::kEnded:
          return Ended(*release_);
        case Pass::kWaiting:
          return Waiting(*release_);
        case Pass::kCannotStream:
          return Poll();
        case Pass::kFailed:
          ctx_.err() << error;
          return kExitError;
        case Pass::kRetry:
          if (progressed) failures = 0;
          if (++failures >= kWatchMaxFailures) {
            ctx_.err() << error;
            return kExitError;
          }
          ctx_.err() << AsWarning(error);
          ctx_.Sleep(kWatchInterval);
          break;
      }
    }
  }

 private:
  enum class Pass { kEnded, kWaiting, kCannotStream, kRetry, kFailed };

  std::string Path() const { return "/v1/releases/" + UrlEscape(id_); }

  // True when the event had not been printed before.
  bool Print(const Json& event) {
    std::string key = FieldText(event, "id");
    if (key.empty()) key = DumpJson(event);
    if (!printed_.insert(key).second) return false;
    if (ctx_.json()) {
      ctx_.out() << DumpJson(event) << "\n";  // one JSON document per line while watching
    } else {
      ctx_.out() << FormatEventLine(event, width_);
    }
    ctx_.out().flush();
    return true;
  }

  // Reads the release; on failure sets *error and whether trying again may help.
  std::optional<Json> ReadRelease(std::string* error, bool* transient) {
    const HttpResult answer = client_.Get(Path());
    std::optional<Json> release = ctx_.ReadAnswer(answer, error);
    if (!release) *error = ErrorText(ctx_, answer, id_);
    *transient = !release && IsTransient(answer);
    return release;
  }

  // A VERIFYING event says little about now: the timeline is replayed from the start, so the
  // release may have been verified long ago. The release itself decides.
  bool ReleaseWaitsForCaller() {
    std::string error;
    bool transient = false;
    std::optional<Json> release = ReadRelease(&error, &transient);
    if (!release) {
      ctx_.err() << AsWarning(error);
      return false;  // keep following: the stream goes on either way
    }
    if (!WaitsForCallersVerification(*release)) return false;
    release_ = std::move(release);
    return true;
  }

  Pass StreamOnce(std::string* error, bool* progressed) {
    std::optional<std::string> error_line;
    bool not_an_event = false;
    bool waiting = false;
    const StreamResult stream = client_.GetLines(
        Path() + "/events", {{"watch", "true"}}, kStreamType, [&](const std::string& line) {
          if (line.find_first_not_of(" \t") == std::string::npos) return true;  // keep-alive
          const Json value = Json::parse(line, nullptr, /*allow_exceptions=*/false);
          if (!value.is_object()) {
            not_an_event = true;
            return false;
          }
          if (const Json* e = FindField(value, "error"); e != nullptr && e->is_object()) {
            error_line = line;
            return false;
          }
          if (Print(value)) *progressed = true;
          if (StateReached(value) == "VERIFYING" && ReleaseWaitsForCaller()) {
            waiting = true;
            return false;
          }
          return true;
        });
    if (waiting) return Pass::kWaiting;
    if (not_an_event) {
      *error = "error: the gateway's event stream sent a line that is not a JSON object\n";
      return Pass::kFailed;
    }
    if (error_line) {
      *error = FormatError(stream.status, *error_line);
      const Json line = Json::parse(*error_line);
      return IsTransientCode(FieldText(*FindField(line, "error"), "code")) ? Pass::kRetry
                                                                           : Pass::kFailed;
    }
    if (!stream.reached && stream.streamed) {
      *error = "error: the event stream of release " + id_ +
               " broke off: " + stream.transport_error + "\n";
      return Pass::kRetry;
    }
    if (!stream.streamed) {
      // An older gateway refuses the watch parameter (400) or the route (404), or ignores it
      // and answers one page of JSON. A missing release is a 404 too: polling reports it.
      if (stream.reached && (stream.status == 400 || stream.status == 404 ||
                             (stream.status >= 200 && stream.status < 300))) {
        return Pass::kCannotStream;
      }
      ctx_.ReadAnswer(stream, error);
      return IsTransient(stream) ? Pass::kRetry : Pass::kFailed;
    }

    // The stream ended cleanly: the release ended, or something on the way closed it.
    bool transient = false;
    release_ = ReadRelease(error, &transient);
    if (!release_) return transient ? Pass::kRetry : Pass::kFailed;
    const std::string state = FieldText(*release_, "state");
    if (IsTerminalState(state)) return Pass::kEnded;
    if (WaitsForCallersVerification(*release_)) return Pass::kWaiting;
    *error = "error: the event stream ended while release " + id_ + " is " + state + "\n";
    return Pass::kRetry;
  }

  // Today's way, for gateways that cannot stream. The release is read before its events so
  // that the events of the final transition are printed before the loop ends.
  int Poll() {
    int failures = 0;
    for (;;) {
      std::string error;
      bool transient = false;
      std::optional<Json> release = ReadRelease(&error, &transient);
      Timeline timeline;
      if (release) {
        timeline = FetchTimeline(client_, id_, kPageSize, kPageSize, kMaxPages);
        if (!timeline.ok) {
          ctx_.ReadAnswer(timeline.failed, &error);
          transient = IsTransient(timeline.failed);
        }
      }
      if (!release || !timeline.ok) {
        if (!transient || ++failures >= kWatchMaxFailures) {
          ctx_.err() << error;
          return kExitError;
        }
        ctx_.err() << AsWarning(error);
        ctx_.Sleep(kWatchInterval);
        continue;
      }

      failures = 0;
      for (const Json& event : timeline.events) Print(event);
      if (IsTerminalState(FieldText(*release, "state"))) return Ended(*release);
      if (WaitsForCallersVerification(*release)) return Waiting(*release);
      ctx_.Sleep(kWatchInterval);
    }
  }

  std::string ReleaseId(const Json& release) const {
    const std::string id = FieldText(release, "id");
    return id.empty() ? id_ : id;
  }

  int Ended(const Json& release) {
    const std::string state = FieldText(release, "state");
    if (!ctx_.json()) {
      const std::string reason = FieldText(release, "outcome_reason");
      ctx_.out() << "release " << ReleaseId(release) << " is " << state
                 << (reason.empty() ? "" : ": " + reason) << "\n";
    }
    return state == "SUCCEEDED" ? kExitOk : kExitError;
  }

  // Nothing more happens until someone posts the verdict: waiting here would wait forever
  // (or until the verification deadline rolls the release back).
  int Waiting(const Json& release) {
    const std::string id = ReleaseId(release);
    std::string text = "release " + id +
                       " is VERIFYING: waiting for your verification: fdctl release verify " + id +
                       " --passed|--failed [--details TEXT]\n";
    const std::string deadline = FieldText(release, "verify_deadline");
    if (!deadline.empty()) {
      text += "without a verdict by " + ShortTime(deadline) + " it rolls back\n";
    }
    // --json keeps standard output to events, one JSON document per line.
    (ctx_.json() ? ctx_.err() : ctx_.out()) << text;
    return kExitOk;
  }

  Context& ctx_;
  const HttpClient& client_;
  const std::string id_;
  const size_t width_;
  std::set<std::string> printed_;
  std::optional<Json> release_;  // as last read, for kEnded and kWaiting
};

int ReleaseEvents(Context& ctx) {
  const HttpClient* client = ctx.client();
  if (client == nullptr) return kExitError;
  const std::string& id = ctx.operands().front();
  if (!ctx.args().Has("watch")) return ShowTimeline(ctx, *client, id);
  return TimelineWatch(ctx, *client, id).Run();
}

}  // namespace

void AddReleaseEventsCommand(CommandTable& table) {
  table.Add(Command{{"release", "events"},
                    "ID",
                    "Show a release's timeline, or follow it until the release ends",
                    {{"watch", "",
                      "print each event as it happens until the release is SUCCEEDED (exit 0) "
                      "or ROLLED_BACK, ABORTED or FAILED (exit 1), or stops to wait for "
                      "`fdctl release verify` (exit 0)"}},
                    1,
                    1,
                    ReleaseEvents});
}

}  // namespace flightdeck::cli
