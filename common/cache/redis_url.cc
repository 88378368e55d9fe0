#include "common/cache/redis_url.h"

#include <cctype>

#include "common/config/url.h"

namespace flightdeck::cache {
namespace {

// Digits only, within [min, max].
std::optional<int> ParseBoundedInt(std::string_view text, int min, int max) {
  if (text.empty() || text.size() > 9) return std::nullopt;
  int value = 0;
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    value = value * 10 + (c - '0');
  }
  if (value < min || value > max) return std::nullopt;
  return value;
}

std::optional<RedisEndpoint> Fail(std::string* error, std::string message) {
  if (error != nullptr) *error = std::move(message);
  return std::nullopt;
}

}  // namespace

std::string RedisEndpoint::Describe() const {
  const bool ipv6 = host.find(':') != std::string::npos;
  return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port) + "/" + std::to_string(db);
}

std::optional<RedisEndpoint> ParseRedisUrl(std::string_view url, std::string* error) {
  constexpr std::string_view kScheme = "redis://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    return Fail(error, "redis URL must start with redis:// (TLS, rediss://, is not supported)");
  }
  std::string_view rest = url.substr(kScheme.size());
  RedisEndpoint endpoint;

  // The password may contain '@' when not percent-encoded: the last '@' ends the userinfo.
  const size_t last_at = rest.rfind('@');
  const size_t path_start = rest.find('/', last_at == std::string_view::npos ? 0 : last_at);
  std::string_view authority = rest.substr(0, path_start);
  std::string_view path = path_start == std::string_view::npos ? "" : rest.substr(path_start);

  if (const size_t at = authority.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    const size_t colon = userinfo.find(':');
    std::optional<std::string> user = config::PercentDecodeStrict(userinfo.substr(0, colon));
    std::optional<std::string> password = colon == std::string_view::npos
                                              ? std::optional<std::string>("")
                                              : config::PercentDecodeStrict(userinfo.substr(colon + 1));
    if (!user || !password) return Fail(error, "redis URL has a malformed user or password");
    if (colon == std::string_view::npos) {
      // redis://secret@host: a lone userinfo is the password, as redis-cli -u reads it.
      password = std::move(user);
      user = std::string();
    }
    endpoint.user = std::move(*user);
    endpoint.password = std::move(*password);
  }

  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return Fail(error, "redis URL has a malformed IPv6 host");
    endpoint.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Fail(error, "redis URL has a malformed host");
      port_text = after.substr(1);
      if (port_text.empty()) return Fail(error, "redis URL has an empty port");
    }
  } else {
    const size_t colon = authority.find(':');
    endpoint.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return Fail(error, "redis URL has an empty port");
    }
  }
  if (endpoint.host.empty()) return Fail(error, "redis URL has no host");
  if (!port_text.empty()) {
    std::optional<int> port = ParseBoundedInt(port_text, 1, 65535);
    if (!port) return Fail(error, "redis URL has a bad port (1..65535)");
    endpoint.port = *port;
  }

  if (!path.empty() && path != "/") {
    std::optional<int> db = ParseBoundedInt(path.substr(1), 0, 1'000'000);
    if (!db) return Fail(error, "redis URL path must be a database number, as in /0");
    endpoint.db = *db;
  }
  return endpoint;
}

}  // namespace flightdeck::cache
