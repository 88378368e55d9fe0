#include "cli/incident_request.h"

#include <cctype>
#include <ctime>
#include <vector>

namespace flightdeck::cli {
namespace {

std::optional<Json> Fail(std::string* error, std::string message) {
  *error = std::move(message);
  return std::nullopt;
}

std::string Upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool AllDigits(std::string_view text) {
  return !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
}

}  // namespace

std::optional<std::string> ParseSeverity(std::string_view text) {
  std::string upper = Upper(text);
  if (upper.rfind("SEV", 0) == 0) upper = upper.substr(3);
  if (upper.size() == 1 && upper[0] >= '1' && upper[0] <= '4') return "SEV" + upper;
  return std::nullopt;
}

std::optional<std::string> ParseIncidentState(std::string_view text) {
  if (Upper(text) == "OPEN") return std::string("open");
  const std::string upper = Upper(text);
  for (const char* state : {"TRIGGERED", "ACKNOWLEDGED", "RESOLVED", "CLOSED"}) {
    if (upper == state) return upper;
  }
  return std::nullopt;
}

bool IsIsoWeek(std::string_view text) {
  if (text.size() != 8 || text[4] != '-' || text[5] != 'W') return false;
  if (!AllDigits(text.substr(0, 4)) || !AllDigits(text.substr(6, 2))) return false;
  const int week = std::stoi(std::string(text.substr(6, 2)));
  return week >= 1 && week <= 53;
}

std::optional<std::string> ParseDueDate(std::string_view text) {
  if (text.size() == 10 && text[4] == '-' && text[7] == '-' && AllDigits(text.substr(0, 4)) &&
      AllDigits(text.substr(5, 2)) && AllDigits(text.substr(8, 2))) {
    const int month = std::stoi(std::string(text.substr(5, 2)));
    const int day = std::stoi(std::string(text.substr(8, 2)));
    if (month < 1 || month > 12 || day < 1 || day > 31) return std::nullopt;
    return std::string(text) + "T00:00:00Z";
  }
  // A full time: the server validates it and names the field if it is wrong.
  if (text.size() > 10 && text[10] == 'T') return std::string(text);
  return std::nullopt;
}

std::optional<long long> ParseDurationSeconds(std::string_view text) {
  long long total = 0;
  size_t i = 0;
  if (text.empty()) return std::nullopt;
  while (i < text.size()) {
    size_t j = i;
    while (j < text.size() && std::isdigit(static_cast<unsigned char>(text[j]))) ++j;
    if (j == i || j == text.size() || j - i > 9) return std::nullopt;
    const long long n = std::stoll(std::string(text.substr(i, j - i)));
    switch (text[j]) {
      case 's': total += n; break;
      case 'm': total += n * 60; break;
      case 'h': total += n * 3600; break;
      case 'd': total += n * 86400; break;
      default: return std::nullopt;
    }
    i = j + 1;
  }
  if (total <= 0) return std::nullopt;
  return total;
}

std::optional<Json> ParseMatcher(std::string_view text) {
  const size_t at = text.find_first_of("=!");
  if (at == 0 || at == std::string_view::npos) return std::nullopt;
  const std::string_view rest = text.substr(at);
  std::string op = "=";
  for (const char* two : {"!=", "!~", "=~"}) {
    if (rest.rfind(two, 0) == 0) op = two;
  }
  if (op == "=" && rest[0] != '=') return std::nullopt;
  Json matcher = Json::object();
  matcher["name"] = std::string(text.substr(0, at));
  matcher["value"] = std::string(rest.substr(op.size()));
  matcher["op"] = op;
  return matcher;
}

std::string Rfc3339(long long unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

std::optional<Json> DeclareIncidentBody(const ParsedArgs& args, std::string* error) {
  Json body = Json::object();
  body["title"] = args.Get("title").value_or("");
  const std::string severity = args.Get("severity").value_or("");
  const std::optional<std::string> sev = ParseSeverity(severity);
  if (!sev) return Fail(error, "--severity '" + severity + "' is not one of SEV1, SEV2, SEV3, SEV4");
  body["severity"] = *sev;
  body["service"] = args.Get("service").value_or("");
  if (auto environment = args.Get("environment")) body["environment"] = *environment;
  return body;
}

std::optional<Json> ParseReviewAction(std::string_view text, std::string* error) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t bar = text.find('|', start);
    parts.emplace_back(text.substr(start, bar == std::string_view::npos ? std::string_view::npos : bar - start));
    if (bar == std::string_view::npos) break;
    start = bar + 1;
  }
  const std::string quoted = "--action '" + std::string(text) + "'";
  if (parts.size() < 2 || parts.size() > 3) {
    return Fail(error, quoted + " is not TITLE|OWNER or TITLE|OWNER|DUE (e.g. 'rotate the key|ana|2026-12-01')");
  }
  if (parts[0].empty()) return Fail(error, quoted + " has no title before the first |");
  if (parts[1].empty()) return Fail(error, quoted + " has no owner after the first |");
  Json action = Json::object();
  action["title"] = parts[0];
  action["owner"] = parts[1];
  if (parts.size() == 3 && !parts[2].empty()) {
    const std::optional<std::string> due = ParseDueDate(parts[2]);
    if (!due) return Fail(error, quoted + ": due '" + parts[2] + "' is not a date like 2026-12-01");
    action["due"] = *due;
  }
  return action;
}

std::optional<Json> ReviewBody(const ParsedArgs& args, std::string* error) {
  Json body = Json::object();
  body["summary"] = args.Get("summary").value_or("");
  body["impact"] = args.Get("impact").value_or("");
  body["root_cause"] = args.Get("root-cause").value_or("");
  if (auto notes = args.Get("timeline-notes")) body["timeline_notes"] = *notes;
  Json actions = Json::array();
  for (const std::string& text : args.GetAll("action")) {
    std::optional<Json> action = ParseReviewAction(text, error);
    if (!action) return std::nullopt;
    actions.push_back(std::move(*action));
  }
  if (!actions.empty()) body["actions"] = std::move(actions);
  return body;
}

std::optional<Json> ActionBody(const ParsedArgs& args, std::string* error) {
  const std::string due_text = args.Get("due").value_or("");
  const std::optional<std::string> due = ParseDueDate(due_text);
  if (!due) return Fail(error, "--due '" + due_text + "' is not a date like 2026-12-01");
  Json body = Json::object();
  body["title"] = args.Get("title").value_or("");
  body["owner"] = args.Get("owner").value_or("");
  body["due"] = *due;
  return body;
}

std::optional<Json> SilenceBody(const ParsedArgs& args, std::chrono::system_clock::time_point now,
                                std::string* error) {
  Json matchers = Json::array();
  for (const std::string& text : args.GetAll("matcher")) {
    std::optional<Json> matcher = ParseMatcher(text);
    if (!matcher) {
      return Fail(error, "--matcher '" + text + "' is not NAME=VALUE (or !=, =~, !~)");
    }
    matchers.push_back(std::move(*matcher));
  }
  if (matchers.empty()) return Fail(error, "--matcher is required");
  const std::string duration_text = args.Get("duration").value_or("");
  const std::optional<long long> seconds = ParseDurationSeconds(duration_text);
  if (!seconds) return Fail(error, "--duration '" + duration_text + "' is not a duration like 2h or 30m");
  const long long start =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  Json body = Json::object();
  body["matchers"] = std::move(matchers);
  body["starts_at"] = Rfc3339(start);
  body["ends_at"] = Rfc3339(start + *seconds);
  if (auto comment = args.Get("comment")) body["comment"] = *comment;
  return body;
}

}  // namespace flightdeck::cli
