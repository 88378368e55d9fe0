// flightdeck-gateway: the REST front door (DESIGN.md §1, §4). Wiring only.
#include <unistd.h>

#include <iostream>

#include <pistache/endpoint.h>

#include "common/config/config.h"
#include "common/db/db.h"
#include "common/db/migrate.h"
#include "common/grpc/channel.h"
#include "common/grpc/server.h"
#include "common/log/log.h"
#include "common/metrics/metrics.h"
#include "common/runtime/runtime.h"
#include "common/trace/trace.h"
#include "services/gateway/audit.h"
#include "services/gateway/auth.h"
#include "services/gateway/gateway.h"
#include "services/gateway/idempotency.h"
#include "services/gateway/routes.h"
#include "services/gateway/worker_pool.h"

namespace {

using flightdeck::gateway::Gateway;

class HttpHandler : public Pistache::Http::Handler {
 public:
  HTTP_PROTOTYPE(HttpHandler)
  explicit HttpHandler(Gateway* gateway) : gateway_(gateway) {}
  void onRequest(const Pistache::Http::Request& request,
                 Pistache::Http::ResponseWriter response) override {
    gateway_->Handle(request, std::move(response));
  }

 private:
  Gateway* gateway_;
};

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
  std::map<flightdeck::gateway::Upstream, std::string> upstreams;
  flightdeck::trace::ProviderOptions trace;
};

GatewayConfig Load(const flightdeck::config::Env& env) {
  using flightdeck::gateway::Upstream;
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
  c.upstreams[Upstream::kReleases] = env.Address("FLIGHTDECK_RELEASES_ADDR", "127.0.0.1:50051");
  c.upstreams[Upstream::kBackups] = env.Address("FLIGHTDECK_BACKUPS_ADDR", "127.0.0.1:50052");
  c.upstreams[Upstream::kHealth] = env.Address("FLIGHTDECK_HEALTH_ADDR", "127.0.0.1:50053");
  c.upstreams[Upstream::kIncidents] = env.Address("FLIGHTDECK_INCIDENTS_ADDR", "127.0.0.1:50054");
  c.trace = flightdeck::trace::OptionsFromEnv(env, "flightdeck-gateway");
  return c;
}

}  // namespace

int main() {
  namespace fd = flightdeck;
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
    fd::gateway::IdempotencyStore idempotency(pool);
    fd::gateway::WorkerPool workers(cfg.workers, 4096);
    std::map<fd::gateway::Upstream, std::shared_ptr<grpc::Channel>> channels;
    for (const auto& [which, address] : cfg.upstreams) channels[which] = fd::rpc::MakeChannel(address);
    fd::gateway::GatewayOptions options;
    options.max_body_bytes = cfg.max_body_bytes;
    options.upstream_timeout = cfg.upstream_timeout;
    Gateway gateway(options, tokens, audit, idempotency, pool, workers, registry, channels);

    Pistache::Address address(cfg.common.bind_address,
                              Pistache::Port(static_cast<uint16_t>(cfg.http_port)));
    Pistache::Http::Endpoint endpoint(address);
    // Pistache answers a request over its own limit with a plain-text 413 before we see it;
    // its limit is set well above ours so that our JSON 413 is what clients normally get.
    endpoint.init(Pistache::Http::Endpoint::options()
                      .threads(cfg.http_threads)
                      .flags(Pistache::Tcp::Options::ReuseAddr)
                      .maxRequestSize(cfg.max_body_bytes * 2 + 64 * 1024));
    endpoint.setHandler(std::make_shared<HttpHandler>(&gateway));
    try {
      endpoint.serveThreaded();
    } catch (const std::exception& e) {
      fd::log::Error("cannot listen", {{"address", cfg.common.bind_address},
                                       {"port", cfg.http_port}, {"error", e.what()}});
      return 1;
    }
    fd::log::Info("serving", {{"http_port", static_cast<int>(static_cast<uint16_t>(endpoint.getPort()))},
                              {"bind_address", cfg.common.bind_address},
                              {"pid", static_cast<long long>(getpid())}});
    int signal = fd::rpc::WaitForTerminationSignal();
    fd::log::Info("shutting down", {{"signal", signal}});
    endpoint.shutdown();
  }
  fd::trace::ShutdownProvider();
  fd::log::Shutdown();
  return 0;
}
