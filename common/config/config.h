#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace flightdeck::config {

// Thrown at start-up for a missing or malformed variable; the message names the variable.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "250ms", "10s", "5m", "1h", "1h30m"; a number needs a unit. nullopt when malformed.
std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text);

// Reads and validates environment variables. The lookup is injectable for tests.
class Env {
 public:
  using Lookup = std::function<std::optional<std::string>(const std::string&)>;
  Env();  // the process environment
  explicit Env(Lookup lookup);
  static Env FromMap(std::map<std::string, std::string> values);

  std::optional<std::string> Raw(const std::string& name) const;  // unset and empty are both nullopt
  std::string String(const std::string& name, const std::string& fallback) const;
  std::string RequiredString(const std::string& name) const;
  // postgres:// or postgresql:// URL with a host.
  std::string PostgresUrl(const std::string& name) const;
  // redis://[[user]:password@]host[:port][/db]
  std::string RedisUrl(const std::string& name) const;
  // http:// or https:// URL; nullopt when unset.
  std::optional<std::string> HttpUrl(const std::string& name) const;
  int Port(const std::string& name, int fallback) const;  // 0..65535
  long long Int(const std::string& name, long long fallback, long long min, long long max) const;
  double Double(const std::string& name, double fallback, double min, double max) const;
  bool Bool(const std::string& name, bool fallback) const;  // true/false/1/0/yes/no
  std::chrono::milliseconds Duration(const std::string& name, std::chrono::milliseconds fallback) const;
  std::string OneOf(const std::string& name, const std::string& fallback,
                    const std::vector<std::string>& allowed) const;
  // "host:port"
  std::string Address(const std::string& name, const std::string& fallback) const;

 private:
  Lookup lookup_;
};

// What every Flightdeck process reads at start-up.
struct CommonConfig {
  std::string service_name;  // "flightdeck-releases"; OTEL_SERVICE_NAME overrides the telemetry name
  std::string log_level;     // LOG_LEVEL: trace|debug|info|warn|error|critical|off
  std::string bind_address;  // FLIGHTDECK_BIND_ADDRESS, default 127.0.0.1
  std::string database_url;  // DATABASE_URL (required)
  std::string database_read_url;  // FLIGHTDECK_DATABASE_READ_URL: a hot standby, empty when none
  std::chrono::milliseconds database_read_max_lag;  // FLIGHTDECK_DATABASE_READ_MAX_LAG, default 5s
  std::string redis_url;     // REDIS_URL (required)
  int db_pool_size;                             // FLIGHTDECK_DB_POOL_SIZE, default 8
  std::chrono::milliseconds db_acquire_timeout;  // FLIGHTDECK_DB_ACQUIRE_TIMEOUT, default 5s
  std::chrono::milliseconds redis_timeout;       // FLIGHTDECK_REDIS_TIMEOUT, default 250ms
  std::chrono::milliseconds cache_ttl;           // FLIGHTDECK_CACHE_TTL, default 60s
  std::chrono::milliseconds shutdown_grace;      // FLIGHTDECK_SHUTDOWN_GRACE, default 10s
  int grpc_idle_threads;  // FLIGHTDECK_GRPC_IDLE_THREADS, default 64: call threads kept waiting
  int grpc_queue_threads;  // FLIGHTDECK_GRPC_QUEUE_THREADS, default 2: threads of the queued methods
};

CommonConfig LoadCommon(const Env& env, const std::string& process_name);

}  // namespace flightdeck::config
