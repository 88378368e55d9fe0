#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace flightdeck::cache {

// Where and how to connect, from redis://[[user]:password@]host[:port][/db].
struct RedisEndpoint {
  std::string host;
  int port = 6379;
  std::string user;      // empty: AUTH with the password only (requirepass / default user)
  std::string password;  // empty: no AUTH
  int db = 0;

  // "host:port/db" without credentials, for spans and messages.
  std::string Describe() const;
};

// nullopt when the URL is malformed. The userinfo parts are percent-decoded. The error text,
// when asked for, never contains the password.
std::optional<RedisEndpoint> ParseRedisUrl(std::string_view url, std::string* error = nullptr);

}  // namespace flightdeck::cache
