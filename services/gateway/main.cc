// flightdeck-gateway: the front door (DESIGN.md §1, §4, §6). Wiring only.
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "common/cache/cache.h"
#include "common/clock/clock.h"
#include "common/config/config.h"
#include "common/db/db.h"
#include "common/db/migrate.h"
#include "common/grpc/channel.h"
#include "common/grpc/server.h"
#include "common/grpc/transport.h"
#include "common/http/server.h"
#include "common/log/log.h"
#include "common/metrics/metrics.h"
#include "common/metrics/refresher.h"
#include "common/runtime/gauge_refresh.h"
#include "common/runtime/runtime.h"
#include "common/trace/trace.h"
#include "common/clock/clock.h"
#include "common/jobs/backlog.h"
#include "common/jobs/jobs.h"
#include "common/net/egress.h"
#include "services/gateway/chatops/chat_store.h"
#include "services/gateway/chatops/chat_work.h"
#include "services/gateway/chatops/chatops_front.h"
#include "services/gateway/chatops/request_verifier.h"
#include "services/gateway/core/audit.h"
#include "services/gateway/core/auth.h"
#include "services/gateway/core/call.h"
#include "services/gateway/core/gateway_methods.h"
#include "services/gateway/core/idempotency.h"
#include "services/gateway/core/overview.h"
#include "services/gateway/core/rate_limiter.h"
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
  flightdeck::gateway::chatops::ChatOpsOptions chatops;
  std::chrono::milliseconds jobs_poll_interval{500};
  flightdeck::jobs::Worker::Options jobs_retention;  // keep_done, keep_failed
  flightdeck::net::EgressPolicy egress;
  flightdeck::trace::ProviderOptions trace;
  flightdeck::gateway::RateLimitOptions rate_limit;
};

// FLIGHTDECK_RATE_LIMIT_PER_MIN and its per-role and anonymous overrides.
flightdeck::gateway::RateLimitOptions LoadRateLimits(const flightdeck::config::Env& env) {
  namespace v1 = flightdeck::v1;
  constexpr long long kMax = 1000000;
  flightdeck::gateway::RateLimitOptions o;
  // 600 a minute (10 a second sustained, a minute's worth at once): a pipeline polling a
  // release every 2 s uses 30, a dashboard's streams a handful, so a busy shared CI token has
  // 20x headroom, while a runaway script is held to 10 calls a second.
  o.per_minute = env.Int("FLIGHTDECK_RATE_LIMIT_PER_MIN", 600, 0, kMax);
  for (v1::Token::Role role : {v1::Token::VIEWER, v1::Token::DEPLOYER, v1::Token::OPERATOR,
                               v1::Token::ADMIN, v1::Token::INGEST}) {
    const std::string name = "FLIGHTDECK_RATE_LIMIT_PER_MIN_" + v1::Token::Role_Name(role);
    if (env.Raw(name)) o.per_role[role] = env.Int(name, o.per_minute, 0, kMax);
  }
  if (env.Raw("FLIGHTDECK_RATE_LIMIT_PER_MIN_ANONYMOUS")) {
    o.anonymous_per_minute = env.Int("FLIGHTDECK_RATE_LIMIT_PER_MIN_ANONYMOUS", o.per_minute, 0, kMax);
  }
  return o;
}

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
  namespace chatops = flightdeck::gateway::chatops;
  c.chatops.slack_secrets = chatops::LoadSecrets(env, "FLIGHTDECK_SLACK_SIGNING_SECRET", 16);
  c.chatops.mattermost_tokens = chatops::LoadSecrets(env, "FLIGHTDECK_MATTERMOST_TOKEN", 16);
  c.chatops.max_body_bytes =
      static_cast<size_t>(env.Int("FLIGHTDECK_CHATOPS_MAX_BODY_BYTES", 64 * 1024, 1024, 1 << 20));
  c.jobs_poll_interval = env.Duration("FLIGHTDECK_JOBS_POLL_INTERVAL", std::chrono::milliseconds(500));
  flightdeck::jobs::Worker::ReadRetention(env, &c.jobs_retention);
  // Answers to chat go where the platform's response_url says, checked like every other
  // destination a request names.
  c.egress = flightdeck::net::EgressPolicy::FromEnv(env, flightdeck::net::OwnEndpointsFromEnv(env, 0, 0));
  c.trace = flightdeck::trace::OptionsFromEnv(env, "flightdeck-gateway");
  c.rate_limit = LoadRateLimits(env);
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
  fd::rpc::DisableAbseilDeadlockDetection();
  fd::config::Env env;
  GatewayConfig cfg;
  fd::rpc::TransportSecurity transport;
  try {
    cfg = Load(env);
    transport = fd::rpc::TransportSecurity::FromEnv(env);
  } catch (const fd::config::ConfigError& e) {
    std::cerr << "flightdeck-gateway: configuration error: " << e.what() << std::endl;
    return 2;
  }
  fd::log::Init("flightdeck-gateway", cfg.common.log_level);
  fd::rpc::SetTransportSecurity(transport);
  fd::metrics::Registry registry;
  fd::trace::InitProvider(cfg.trace, &registry);
  {
    fd::db::PoolOptions pool_options;
    pool_options.url = cfg.common.database_url;
    pool_options.size = cfg.common.db_pool_size;
    pool_options.acquire_timeout = cfg.common.db_acquire_timeout;
    pool_options.name = "gateway";
    pool_options.read_url = cfg.common.database_read_url;
    pool_options.read_max_lag = cfg.common.database_read_max_lag;
    fd::db::Pool pool(pool_options, &registry);
    if (!fd::runtime::MigrateWithRetry(pool, "gateway", cfg.startup_timeout)) return 1;
    if (cfg.admin_token.empty()) {
      fd::log::Warn("FLIGHTDECK_ADMIN_TOKEN is not set: only tokens already in the database work");
    }
    fd::gateway::TokenStore tokens(pool, cfg.admin_token, cfg.token_cache_ttl);
    fd::gateway::AuditLog audit(pool);
    // A claim older than the upstream deadline plus 30 s (the answer's audit and idempotency
    // writes) cannot still be in progress.
    fd::gateway::IdempotencyStore idempotency(pool, cfg.upstream_timeout + std::chrono::seconds(30));
    // Declared before the workers, which use it until they stop.
    // Its own Redis connections with a short timeout: a request waits at most this long for
    // its rate-limit decision before the in-process limiter takes over (and after a few such
    // failures the breaker sends every decision there without waiting, for a few seconds).
    fd::cache::CacheOptions limiter_redis;
    limiter_redis.url = cfg.common.redis_url;
    limiter_redis.connect_timeout = std::chrono::milliseconds(100);
    limiter_redis.command_timeout = std::min(cfg.common.redis_timeout, std::chrono::milliseconds(50));
    limiter_redis.connections = cfg.workers;
    fd::cache::Cache rate_limit_store(limiter_redis, &registry);
    fd::SystemClock clock;
    fd::gateway::RateLimiter limiter(cfg.rate_limit, &rate_limit_store, clock, &registry);
    fd::gateway::WorkerPool workers(cfg.workers, 4096);
    std::map<Service, std::shared_ptr<grpc::Channel>> channels;
    for (const auto& [which, address] : cfg.upstreams) channels[which] = fd::rpc::MakeChannel(address, fd::api::ServiceName(which));
    fd::gateway::CoreOptions core_options;
    core_options.upstream_timeout = cfg.upstream_timeout;
    fd::gateway::Core core(core_options, tokens, audit, idempotency, workers, registry, channels);
    fd::gateway::OverviewBuilder overview(channels, std::min(cfg.upstream_timeout, std::chrono::milliseconds(3000)));
    fd::gateway::chatops::ChatStore chat_store(pool);
    fd::gateway::GatewayMethods gateway_methods(tokens, audit, overview, &chat_store);
    core.SetLocalMethods(&gateway_methods);
    if (limiter.enabled()) core.SetRateLimiter(&limiter);
    fd::gateway::GatewayOptions gateway_options;
    gateway_options.cors_origins = cfg.cors_origins;
    gateway_options.ui_directory = cfg.ui_directory;
    fd::gateway::Gateway gateway(core, pool, registry, gateway_options);

    // Chat-ops: commands and their answers are durable work in gateway.jobs.
    fd::jobs::Queue jobs_queue(pool, "gateway", clock);
    fd::jobs::Worker::Options worker_options = cfg.jobs_retention;
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    worker_options.owner = std::string(host) + ":" + std::to_string(getpid());
    worker_options.threads = 2;
    worker_options.poll_interval = cfg.jobs_poll_interval;
    fd::jobs::Worker jobs_worker(jobs_queue, worker_options);
    fd::jobs::BacklogGauges jobs_backlog(pool, "gateway", clock, registry);
    fd::metrics::Refresher gauges(registry, fd::runtime::kGaugeRefreshInterval);
    gauges.Add("jobs", fd::runtime::LoggedRefresh("job backlog", [&jobs_backlog] { return jobs_backlog.Refresh(); }));
    fd::gateway::chatops::ChatWorkOptions chat_work_options;
    chat_work_options.call_timeout = cfg.upstream_timeout;
    chat_work_options.egress = &cfg.egress;
    fd::gateway::chatops::ChatWork chat_work(core, chat_store, jobs_queue, chat_work_options);
    chat_work.Register(jobs_worker);
    fd::gateway::chatops::ChatOpsFront chatops_front(core, chat_store, chat_work, clock, cfg.chatops);
    gateway.SetChatOps(&chatops_front);
    if (cfg.chatops.slack_secrets.empty() && cfg.chatops.mattermost_tokens.empty()) {
      fd::log::Info("chat-ops is off: neither FLIGHTDECK_SLACK_SIGNING_SECRET nor FLIGHTDECK_MATTERMOST_TOKEN is set");
    }

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
    cfg.egress.DenyOwnEndpoint({cfg.common.bind_address, server.port(), "this gateway (FLIGHTDECK_HTTP_PORT)"});
    jobs_worker.Start();
    gauges.Start();
    fd::log::Info("serving", {{"http_port", server.port()},
                              {"bind_address", cfg.common.bind_address},
                              {"pid", static_cast<long long>(getpid())}});
    int signal = fd::rpc::WaitForTerminationSignal();
    fd::log::Info("shutting down", {{"signal", signal}});
    const bool drained = gateway.Shutdown(server, cfg.common.shutdown_grace);
    gauges.Stop();
    jobs_worker.Stop();
    if (!drained) {
      // A request still being answered would run into the destroyed gateway: leave without
      // destroying anything, once what was logged and traced is out.
      fd::trace::ShutdownProvider();
      fd::log::Shutdown();
      std::_Exit(1);
    }
  }
  fd::trace::ShutdownProvider();
  fd::log::Shutdown();
  return 0;
}
