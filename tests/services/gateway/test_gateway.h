#pragma once

// A real gateway (core, fronts, HTTP server, token store, audit log and idempotency records on
// a fresh PostgreSQL database) in front of whatever fake upstream services a test registers.
#include <map>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/db/db.h"
#include "common/db/migrate.h"
#include "common/http/server.h"
#include "common/metrics/metrics.h"
#include "services/gateway/core/audit.h"
#include "services/gateway/core/auth.h"
#include "services/gateway/core/call.h"
#include "services/gateway/core/gateway_methods.h"
#include "services/gateway/core/idempotency.h"
#include "services/gateway/core/overview.h"
#include "services/gateway/core/worker_pool.h"
#include "services/gateway/gateway.h"
#include "tests/support/http_client.h"
#include "tests/support/test_database.h"

namespace flightdeck::gateway::testing {

inline constexpr char kAdminSecret[] = "test-admin-secret-0123456789";

class TestGateway {
 public:
  // `services`: the fake upstreams, by which service they stand for.
  explicit TestGateway(std::map<api::Service, grpc::Service*> services,
                       std::chrono::milliseconds upstream_timeout = std::chrono::seconds(5),
                       GatewayOptions gateway_options = {}) {
    pool_ = std::make_unique<db::Pool>(db::PoolOptions{database_.url(), 4});
    grpc::Status migrated = db::Migrate(*pool_, db::EmbeddedMigrations("gateway"));
    EXPECT_TRUE(migrated.ok()) << migrated.error_message();

    int grpc_port = 0;
    if (!services.empty()) {  // gRPC refuses to start a server with nothing to serve
      grpc::ServerBuilder builder;
      builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &grpc_port);
      for (auto& [which, service] : services) builder.RegisterService(service);
      grpc_server_ = builder.BuildAndStart();
      EXPECT_NE(grpc_server_, nullptr);
    }
    std::map<api::Service, std::shared_ptr<grpc::Channel>> channels;
    for (auto& [which, service] : services) {
      channels[which] = grpc::CreateChannel("127.0.0.1:" + std::to_string(grpc_port),
                                            grpc::InsecureChannelCredentials());
    }

    tokens_ = std::make_unique<TokenStore>(*pool_, kAdminSecret, std::chrono::seconds(30));
    audit_ = std::make_unique<AuditLog>(*pool_);
    idempotency_ = std::make_unique<IdempotencyStore>(*pool_);
    workers_ = std::make_unique<WorkerPool>(2, 256);
    CoreOptions options;
    options.upstream_timeout = upstream_timeout;
    core_ = std::make_unique<Core>(options, *tokens_, *audit_, *idempotency_, *workers_, registry_, channels);
    overview_ = std::make_unique<OverviewBuilder>(channels, std::chrono::seconds(2));
    methods_ = std::make_unique<GatewayMethods>(*tokens_, *audit_, *overview_);
    core_->SetLocalMethods(methods_.get());
    gateway_ = std::make_unique<Gateway>(*core_, *pool_, registry_, std::move(gateway_options));

    http::Server::Options http_options;
    http_options.threads = 1;
    http_options.max_body_bytes = 1 << 20;
    http_options.error_response = &Gateway::ErrorResponse;
    http_ = std::make_unique<http::Server>(http_options, [this](http::ServerRequest r,
                                                                std::shared_ptr<http::Exchange> e) {
      gateway_->Handle(std::move(r), std::move(e));
    });
    http_->Start();
    base_url_ = "http://127.0.0.1:" + std::to_string(http_->port());
  }

  ~TestGateway() {
    if (!shut_down_) EXPECT_TRUE(Shutdown(std::chrono::seconds(5)));
    if (grpc_server_) grpc_server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  }

  // As the gateway's main does: every request is answered before the fronts it answers through
  // are destroyed. Once; the destructor does it when a test has not.
  bool Shutdown(std::chrono::milliseconds grace) {
    shut_down_ = true;
    return gateway_->Shutdown(*http_, grace);
  }

  test::HttpResponse Call(const std::string& method, const std::string& path, const std::string& token,
                          const std::string& body = "",
                          std::map<std::string, std::string> headers = {}) {
    headers.emplace("Content-Type", "application/json");
    if (!token.empty()) headers["Authorization"] = "Bearer " + token;
    return test::HttpRequest(method, base_url_ + path, body, headers);
  }

  std::string CreateToken(const std::string& name, const std::string& role) {
    test::HttpResponse r = Call("POST", "/v1/tokens", kAdminSecret,
                                nlohmann::json{{"name", name}, {"role", role}}.dump());
    EXPECT_EQ(r.status, 200) << "creating a " << role << " token: " << r.body;
    return nlohmann::json::parse(r.body, nullptr, false).value("secret", "");
  }

  // The audit entries written for `actor`, newest first.
  nlohmann::json AuditOf(const std::string& actor) {
    test::HttpResponse r = Call("GET", "/v1/audit?actor=" + actor, kAdminSecret);
    EXPECT_EQ(r.status, 200) << r.body;
    return nlohmann::json::parse(r.body, nullptr, false).value("entries", nlohmann::json::array());
  }

  const std::string& base_url() const { return base_url_; }
  const std::string& database_url() const { return database_.url(); }
  metrics::Registry& registry() { return registry_; }
  Core& core() { return *core_; }
  int port() const { return http_->port(); }

 private:
  test::TestDatabase database_;
  std::unique_ptr<db::Pool> pool_;
  std::unique_ptr<grpc::Server> grpc_server_;
  metrics::Registry registry_;
  std::unique_ptr<TokenStore> tokens_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<IdempotencyStore> idempotency_;
  std::unique_ptr<WorkerPool> workers_;
  std::unique_ptr<Core> core_;
  std::unique_ptr<OverviewBuilder> overview_;
  std::unique_ptr<GatewayMethods> methods_;
  std::unique_ptr<Gateway> gateway_;
  std::unique_ptr<http::Server> http_;
  std::string base_url_;
  bool shut_down_ = false;
};

}  // namespace flightdeck::gateway::testing
