#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/clock/clock.h"
#include "common/config/config.h"

namespace grpc {
class Service;
}
namespace flightdeck::metrics {
class Registry;
}
namespace flightdeck::db {
class Pool;
}
namespace flightdeck::cache {
class Cache;
}
namespace flightdeck::rpc {
class Server;
}

// Start-up and shutdown of a Flightdeck service process, so that every main.cc is wiring only.
namespace flightdeck::runtime {

// What a service's wiring receives; everything outlives the component it builds.
struct Context {
  const config::Env& env;
  const config::CommonConfig& config;
  metrics::Registry& metrics;
  db::Pool& db;
  cache::Cache& cache;
  const Clock& clock;
};

// A service's domain objects: the gRPC services it serves and any background work.
class Component {
 public:
  virtual ~Component() = default;
  virtual std::vector<grpc::Service*> GrpcServices() = 0;
  // Methods of those services served on the server's completion queue (Server::ServeOnQueue).
  virtual void ServeOnQueues(rpc::Server& server) { (void)server; }
  // The ports the servers listen on, once bound (a port of 0 in the configuration is only known
  // then), before Start.
  virtual void Listening(int grpc_port, int admin_port) { (void)grpc_port, (void)admin_port; }
  virtual void Start() {}  // after the server is up (job workers, watchers)
  virtual void Stop() {}   // before the server drains
};

struct ServiceSpec {
  std::string process_name;  // "flightdeck-releases": log "service" and default OTEL_SERVICE_NAME
  std::string schema;        // its PostgreSQL schema; migrations embedded in the binary
  int default_grpc_port = 0;
  int default_admin_port = 0;
  // Called after migrations. Throws config::ConfigError for bad service-specific settings.
  std::function<std::unique_ptr<Component>(Context&)> build;
};

// Reads the configuration (a bad value: message naming the variable, exit 2), sets up logging
// and tracing, connects to PostgreSQL (waiting up to FLIGHTDECK_STARTUP_TIMEOUT, default 60s,
// for it to come up) and applies the schema's migrations, builds the component, serves gRPC
// and the admin port until SIGINT/SIGTERM, then drains. Returns the process exit code.
int RunService(const ServiceSpec& spec);

// Applies the schema's embedded migrations, retrying while PostgreSQL is unreachable for up to
// `budget`. A refused migration (changed checksum, schema newer than the binary) is final.
bool MigrateWithRetry(db::Pool& pool, const std::string& schema, std::chrono::milliseconds budget);

}  // namespace flightdeck::runtime
