#include "common/runtime/runtime.h"

#include <unistd.h>

#include <iostream>
#include <thread>

#include "common/api/peers.h"
#include "common/cache/cache.h"
#include "common/db/change_feed.h"
#include "common/db/db.h"
#include "common/db/migrate.h"
#include "common/grpc/server.h"
#include "common/grpc/transport.h"
#include "common/http/admin_server.h"
#include "common/log/log.h"
#include "common/metrics/metrics.h"
#include "common/trace/trace.h"

namespace flightdeck::runtime {
// Retries cover a fresh cluster or a pod that starts before its database.
bool MigrateWithRetry(db::Pool& pool, const std::string& schema, std::chrono::milliseconds budget) {
  auto deadline = std::chrono::steady_clock::now() + budget;
  std::chrono::milliseconds backoff(200);
  while (true) {
    int applied = 0;
    grpc::Status status = db::Migrate(pool, db::EmbeddedMigrations(schema), &applied);
    if (status.ok()) {
      log::Info("migrations applied", {{"schema", schema}, {"applied", applied}});
      return true;
    }
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE ||
        std::chrono::steady_clock::now() + backoff > deadline) {
      log::Error("cannot migrate schema", {{"schema", schema}, {"error", status.error_message()}});
      return false;
    }
    log::Warn("database not reachable yet, retrying",
              {{"schema", schema}, {"error", status.error_message()}});
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
  }
}

int RunService(const ServiceSpec& spec) {
  rpc::BlockTerminationSignals();
  rpc::DisableAbseilDeadlockDetection();

  config::Env env;
  config::CommonConfig cfg;
  trace::ProviderOptions trace_options;
  int grpc_port = 0;
  int admin_port = 0;
  std::chrono::milliseconds startup_timeout{};
  rpc::TransportSecurity transport;
  try {
    cfg = config::LoadCommon(env, spec.process_name);
    grpc_port = env.Port("FLIGHTDECK_GRPC_PORT", spec.default_grpc_port);
    admin_port = env.Port("FLIGHTDECK_ADMIN_PORT", spec.default_admin_port);
    startup_timeout = env.Duration("FLIGHTDECK_STARTUP_TIMEOUT", std::chrono::seconds(60));
    trace_options = trace::OptionsFromEnv(env, spec.process_name);
    transport = rpc::TransportSecurity::FromEnv(env);
  } catch (const config::ConfigError& e) {
    std::cerr << spec.process_name << ": configuration error: " << e.what() << std::endl;
    return 2;
  }

  log::Init(spec.process_name, cfg.log_level);
  rpc::SetTransportSecurity(transport);
  metrics::Registry registry;
  trace::InitProvider(trace_options, &registry);
  SystemClock clock;

  int exit_code = 0;
  {
    // Before the pool, which announces through it until it is gone (change_feed.h).
    db::ChangeAnnouncer announcer(cfg.database_url);
    db::PoolOptions pool_options{cfg.database_url, cfg.db_pool_size, cfg.db_acquire_timeout, 4,
                                 spec.schema};
    pool_options.announcer = &announcer;
    pool_options.read_url = cfg.database_read_url;
    pool_options.read_max_lag = cfg.database_read_max_lag;
    db::Pool pool(pool_options, &registry);
    if (!MigrateWithRetry(pool, spec.schema, startup_timeout)) {
      trace::ShutdownProvider();
      return 1;
    }
    cache::CacheOptions cache_options;
    cache_options.url = cfg.redis_url;
    cache_options.connect_timeout = cfg.redis_timeout;
    cache_options.command_timeout = cfg.redis_timeout;
    cache::Cache cache(cache_options, &registry);

    Context context{env, cfg, registry, pool, cache, clock};
    std::unique_ptr<Component> component;
    try {
      component = spec.build(context);
    } catch (const config::ConfigError& e) {
      std::cerr << spec.process_name << ": configuration error: " << e.what() << std::endl;
      trace::ShutdownProvider();
      return 2;
    }

    // With mutual TLS every call is checked against the one method table and the peer grants
    // before it reaches a handler (common/api/peers.h); plaintext has no identities to check.
    rpc::ServerOptions server_options;
    server_options.bind_address = cfg.bind_address;
    server_options.port = grpc_port;
    server_options.shutdown_grace = cfg.shutdown_grace;
    server_options.authorize = &api::AuthorizeCall;
    server_options.idle_call_threads = cfg.grpc_idle_threads;
    server_options.queue_threads = cfg.grpc_queue_threads;
    rpc::Server server(server_options, registry);
    for (grpc::Service* service : component->GrpcServices()) server.AddService(service);
    component->ServeOnQueues(server);
    http::AdminServer admin(cfg.bind_address, admin_port, registry, [&pool, &cache] {
      http::Readiness r;
      grpc::Status db = pool.Ping();
      r.ok = db.ok();
      r.detail = db.ok() ? "postgresql: ok" : "postgresql: " + db.error_message();
      // Redis is a cache: its absence slows the service down but does not make it unready.
      r.detail += cache.breaker_open() ? "\nredis: unavailable (cache bypassed)" : "\nredis: ok";
      return r;
    });
    try {
      server.Start();
      admin.Start();
    } catch (const std::exception& e) {
      log::Error("cannot start", {{"error", e.what()}});
      trace::ShutdownProvider();
      return 1;
    }
    component->Listening(server.port(), admin.port());
    component->Start();
    log::Info("serving", {{"grpc_port", server.port()},
                          {"admin_port", admin.port()},
                          {"bind_address", cfg.bind_address},
                          {"pid", static_cast<long long>(getpid())}});

    int signal = rpc::WaitForTerminationSignal();
    log::Info("shutting down", {{"signal", signal}});
    component->Stop();
    server.Shutdown();
    admin.Stop();
  }
  log::Info("stopped");
  trace::ShutdownProvider();
  log::Shutdown();
  return exit_code;
}

}  // namespace flightdeck::runtime
