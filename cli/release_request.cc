#include "cli/release_request.h"

#include <array>
#include <cctype>
#include <cmath>
#include <cstdlib>

namespace flightdeck::cli {
namespace {

constexpr std::array<std::string_view, 11> kStates = {
    "PENDING",   "AWAITING_APPROVAL", "CANARY",       "PROMOTING",   "VERIFYING", "BAKING",
    "SUCCEEDED", "ROLLING_BACK",      "ROLLED_BACK",  "ABORTED",     "FAILED"};

// google.protobuf.Duration's own limit (10000 years).
constexpr __int128 kMaxDurationNanos = static_cast<__int128>(315576000000) * 1000000000;

std::optional<Json> Fail(std::string* error, std::string message) {
  if (error != nullptr) *error = std::move(message);
  return std::nullopt;
}

std::string FormatDurationNanos(__int128 nanos) {
  const auto seconds = static_cast<long long>(nanos / 1000000000);
  auto fraction = static_cast<long long>(nanos % 1000000000);
  std::string out = std::to_string(seconds);
  if (fraction != 0) {
    std::string digits = std::to_string(fraction);
    digits.insert(0, 9 - digits.size(), '0');
    // The canonical JSON form has 3, 6 or 9 fractional digits.
    while (digits.size() > 3 && digits.compare(digits.size() - 3, 3, "000") == 0) {
      digits.resize(digits.size() - 3);
    }
    out += "." + digits;
  }
  return out + "s";
}

// An optional fraction of the maximum: "0.05" or "5%".
std::optional<double> ParseFraction(std::string_view text) {
  const bool percent = !text.empty() && text.back() == '%';
  if (percent) text.remove_suffix(1);
  std::optional<double> value = ParseNonNegativeNumber(text);
  if (!value) return std::nullopt;
  if (percent) *value /= 100;
  if (*value > 1) return std::nullopt;
  return value;
}

}  // namespace

std::optional<std::string> ParseDuration(std::string_view text) {
  if (text == "0") return "0s";
  if (text.empty()) return std::nullopt;
  __int128 total = 0;
  size_t i = 0;
  while (i < text.size()) {
    __int128 whole = 0;
    size_t digits = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      whole = whole * 10 + (text[i++] - '0');
      if (++digits > 15) return std::nullopt;
    }
    __int128 fraction = 0;  // nanos of the unit, i.e. the fraction scaled to 9 digits
    size_t fraction_digits = 0;
    if (i < text.size() && text[i] == '.') {
      ++i;
      __int128 scale = 100000000;
      while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
        if (++fraction_digits > 9) return std::nullopt;
        fraction += (text[i++] - '0') * scale;
        scale /= 10;
      }
      if (fraction_digits == 0) return std::nullopt;
    }
    if (digits == 0 && fraction_digits == 0) return std::nullopt;

    __int128 unit = 0;
    if (text.substr(i, 2) == "ms") {
      unit = 1000000;
      i += 2;
    } else if (i < text.size() && (text[i] == 'h' || text[i] == 'm' || text[i] == 's')) {
      unit = text[i] == 'h'   ? 3600 * static_cast<__int128>(1000000000)
             : text[i] == 'm' ? 60 * static_cast<__int128>(1000000000)
                              : 1000000000;
      ++i;
    } else {
      return std::nullopt;  // a number needs a unit: "600" could mean seconds or minutes
    }
    total += whole * unit + fraction * unit / 1000000000;
    if (total > kMaxDurationNanos) return std::nullopt;
  }
  return FormatDurationNanos(total);
}

std::optional<int64_t> ParseCount(std::string_view text, int64_t max) {
  if (text.empty() || text.size() > 18 ||
      text.find_first_not_of("0123456789") != std::string_view::npos) {
    return std::nullopt;
  }
  const int64_t value = std::stoll(std::string(text));
  if (value > max) return std::nullopt;
  return value;
}

std::optional<double> ParseNonNegativeNumber(std::string_view text) {
  if (text.empty() || text.find_first_not_of("0123456789.eE+-") != std::string_view::npos) {
    return std::nullopt;
  }
  const std::string copy(text);
  char* end = nullptr;
  const double value = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size() || !std::isfinite(value) || value < 0) {
    return std::nullopt;
  }
  return value;
}

std::optional<std::string> ParseReleaseState(std::string_view text) {
  std::string name;
  for (char ch : text) {
    name.push_back(ch == '-' ? '_'
                             : static_cast<char>(std::toupper(static_cast<unsigned char>(ch))));
  }
  for (std::string_view state : kStates) {
    if (state == name) return name;
  }
  return std::nullopt;
}

bool IsTerminalState(std::string_view state) {
  return state == "SUCCEEDED" || state == "ROLLED_BACK" || state == "ABORTED" || state == "FAILED";
}

std::optional<Json> CreateReleaseBody(const ParsedArgs& args, std::string* error) {
  Json body = Json::object();
  body["service"] = args.Get("service").value_or("");
  body["environment"] = args.Get("env").value_or("");
  body["version"] = args.Get("version").value_or("");
  body["commit_sha"] = args.Get("commit").value_or("");
  if (auto image = args.Get("image")) body["image"] = *image;

  if (args.Has("require-approval") && args.Has("no-approval")) {
    return Fail(error, "--require-approval and --no-approval contradict each other");
  }
  if (args.Has("require-approval")) body["require_approval"] = true;
  if (args.Has("no-approval")) body["require_approval"] = false;

  if (auto driver = args.Get("driver")) {
    if (*driver != "external" && *driver != "command") {
      return Fail(error, "--driver must be external or command, not '" + *driver + "'");
    }
    body["driver"] = {{"kind", *driver}};
  }

  Json steps = Json::array();
  for (const std::string& step : args.GetAll("step")) {
    const size_t colon = step.find(':');
    const std::optional<int64_t> weight =
        colon == std::string::npos ? std::nullopt : ParseCount(step.substr(0, colon), 100);
    const std::optional<std::string> duration =
        colon == std::string::npos ? std::nullopt : ParseDuration(step.substr(colon + 1));
    if (!weight || *weight < 1 || !duration) {
      return Fail(error, "--step '" + step +
                             "' must be WEIGHT:DURATION with a weight of 1 to 100 percent, "
                             "e.g. 5:600s or 25:10m");
    }
    steps.push_back(Json{{"weight", *weight}, {"duration", *duration}});
  }

  Json analysis = Json::object();
  if (auto interval = args.Get("interval")) {
    const std::optional<std::string> duration = ParseDuration(*interval);
    if (!duration || *duration == "0s") {
      return Fail(error, "--interval must be a positive duration like 60s or 1m");
    }
    analysis["interval"] = *duration;
  }
  if (auto rate = args.Get("max-error-rate")) {
    const std::optional<double> value = ParseFraction(*rate);
    if (!value) return Fail(error, "--max-error-rate must be a fraction 0..1 (0.05) or 0..100%");
    analysis["max_error_rate"] = *value;
  }
  if (auto p99 = args.Get("max-p99-ms")) {
    const std::optional<double> value = ParseNonNegativeNumber(*p99);
    if (!value || *value <= 0) return Fail(error, "--max-p99-ms must be a positive number");
    analysis["max_p99_latency_ms"] = *value;
  }
  if (auto min = args.Get("min-requests")) {
    const std::optional<int64_t> value = ParseCount(*min);
    if (!value) return Fail(error, "--min-requests must be a whole number >= 0");
    analysis["min_requests"] = *value;
  }
  if (auto target = args.Get("health-target")) {
    analysis["source"] = "health";
    analysis["health"] = Json{{"target", *target}};
  }
  for (const char* limit : {"failure-limit", "inconclusive-limit"}) {
    if (auto text = args.Get(limit)) {
      const std::optional<int64_t> value = ParseCount(*text, 1000000);
      if (!value || *value < 1) {
        return Fail(error, std::string("--") + limit + " must be a whole number >= 1");
      }
      std::string key = limit;
      key[key.find('-')] = '_';
      analysis[key] = *value;
    }
  }
  if (!steps.empty() || !analysis.empty()) {
    Json canary = Json::object();
    if (!steps.empty()) canary["steps"] = steps;
    if (!analysis.empty()) canary["analysis"] = analysis;
    body["canary"] = canary;
  }
  if (args.Has("queue")) body["queue"] = true;
  if (auto reason = args.Get("override-window")) body["window_override_reason"] = *reason;
  if (auto suite = args.Get("smoke-suite")) body["smoke_suite"] = *suite;
  return body;
}

std::optional<Json> ObservationsBody(const ParsedArgs& args, std::string* error) {
  const std::optional<int64_t> requests = ParseCount(args.Get("requests").value_or(""));
  if (!requests) return Fail(error, "--requests must be a whole number >= 0");
  const std::optional<int64_t> errors = ParseCount(args.Get("errors").value_or(""));
  if (!errors) return Fail(error, "--errors must be a whole number >= 0");
  if (*errors > *requests) {
    return Fail(error, "--errors (" + std::to_string(*errors) + ") cannot exceed --requests (" +
                           std::to_string(*requests) + ")");
  }
  Json body = {{"requests", *requests}, {"errors", *errors}};
  if (auto p99 = args.Get("p99-ms")) {
    const std::optional<double> value = ParseNonNegativeNumber(*p99);
    if (!value) return Fail(error, "--p99-ms must be a number of milliseconds >= 0");
    body["p99_latency_ms"] = *value;
  }
  if (auto window = args.Get("window")) {
    const std::optional<std::string> duration = ParseDuration(*window);
    if (!duration || *duration == "0s") {
      return Fail(error, "--window must be a positive duration like 60s or 1m");
    }
    body["window"] = *duration;
  }
  return body;
}

std::optional<Json> VerificationBody(const ParsedArgs& args, std::string* error) {
  const bool passed = args.Has("passed");
  if (passed == args.Has("failed")) {
    return Fail(error, "give exactly one of --passed or --failed");
  }
  Json body = {{"passed", passed}};
  if (auto details = args.Get("details")) body["details"] = *details;
  return body;
}

}  // namespace flightdeck::cli
