#include "common/config/config.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <utility>

#include "common/config/url.h"

namespace flightdeck::config {
namespace {

constexpr char kDurationExpected[] = "expected a number with a unit ms, s, m or h, e.g. 250ms, 10s, 1h30m";

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Values of variables whose name says they hold a secret are never echoed in errors.
bool NameLooksSecret(const std::string& name) {
  const std::string lower = Lower(name);
  for (const char* word : {"password", "secret", "token", "key", "credential"}) {
    if (lower.find(word) != std::string::npos) return true;
  }
  return false;
}

std::string Shown(const std::string& name, const std::string& value) {
  if (NameLooksSecret(name)) return "(value hidden)";
  return "\"" + value + "\"";
}

[[noreturn]] void Fail(const std::string& name, const std::string& what) {
  throw ConfigError(name + ": " + what);
}

std::optional<long long> ParseInt(std::string_view text) {
  long long value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

std::optional<double> ParseDouble(std::string_view text) {
  double value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

std::optional<int> ParsePortNumber(std::string_view text) {
  // A port is plain digits: from_chars alone would accept "-0".
  if (text.empty() || text.size() > 5 ||
      !std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); })) {
    return std::nullopt;
  }
  auto value = ParseInt(text);
  if (!value || *value > 65535) return std::nullopt;
  return static_cast<int>(*value);
}

void CheckUrlPort(const std::string& name, const std::string& shown, const UrlParts& url) {
  if (!url.port_text) return;
  auto port = ParsePortNumber(*url.port_text);
  if (!port || *port == 0) Fail(name, shown + " has an invalid port (expected 1-65535)");
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += "|";
    out += item;
  }
  return out;
}

}  // namespace

std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  constexpr long long kMax = std::numeric_limits<long long>::max();
  long long total_ms = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t digits_end = i;
    while (digits_end < text.size() && std::isdigit(static_cast<unsigned char>(text[digits_end]))) {
      ++digits_end;
    }
    if (digits_end == i) return std::nullopt;  // a unit without a number, or a sign
    auto number = ParseInt(text.substr(i, digits_end - i));
    if (!number) return std::nullopt;  // too many digits
    long long unit_ms = 0;
    size_t unit_end = digits_end;
    if (text.substr(digits_end, 2) == "ms") {
      unit_ms = 1;
      unit_end += 2;
    } else if (digits_end < text.size() && text[digits_end] == 's') {
      unit_ms = 1000;
      unit_end += 1;
    } else if (digits_end < text.size() && text[digits_end] == 'm') {
      unit_ms = 60 * 1000;
      unit_end += 1;
    } else if (digits_end < text.size() && text[digits_end] == 'h') {
      unit_ms = 60 * 60 * 1000;
      unit_end += 1;
    } else {
      return std::nullopt;  // "10" alone is ambiguous: a number needs a unit
    }
    if (*number > kMax / unit_ms) return std::nullopt;
    const long long part = *number * unit_ms;
    if (total_ms > kMax - part) return std::nullopt;
    total_ms += part;
    i = unit_end;
  }
  return std::chrono::milliseconds(total_ms);
}

Env::Env()
    : lookup_([](const std::string& name) -> std::optional<std::string> {
        const char* value = std::getenv(name.c_str());
        if (value == nullptr) return std::nullopt;
        return std::string(value);
      }) {}

Env::Env(Lookup lookup) : lookup_(std::move(lookup)) {}

Env Env::FromMap(std::map<std::string, std::string> values) {
  return Env([values = std::move(values)](const std::string& name) -> std::optional<std::string> {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  });
}

std::optional<std::string> Env::Raw(const std::string& name) const {
  auto value = lookup_(name);
  if (!value || value->empty()) return std::nullopt;
  return value;
}

std::string Env::String(const std::string& name, const std::string& fallback) const {
  return Raw(name).value_or(fallback);
}

std::string Env::RequiredString(const std::string& name) const {
  auto value = Raw(name);
  if (!value) Fail(name, "is required but not set");
  return *value;
}

std::string Env::PostgresUrl(const std::string& name) const {
  constexpr char kExpected[] = "expected postgres://user:password@host[:port][/dbname]";
  auto value = Raw(name);
  if (!value) Fail(name, std::string("is required but not set; ") + kExpected);
  const std::string shown = "\"" + MaskUrlPassword(*value) + "\"";
  auto url = ParseUrl(*value);
  if (!url) Fail(name, shown + " is not a URL; " + kExpected);
  if (url->scheme != "postgres" && url->scheme != "postgresql") {
    Fail(name, shown + " has scheme \"" + url->scheme + "\"; " + kExpected);
  }
  if (url->host.empty()) Fail(name, shown + " has no host; " + kExpected);
  CheckUrlPort(name, shown, *url);
  return *value;
}

std::string Env::RedisUrl(const std::string& name) const {
  constexpr char kExpected[] = "expected redis://[[user]:password@]host[:port][/db]";
  auto value = Raw(name);
  if (!value) Fail(name, std::string("is required but not set; ") + kExpected);
  const std::string shown = "\"" + MaskUrlPassword(*value) + "\"";
  auto url = ParseUrl(*value);
  if (!url) Fail(name, shown + " is not a URL; " + kExpected);
  if (url->scheme != "redis") Fail(name, shown + " has scheme \"" + url->scheme + "\"; " + kExpected);
  if (url->host.empty()) Fail(name, shown + " has no host; " + kExpected);
  CheckUrlPort(name, shown, *url);
  if (!url->path.empty() && url->path != "/") {
    const std::string db = url->path.substr(1);
    auto number = ParseInt(db);
    if (!number || *number < 0 || !std::all_of(db.begin(), db.end(), [](unsigned char c) {
          return std::isdigit(c);
        })) {
      Fail(name, shown + " has database \"" + db + "\" (expected a number, e.g. /0)");
    }
  }
  if (!url->query.empty()) Fail(name, shown + " has a query string; " + kExpected);
  return *value;
}

std::optional<std::string> Env::HttpUrl(const std::string& name) const {
  constexpr char kExpected[] = "expected http://host[:port][/path] or https://...";
  auto value = Raw(name);
  if (!value) return std::nullopt;
  const std::string shown = "\"" + MaskUrlPassword(*value) + "\"";
  auto url = ParseUrl(*value);
  if (!url) Fail(name, shown + " is not a URL; " + kExpected);
  if (url->scheme != "http" && url->scheme != "https") {
    Fail(name, shown + " has scheme \"" + url->scheme + "\"; " + kExpected);
  }
  if (url->host.empty()) Fail(name, shown + " has no host; " + kExpected);
  CheckUrlPort(name, shown, *url);
  return value;
}

int Env::Port(const std::string& name, int fallback) const {
  auto value = Raw(name);
  if (!value) return fallback;
  auto port = ParsePortNumber(*value);
  if (!port) Fail(name, Shown(name, *value) + " is not a port (0-65535)");
  return *port;
}

long long Env::Int(const std::string& name, long long fallback, long long min,
                   long long max) const {
  auto value = Raw(name);
  if (!value) return fallback;
  const std::string range = std::to_string(min) + ".." + std::to_string(max);
  auto number = ParseInt(*value);
  if (!number) Fail(name, Shown(name, *value) + " is not an integer (expected " + range + ")");
  if (*number < min || *number > max) {
    Fail(name, Shown(name, *value) + " is out of range (expected " + range + ")");
  }
  return *number;
}

double Env::Double(const std::string& name, double fallback, double min, double max) const {
  auto value = Raw(name);
  if (!value) return fallback;
  auto format = [](double d) {
    char buffer[64];
    auto [ptr, ec] = std::to_chars(buffer, buffer + sizeof(buffer), d);
    return std::string(buffer, ec == std::errc() ? ptr : buffer);
  };
  const std::string range = format(min) + ".." + format(max);
  auto number = ParseDouble(*value);
  if (!number) Fail(name, Shown(name, *value) + " is not a number (expected " + range + ")");
  if (*number < min || *number > max) {
    Fail(name, Shown(name, *value) + " is out of range (expected " + range + ")");
  }
  return *number;
}

bool Env::Bool(const std::string& name, bool fallback) const {
  auto value = Raw(name);
  if (!value) return fallback;
  const std::string lower = Lower(*value);
  if (lower == "true" || lower == "1" || lower == "yes") return true;
  if (lower == "false" || lower == "0" || lower == "no") return false;
  Fail(name, Shown(name, *value) + " is not a boolean (expected true/false, 1/0 or yes/no)");
}

std::chrono::milliseconds Env::Duration(const std::string& name,
                                        std::chrono::milliseconds fallback) const {
  auto value = Raw(name);
  if (!value) return fallback;
  auto duration = ParseDuration(*value);
  if (!duration) Fail(name, Shown(name, *value) + " is not a duration (" + kDurationExpected + ")");
  return *duration;
}

std::string Env::OneOf(const std::string& name, const std::string& fallback,
                       const std::vector<std::string>& allowed) const {
  auto value = Raw(name);
  if (!value) return fallback;
  if (std::find(allowed.begin(), allowed.end(), *value) == allowed.end()) {
    Fail(name, Shown(name, *value) + " is not one of " + Join(allowed));
  }
  return *value;
}

std::string Env::Address(const std::string& name, const std::string& fallback) const {
  auto value = Raw(name);
  if (!value) return fallback;
  const std::string expected = " (expected host:port with a port 0-65535, e.g. 127.0.0.1:8080)";
  const size_t colon = value->rfind(':');
  if (colon == std::string::npos) Fail(name, Shown(name, *value) + " has no port" + expected);
  const std::string host = value->substr(0, colon);
  const std::string port = value->substr(colon + 1);
  const bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
  const bool host_ok =
      !host.empty() && (bracketed || host.find_first_of(":[]/ \t") == std::string::npos);
  if (!host_ok) Fail(name, Shown(name, *value) + " has no valid host" + expected);
  if (!ParsePortNumber(port)) Fail(name, Shown(name, *value) + " has an invalid port" + expected);
  return *value;
}

CommonConfig LoadCommon(const Env& env, const std::string& process_name) {
  CommonConfig config;
  config.service_name = process_name;
  config.log_level = env.OneOf("LOG_LEVEL", "info",
                               {"trace", "debug", "info", "warn", "error", "critical", "off"});
  config.bind_address = env.String("FLIGHTDECK_BIND_ADDRESS", "127.0.0.1");
  if (config.bind_address.find_first_of(" \t/") != std::string::npos) {
    Fail("FLIGHTDECK_BIND_ADDRESS",
         "\"" + config.bind_address + "\" is not a host (expected e.g. 127.0.0.1 or 0.0.0.0)");
  }
  config.database_url = env.PostgresUrl("DATABASE_URL");
  if (env.Raw("FLIGHTDECK_DATABASE_READ_URL")) {
    config.database_read_url = env.PostgresUrl("FLIGHTDECK_DATABASE_READ_URL");
  }
  config.database_read_max_lag =
      env.Duration("FLIGHTDECK_DATABASE_READ_MAX_LAG", std::chrono::seconds(5));
  config.redis_url = env.RedisUrl("REDIS_URL");
  config.db_pool_size = static_cast<int>(env.Int("FLIGHTDECK_DB_POOL_SIZE", 8, 1, 1024));
  config.db_acquire_timeout =
      env.Duration("FLIGHTDECK_DB_ACQUIRE_TIMEOUT", std::chrono::seconds(5));
  config.redis_timeout = env.Duration("FLIGHTDECK_REDIS_TIMEOUT", std::chrono::milliseconds(250));
  config.cache_ttl = env.Duration("FLIGHTDECK_CACHE_TTL", std::chrono::seconds(60));
  config.shutdown_grace = env.Duration("FLIGHTDECK_SHUTDOWN_GRACE", std::chrono::seconds(10));
  config.grpc_idle_threads = static_cast<int>(env.Int("FLIGHTDECK_GRPC_IDLE_THREADS", 64, 2, 4096));
  config.grpc_queue_threads = static_cast<int>(env.Int("FLIGHTDECK_GRPC_QUEUE_THREADS", 2, 1, 256));
  return config;
}

}  // namespace flightdeck::config
