// flightdeck-gateway: the front door (DESIGN.md §1, §4, §6). Wiring only.
#include <sys/resource.h>
#include <unistd.h>

#include <iostream>

#include "common/config/config.h"
#include "common/db/db.h"
#include "common/db/migrate.h"
#include "common/grpc/channel.h"
#include "common/grpc/server.h"
#include "common/http/server.h"
#include "common/log/log.h"
#include "common/metrics/metrics.h"
#include "common/runtime/runtime.h"
#include "common/trace/trace.h"
#include "services/gateway/core/audit.h"
#include "services/gateway/core/auth.h"
#include "services/gateway/core/call.h"
#include "services/gateway/core/gateway_methods.h"
#include "services/gateway/core/idempotency.h"
#include "services/gateway/core/overview.h"
#include "services/gateway/core/worker_pool.h"
#include "services/gateway/gateway.h"

namespace {

using flightdeck::api::Service;

struct GatewayConfig {
  flightdeck::config::CommonConfig common;
  int http_port = 8080;
  int http_threads = 2;
  int workers = 8;
  size_t max_body_bytes = 1 << 20;
  std::chrono::milliseconds upstream_timeout{10000};
  std::chrono::milliseconds token_cache_ttl{30000};
  std::chrono::milliseconds startup_timeout{60000};
  std::string admin_token;
  std::map<Service, std::string> upstreams;
  std::vector<std::string> cors_origins;
  std::string ui_directory;
  flightdeck::trace::ProviderOptions trace;
};

GatewayConfig Load(const flightdeck::config::Env& env) {
  GatewayConfig c;
  c.common = flightdeck::config::LoadCommon(env, "flightdeck-gateway");
  c.http_port = env.Port("FLIGHTDECK_HTTP_PORT", 8080);
  c.http_threads = static_cast<int>(env.Int("FLIGHTDECK_HTTP_THREADS", 2, 1, 64));
  c.workers = static_cast<int>(env.Int("FLIGHTDECK_GATEWAY_WORKERS", 8, 1, 256));
  c.max_body_bytes = static_cast<size_t>(env.Int("FLIGHTDECK_MAX_BODY_BYTES", 1 << 20, 1024, 64 << 20));
  c.upstream_timeout = env.Duration("FLIGHTDECK_UPSTREAM_TIMEOUT", std::chrono::seconds(10));
  c.token_cache_ttl = env.Duration("FLIGHTDECK_TOKEN_CACHE_TTL", std::chrono::seconds(30));
  c.startup_timeout = env.Duration("FLIGHTDECK_STARTUP_TIMEOUT", std::chrono::seconds(60));
  c.admin_token = env.String("FLIGHTDECK_ADMIN_TOKEN", "");
  if (!c.admin_token.empty() && c.admin_token.size() < 16) {
    throw flightdeck::config::ConfigError(
        "FLIGHTDECK_ADMIN_TOKEN: too short (at least 16 characters; generate one with "
        "`openssl rand -hex 20`)");
  }
  c.upstreams[Service::kReleases] = env.Address("FLIGHTDECK_RELEASES_ADDR", "127.0.0.1:50051");
  c.upstreams[Service::kBackups] = env.Address("FLIGHTDECK_BACKUPS_ADDR", "127.0.0.1:50052");
  c.upstreams[Service::kHealth] = env.Address("FLIGHTDECK_HEALTH_ADDR", "127.0.0.1:50053");
  c.upstreams[Service::kIncidents] = env.Address("FLIGHTDECK_INCIDENTS_ADDR", "127.0.0.1:50054");
  std::string origins = env.String("FLIGHTDECK_CORS_ORIGINS", "");
  for (size_t start = 0; start < origins.size();) {
    size_t comma = origins.find(',', start);
    if (comma == std::string::npos) comma = origins.size();
    std::string origin = origins.substr(start, comma - start);
    start = comma + 1;
    origin.erase(0, origin.find_first_not_of(' '));
    origin.erase(origin.find_last_not_of(' ') + 1);
    if (origin.empty()) continue;
    if (origin != "*" && origin.rfind("http://", 0) != 0 && origin.rfind("https://", 0) != 0) {
      throw flightdeck::config::ConfigError("FLIGHTDECK_CORS_ORIGINS: \"" + origin +
                                            "\" is not an origin (scheme://host[:port]) or *");
    }
    while (!origin.empty() && origin.back() == '/') origin.pop_back();
    c.cors_origins.push_back(origin);
  }
  c.ui_directory = env.String("FLIGHTDECK_UI_DIR", FD_DEFAULT_UI_DIR);
  c.trace = flightdeck::trace::OptionsFromEnv(env, "flightdeck-gateway");
  return c;
}

// Each open connection is a file descriptor: the default soft limit (1,024) would cap the
// gateway's connections far below what its memory allows, so it takes the hard limit.
void RaiseFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

}  // namespace

int main() {
  namespace fd = flightdeck;
  RaiseFileLimit();
  fd::rpc::BlockTerminationSignals();
  fd::config::Env env;
  GatewayConfig cfg;
  try {
    cfg = Load(env);
  } catch (const fd::config::ConfigError& e) {
    std::cerr << "flightdeck-gateway: configuration error: " << e.what() << std::endl;
    return 2;
  }
  fd::log::Init("flightdeck-gateway", cfg.common.log_level);
  fd::metrics::Registry registry;
  fd::trace::InitProvider(cfg.trace, &registry);
  {
    fd::db::Pool pool({cfg.common.database_url, cfg.common.db_pool_size,
                       cfg.common.db_acquire_timeout, 4, "gateway"},
                      &registry);
    if (!fd::runtime::MigrateWithRetry(pool, "gateway", cfg.startup_timeout)) return 1;
    if (cfg.admin_token.empty()) {
      fd::log::Warn("FLIGHTDECK_ADMIN_TOKEN is not set: only tokens already in the database work");
    }
    fd::gateway::TokenStore tokens(pool, cfg.admin_token, cfg.token_cache_ttl);
    fd::gateway::AuditLog audit(pool);
    // A claim older than the upstream deadline plus 30 s (the answer's audit and idempotency
    // writes) cannot still be in progress.
    fd::gateway::IdempotencyStore idempotency(pool, cfg.upstream_timeout + std::chrono::seconds(30));
    fd::gateway::WorkerPool workers(cfg.workers, 4096);
    std::map<Service, std::shared_ptr<grpc::Channel>> channels;
    for (const auto& [which, address] : cfg.upstreams) channels[which] = fd::rpc::MakeChannel(address);
    fd::gateway::CoreOptions core_options;
    core_options.upstream_timeout = cfg.upstream_timeout;
    fd::gateway::Core core(core_options, tokens, audit, idempotency, workers, registry, channels);
    fd::gateway::OverviewBuilder overview(channels, std::min(cfg.upstream_timeout, std::chrono::milliseconds(3000)));
    fd::gateway::GatewayMethods gateway_methods(tokens, audit, overview);
    core.SetLocalMethods(&gateway_methods);
    fd::gateway::GatewayOptions gateway_options;
    gateway_options.cors_origins = cfg.cors_origins;
    gateway_options.ui_directory = cfg.ui_directory;
    fd::gateway::Gateway gateway(core, pool, registry, gateway_options);

    fd::http::Server::Options http_options;
    http_options.address = cfg.common.bind_address;
    http_options.port = cfg.http_port;
    http_options.threads = cfg.http_threads;
    http_options.max_body_bytes = cfg.max_body_bytes;
    http_options.error_response = &fd::gateway::Gateway::ErrorResponse;
    fd::http::Server server(http_options, [&gateway](fd::http::ServerRequest request,
                                                     std::shared_ptr<fd::http::Exchange> exchange) {
      gateway.Handle(std::move(request), std::move(exchange));
    });
    try {
      server.Start();
    } catch (const std::exception& e) {
      fd::log::Error("cannot listen", {{"address", cfg.common.bind_address},
                                       {"port", cfg.http_port}, {"error", e.what()}});
      return 1;
    }
    fd::log::Info("serving", {{"http_port", server.port()},
                              {"bind_address", cfg.common.bind_address},
                              {"pid", static_cast<long long>(getpid())}});
    int signal = fd::rpc::WaitForTerminationSignal();
    fd::log::Info("shutting down", {{"signal", signal}});
    // Drain first: new connections are refused at once, calls in flight get their answers
    // (within FLIGHTDECK_SHUTDOWN_GRACE); only streams still open then are cut by Stop().
    if (!server.Drain(cfg.common.shutdown_grace)) {
      fd::log::Warn("connections still open after the shutdown grace; closing them",
                    {{"open", static_cast<long long>(server.open_connections())}});
    }
    server.Stop();
  }
  fd::trace::ShutdownProvider();
  fd::log::Shutdown();
  return 0;
}
