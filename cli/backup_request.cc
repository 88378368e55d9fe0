#include "cli/backup_request.h"

#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "cli/release_request.h"

namespace flightdeck::cli {
namespace {

constexpr std::array<std::string_view, 5> kStates = {"PENDING", "RUNNING", "SUCCEEDED", "FAILED",
                                                     "DELETED"};

// The server stores keep_last and keep_days as int32.
constexpr int64_t kMaxInt32 = 2147483647;

std::optional<Json> Fail(std::string* error, std::string message) {
  if (error != nullptr) *error = std::move(message);
  return std::nullopt;
}

// "7d" is how people say an RPO; ParseDuration stops at hours.
std::optional<std::string> ParseRpo(std::string_view text) {
  if (text.size() > 1 && text.back() == 'd') {
    const std::optional<int64_t> days = ParseCount(text.substr(0, text.size() - 1), 36500);
    if (!days) return std::nullopt;
    return std::to_string(*days * 86400) + "s";
  }
  return ParseDuration(text);
}

bool IsZeroDuration(const std::string& proto_duration) {
  return proto_duration.find_first_not_of("0.s") == std::string::npos;
}

}  // namespace

std::optional<Json> CreateBackupTargetBody(const std::string& name, const std::string& database_url,
                                           const ParsedArgs& args, std::string* error) {
  if (name.empty()) return Fail(error, "NAME must not be empty");
  if (database_url.empty()) return Fail(error, "--database-url must not be empty");
  if (database_url.rfind("postgres://", 0) != 0 && database_url.rfind("postgresql://", 0) != 0) {
    return Fail(error, "--database-url must be a postgres:// or postgresql:// URL");
  }
  Json body = Json::object();
  body["name"] = name;
  body["database_url"] = database_url;

  const std::string path = args.Get("path").value_or("");
  // The directory is on the backups service's machine, so fdctl cannot resolve a relative one.
  if (path.empty() || path.front() != '/') {
    return Fail(error, "--path must be an absolute directory on the backups service's machine");
  }
  body["storage"] = Json{{"kind", "LOCAL"}, {"path", path}};

  if (auto schedule = args.Get("schedule")) {
    // Five fields: the server checks each one and names the bad field; here only the shape.
    size_t fields = 0;
    bool in_field = false;
    for (char ch : *schedule) {
      const bool blank = std::isspace(static_cast<unsigned char>(ch)) != 0;
      if (!blank && !in_field) ++fields;
      in_field = !blank;
    }
    if (!schedule->empty() && fields != 5) {
      return Fail(error,
                  "--schedule must be a 5-field cron expression in UTC, e.g. \"0 3 * * *\" "
                  "(quote it), not '" +
                      *schedule + "'");
    }
    body["schedule"] = *schedule;
  }

  Json retention = Json::object();
  if (auto keep_last = args.Get("keep-last")) {
    const std::optional<int64_t> n = ParseCount(*keep_last, kMaxInt32);
    if (!n || *n == 0) return Fail(error, "--keep-last must be a whole number of at least 1");
    retention["keep_last"] = *n;
  }
  if (auto keep_days = args.Get("keep-days")) {
    const std::optional<int64_t> n = ParseCount(*keep_days, kMaxInt32);
    if (!n || *n == 0) return Fail(error, "--keep-days must be a whole number of at least 1");
    retention["keep_days"] = *n;
  }
  if (!retention.empty()) body["retention"] = retention;

  if (auto rpo = args.Get("rpo")) {
    const std::optional<std::string> duration = ParseRpo(*rpo);
    if (!duration || IsZeroDuration(*duration)) {
      return Fail(error,
                  "--rpo must be a positive duration like 24h, 90m or 7d, not '" + *rpo + "'");
    }
    body["rpo_target"] = *duration;
  }
  if (args.Has("no-verify")) body["verify_after_backup"] = false;
  return body;
}

Json RestoreBackupBody(const std::string& target_database, const std::string& confirm,
                       bool overwrite) {
  Json body = Json::object();
  body["target_database"] = target_database;
  body["confirm"] = confirm;
  if (overwrite) body["overwrite"] = true;
  return body;
}

std::optional<std::string> ParseBackupState(std::string_view text) {
  std::string name;
  for (char ch : text)
    name.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(ch))));
  for (std::string_view state : kStates) {
    if (state == name) return name;
  }
  return std::nullopt;
}

bool IsTerminalBackupState(std::string_view state) {
  return state == "SUCCEEDED" || state == "FAILED" || state == "DELETED";
}

std::optional<int64_t> Int64Field(const Json& object, std::string_view proto_name) {
  const Json* field = FindField(object, proto_name);
  if (field == nullptr) return std::nullopt;
  if (field->is_number_integer()) return field->get<int64_t>();
  if (!field->is_string()) return std::nullopt;
  const std::string& text = field->get_ref<const std::string&>();
  const std::string_view digits =
      !text.empty() && text.front() == '-' ? std::string_view(text).substr(1) : text;
  if (digits.empty() || digits.size() > 18 ||
      digits.find_first_not_of("0123456789") != std::string_view::npos) {
    return std::nullopt;
  }
  return std::stoll(text);
}

std::string FormatBytes(int64_t bytes) {
  constexpr std::array<const char*, 6> kUnits = {"B", "kB", "MB", "GB", "TB", "PB"};
  if (bytes < 1000) return std::to_string(bytes) + " B";
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 999.95 && unit + 1 < kUnits.size()) {
    value /= 1000;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, value < 99.95 ? "%.1f %s" : "%.0f %s", value, kUnits[unit]);
  return text;
}

std::string HumanDuration(std::string_view proto_duration) {
  const std::string text(proto_duration);
  if (text.size() < 2 || text.back() != 's') return text;
  char* end = nullptr;
  const double seconds = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() - 1 || !std::isfinite(seconds)) return text;
  if (seconds < 0) return "-" + HumanDuration(text.substr(1));
  if (seconds < 1) {
    return seconds == 0 ? "0s" : std::to_string(std::llround(seconds * 1000)) + "ms";
  }
  if (seconds < 60) {
    char out[16];
    std::snprintf(out, sizeof out, "%.1fs", seconds);
    std::string s = out;
    if (s.size() > 3 && s.compare(s.size() - 3, 3, ".0s") == 0) s.erase(s.size() - 3, 2);
    return s;
  }
  long long whole = std::llround(seconds);
  const long long hours = whole / 3600;
  const long long minutes = whole / 60 % 60;
  const long long secs = whole % 60;
  std::string out;
  if (hours > 0) out += std::to_string(hours) + "h";
  if (minutes > 0) out += std::to_string(minutes) + "m";
  if (secs > 0) out += std::to_string(secs) + "s";
  return out;
}

}  // namespace flightdeck::cli
