#pragma once

#include <memory>

#include "services/health/probe/active_probe.h"

// TCP (connect) and REDIS (AUTH?, SELECT?, PING on one connection) on non-blocking sockets.
namespace flightdeck::health::internal {

std::unique_ptr<ActiveProbe> NewTcpProbe(ProbeHost& host, uint64_t id, ProbeSpec spec,
                                         Prober::Callback done);
std::unique_ptr<ActiveProbe> NewRedisProbe(ProbeHost& host, uint64_t id, ProbeSpec spec,
                                           Prober::Callback done);

// The parts of redis://[user[:password]@]host[:port][/db] a probe needs. False when it is not
// such a URL; `error` then says which part is wrong (never echoing the password).
struct RedisUrl {
  std::string host;
  int port = 6379;
  std::string user;
  std::string password;
  bool has_password = false;
  int db = -1;  // -1: no SELECT
};
bool ParseRedisUrl(const std::string& url, RedisUrl* out, std::string* error);

}  // namespace flightdeck::health::internal
