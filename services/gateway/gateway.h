#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include <pistache/http.h>

namespace grpc {
class Channel;
}
namespace flightdeck::metrics {
class Registry;
}
namespace flightdeck::db {
class Pool;
}

namespace flightdeck::gateway {

class TokenStore;
class AuditLog;
class IdempotencyStore;
class WorkerPool;
enum class Upstream;

struct GatewayOptions {
  size_t max_body_bytes = 1 << 20;
  std::chrono::milliseconds upstream_timeout{10000};
};

// The REST surface (DESIGN.md §4): routing, authentication and authorisation, transcoding to
// the services' gRPC methods, the one error shape, request ids, tracing, RED metrics and the
// audit log. Called on Pistache's event threads; it never blocks them: cache misses and
// database work go to the worker pool, and gRPC calls use the callback API.
class Gateway {
 public:
  Gateway(GatewayOptions options, TokenStore& tokens, AuditLog& audit,
          IdempotencyStore& idempotency, db::Pool& db, WorkerPool& workers,
          metrics::Registry& metrics,
          std::map<Upstream, std::shared_ptr<grpc::Channel>> upstreams);
  ~Gateway();

  void Handle(const Pistache::Http::Request& request, Pistache::Http::ResponseWriter response);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flightdeck::gateway
