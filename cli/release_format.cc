#include "cli/release_format.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <optional>
#include <vector>

namespace flightdeck::cli {
namespace {

std::string Cell(std::string text) { return text.empty() ? std::string("-") : text; }

bool IsTrue(const Json& object, std::string_view name) {
  const Json* field = FindField(object, name);
  return field != nullptr && field->is_boolean() && field->get<bool>();
}

// "0" for an absent field; int32 fields arrive as numbers, int64 ones as strings.
long long NumberField(const Json& object, std::string_view name) {
  const Json* field = FindField(object, name);
  if (field == nullptr) return 0;
  if (field->is_number_integer()) return field->get<long long>();
  if (field->is_string()) {
    const std::string text = field->get<std::string>();
    if (!text.empty() && text.find_first_not_of("-0123456789") == std::string::npos) {
      return std::stoll(text);
    }
  }
  return 0;
}

const Json& EmptyObject() {
  static const Json kEmpty = Json::object();
  return kEmpty;
}

const Json& ObjectField(const Json& object, std::string_view name) {
  const Json* field = FindField(object, name);
  return field != nullptr && field->is_object() ? *field : EmptyObject();
}

size_t StepCount(const Json& release) {
  const Json* steps = FindField(ObjectField(release, "canary"), "steps");
  return steps != nullptr && steps->is_array() ? steps->size() : 0;
}

// "step 2 of 3 at 25% since 2026-03-01T12:10:00Z"; current_step counts from 0.
std::string StepText(const Json& release) {
  std::string text = std::to_string(NumberField(release, "current_step") + 1);
  if (const size_t total = StepCount(release); total > 0) text += " of " + std::to_string(total);
  text += " at " + std::to_string(NumberField(release, "current_weight")) + "%";
  const std::string since = FieldText(release, "step_started_at");
  if (!since.empty()) text += " since " + ShortTime(since);
  return text;
}

std::string NextActionText(const Json& action) {
  const std::string name = FieldText(action, "action");
  if (name.empty() || name == "none") return "none";
  std::string text = name;
  if (name == "canary" || FindField(action, "weight") != nullptr) {
    if (const long long weight = NumberField(action, "weight"); weight > 0 || name == "canary") {
      text += " " + std::to_string(weight) + "%";
    }
  }
  const std::string image = FieldText(action, "image");
  if (!image.empty()) text += " " + image;
  const std::string id = FieldText(action, "action_id");
  if (!id.empty()) text += " (action_id " + id + ")";
  return text;
}

// "5% for 600s, 25% for 600s, 100% for 0s"
std::string StepsText(const Json& steps) {
  std::string text;
  for (const Json& step : steps) {
    if (!text.empty()) text += ", ";
    text += std::to_string(NumberField(step, "weight")) + "%";
    const std::string duration = FieldText(step, "duration");
    if (!duration.empty()) text += " for " + duration;
  }
  return text;
}

// "interval=60s max_error_rate=0.05 ...": every setting the server sent, by its proto name.
std::string AnalysisText(const Json& analysis) {
  std::string text;
  for (auto it = analysis.begin(); it != analysis.end(); ++it) {
    if (it->is_null() || (it->is_string() && it->get<std::string>().empty())) continue;
    if (it->is_object() && it->empty()) continue;
    if (!text.empty()) text += " ";
    text += it.key() + "=" + (it->is_string() ? it->get<std::string>() : DumpJson(*it));
  }
  return text;
}

using Render = std::function<std::optional<std::string>(const Json& release)>;

struct Line {
  std::string label;
  std::vector<std::string> consumes;  // proto names this line accounts for
  Render render;
};

Render Plain(std::string name) {
  return [name](const Json& release) -> std::optional<std::string> {
    if (FindField(release, name) == nullptr) return std::nullopt;
    std::string text = FieldText(release, name);
    if (text.empty()) return std::nullopt;
    return text;
  };
}

Line Simple(std::string name) { return Line{name, {name}, Plain(name)}; }

Line OnlyWhenTrue(std::string name) {
  return Line{name, {name}, [name](const Json& r) -> std::optional<std::string> {
                if (!IsTrue(r, name)) return std::nullopt;
                return std::string("true");
              }};
}

bool InCanary(const Json& release) { return FieldText(release, "state") == "CANARY"; }

const std::vector<Line>& DetailLines() {
  static const std::vector<Line> kLines = {
      Simple("id"),
      Simple("kind"),
      Simple("service"),
      Simple("environment"),
      Simple("version"),
      Simple("commit_sha"),
      Simple("image"),
      Simple("previous_image"),
      {"state", {"state"}, [](const Json& r) -> std::optional<std::string> {
         std::optional<std::string> state = Plain("state")(r);
         return state ? std::optional<std::string>(Paint(*state)) : std::nullopt;
       }},
      {"step",
       {"current_step", "current_weight", "step_started_at"},
       [](const Json& r) -> std::optional<std::string> {
         if (!InCanary(r)) return std::nullopt;
         return StepText(r);
       }},
      {"paused",
       {"paused"},
       [](const Json& r) -> std::optional<std::string> {
         if (IsTrue(r, "paused")) {
           return std::string("true (the analysis hit its inconclusive limit: promote or abort)");
         }
         if (!InCanary(r)) return std::nullopt;
         return std::string("false");
       }},
      {"analysis_streak",
       {"fail_streak", "inconclusive_streak"},
       [](const Json& r) -> std::optional<std::string> {
         if (!InCanary(r)) return std::nullopt;
         return std::to_string(NumberField(r, "fail_streak")) + " fail, " +
                std::to_string(NumberField(r, "inconclusive_streak")) + " inconclusive";
       }},
      {"next_analysis",
       {"next_analysis_at", "last_analysis_at"},
       [](const Json& r) -> std::optional<std::string> {
         const std::string at = FieldText(r, "next_analysis_at");
         if (!InCanary(r) || IsTrue(r, "paused") || at.empty()) return std::nullopt;
         return ShortTime(at);
       }},
      {"verify_deadline",
       {"verify_deadline"},
       [](const Json& r) -> std::optional<std::string> {
         const std::string at = FieldText(r, "verify_deadline");
         if (FieldText(r, "state") != "VERIFYING" || at.empty()) return std::nullopt;
         return ShortTime(at);
       }},
      OnlyWhenTrue("promote_requested"),
      OnlyWhenTrue("abort_requested"),
      // The optimistic-locking counter: nothing an operator acts on (--json shows it).
      {"revision", {"revision"}, [](const Json&) { return std::optional<std::string>(); }},
      {"next_action",
       {"next_action"},
       [](const Json& r) -> std::optional<std::string> {
         const Json* action = FindField(r, "next_action");
         if (action == nullptr || !action->is_object()) return std::nullopt;
         return NextActionText(*action);
       }},
      Simple("outcome_reason"),
      Simple("require_approval"),
      Simple("approved_by"),
      {"driver",
       {"driver"},
       [](const Json& r) -> std::optional<std::string> {
         const std::string kind = FieldText(ObjectField(r, "driver"), "kind");
         if (kind.empty()) return std::nullopt;
         return kind;
       }},
      {"canary",
       {"canary"},
       [](const Json& r) -> std::optional<std::string> {
         const Json* steps = FindField(ObjectField(r, "canary"), "steps");
         if (steps == nullptr || !steps->is_array() || steps->empty()) return std::nullopt;
         return StepsText(*steps);
       }},
      {"analysis",
       {},
       [](const Json& r) -> std::optional<std::string> {
         const std::string text = AnalysisText(ObjectField(ObjectField(r, "canary"), "analysis"));
         if (text.empty()) return std::nullopt;
         return text;
       }},
      {"queued",
       {"queued"},
       [](const Json& r) -> std::optional<std::string> {
         if (!IsTrue(r, "queued")) return std::nullopt;
         return std::string("true (waiting for the release in flight)");
       }},
      Simple("rollback_target_id"),
      Simple("created_by"),
      Simple("created_at"),
      Simple("updated_at"),
      Simple("finished_at"),
      Simple("trace_id"),
  };
  return kLines;
}

std::vector<std::string> ReleaseRow(const std::string& role, const Json* release) {
  if (release == nullptr || !release->is_object()) return {role, "-", "-", "-", "-", "-", "-"};
  const std::string state = FieldText(*release, "state");
  const std::string weight =
      state == "CANARY" ? std::to_string(NumberField(*release, "current_weight")) + "%" : "";
  return {role,
          Cell(FieldText(*release, "id")),
          Cell(FieldText(*release, "version")),
          Cell(ShortCommit(FieldText(*release, "commit_sha"))),
          Paint(Cell(state)),
          Cell(weight),
          Cell(ShortTime(FieldText(*release, "updated_at")))};
}

// Terminal columns a UTF-8 text takes, counting each code point as one (what the timeline
// holds: ASCII names and numbers, messages in any language).
size_t Columns(std::string_view text) {
  size_t columns = 0;
  for (unsigned char ch : text) columns += (ch & 0xC0) != 0x80 ? 1 : 0;
  return columns;
}

// The first `columns` code points of `text`, in bytes.
size_t BytesOfColumns(std::string_view text, size_t columns) {
  size_t i = 0;
  for (size_t seen = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80 && seen++ == columns) break;
  }
  return i;
}

void TrimRight(std::string& text) { text.erase(text.find_last_not_of(' ') + 1); }

// A continuation indent that leaves this many columns for the text; below it, text wraps
// under a short indent instead of in a narrow column.
constexpr size_t kMinTextColumns = 30;
const std::string kShortIndent = "    ";

std::string HangingIndent(size_t prefix_columns, size_t width) {
  if (width != 0 && width < prefix_columns + kMinTextColumns) return kShortIndent;
  return std::string(prefix_columns, ' ');
}

}  // namespace

std::string WrapText(const std::string& first_prefix, const std::string& text,
                     const std::string& indent, size_t width) {
  std::string line = first_prefix + text;
  if (width == 0 || Columns(line) <= width) {
    TrimRight(line);
    return line + "\n";
  }
  // A continuation line has room for at least a few columns, however narrow the terminal.
  const size_t indent_columns = Columns(indent);
  width = std::max(width, indent_columns + 8);
  std::string out;
  line = first_prefix;
  size_t used = Columns(first_prefix);
  bool has_text = false;
  auto next_line = [&] {
    TrimRight(line);
    out += line + "\n";
    line = indent;
    used = indent_columns;
    has_text = false;
  };
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(' ', start);
    if (end == std::string::npos) end = text.size();
    std::string word = text.substr(start, end - start);
    start = end + 1;
    if (word.empty()) continue;
    for (;;) {
      const size_t gap = has_text ? 1 : 0;
      const size_t columns = Columns(word);
      if (used + gap + columns <= width) break;
      const size_t room = width > used + gap ? width - used - gap : 0;
      if (columns <= width - indent_columns || room < 8) {
        next_line();  // the word fits on a line of its own, or too little is left here
        if (columns <= width - indent_columns) break;
        continue;
      }
      // A word longer than any line (a URL, compact JSON): as much as fits, then the rest.
      const size_t cut = BytesOfColumns(word, room);
      line += (has_text ? " " : "") + word.substr(0, cut);
      word.erase(0, cut);
      next_line();
    }
    if (has_text) line += ' ';
    line += word;
    used += (has_text ? 1 : 0) + Columns(word);
    has_text = true;
  }
  TrimRight(line);
  if (!line.empty() || out.empty()) out += line + "\n";
  return out;
}

std::string FormatReleaseTable(const Json& releases) {
  std::vector<std::vector<std::string>> rows;
  if (releases.is_array()) {
    for (const Json& r : releases) {
      rows.push_back({Cell(FieldText(r, "id")), Cell(FieldText(r, "service")),
                      Cell(FieldText(r, "environment")), Cell(FieldText(r, "kind")),
                      Cell(FieldText(r, "version")), Cell(ShortCommit(FieldText(r, "commit_sha"))),
                      Paint(Cell(FieldText(r, "state"))), Cell(ShortTime(FieldText(r, "created_at")))});
    }
  }
  return FormatTable({"ID", "SERVICE", "ENV", "KIND", "VERSION", "COMMIT", "STATE", "CREATED"},
                     rows);
}

std::string FormatReleaseDetails(const Json& release, size_t width) {
  std::string out;
  std::vector<std::string> consumed;
  const auto add = [&out, width](const std::string& label, const std::string& text) {
    out += WrapText(label + ": ", OneLine(text, std::string::npos),
                    HangingIndent(label.size() + 2, width), width);
  };
  for (const Line& line : DetailLines()) {
    if (std::optional<std::string> text = line.render(release)) add(line.label, *text);
    for (const std::string& name : line.consumes) {
      consumed.push_back(name);
      consumed.push_back(CamelCase(name));
    }
  }
  if (release.is_object()) {
    for (auto it = release.begin(); it != release.end(); ++it) {
      if (std::find(consumed.begin(), consumed.end(), it.key()) != consumed.end()) continue;
      add(it.key(), it->is_string() ? it->get<std::string>() : DumpJson(*it));
    }
  }
  return out;
}

namespace {

std::string EventLine(const Json& event, const std::string& margin, size_t width) {
  std::string type = Cell(FieldText(event, "type"));
  // STATE_CHANGED, the longest type the releases service writes, sets the column.
  if (type.size() < 13) type.resize(13, ' ');
  std::string message = OneLine(FieldText(event, "message"), std::string::npos);
  if (message.empty()) {
    const Json* data = FindField(event, "data");
    if (data != nullptr && !data->is_null() && !data->empty()) message = DumpJson(*data);
  }
  // Padded to "flightdeck", the actor of everything the pipeline decides by itself.
  std::string actor = Cell(FieldText(event, "actor"));
  if (actor.size() < 10) actor.resize(10, ' ');
  const std::string prefix =
      margin + Cell(ShortTime(FieldText(event, "at"))) + "  " + type + "  " + actor + "  ";
  std::string indent = HangingIndent(Columns(prefix), width);
  if (indent == kShortIndent) indent = margin + kShortIndent;
  return WrapText(prefix, message, indent, width);
}

}  // namespace

std::string FormatEventLine(const Json& event, size_t width) { return EventLine(event, "", width); }

std::string FormatEventsSection(const Json& events, const std::string& release_id, long long total,
                                size_t width) {
  const size_t shown = events.is_array() ? events.size() : 0;
  if (shown == 0) return "events: none\n";
  std::string out;
  if (total >= 0 && static_cast<size_t>(total) <= shown) {
    out = "events:\n";
  } else {
    out = "events (last " + std::to_string(shown) +
          (total >= 0 ? " of " + std::to_string(total) : std::string()) +
          "; all: fdctl release events " + release_id + "):\n";
  }
  for (const Json& event : events) out += EventLine(event, "  ", width);
  return out;
}

std::string FormatServiceEnvironment(const Json& service_environment) {
  const Json& se = service_environment;
  std::string out = "service: " + Cell(FieldText(se, "service")) + "\n" +
                    "environment: " + Cell(FieldText(se, "environment")) + "\n\n";
  out += FormatTable({"ROLE", "ID", "VERSION", "COMMIT", "STATE", "WEIGHT", "UPDATED"},
                     {ReleaseRow("current", FindField(se, "current")),
                      ReleaseRow("in flight", FindField(se, "in_flight"))});
  out += "\nqueued: " + std::to_string(NumberField(se, "queued")) + "\n";
  return out;
}

}  // namespace flightdeck::cli
