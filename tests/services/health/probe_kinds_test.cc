// Each probe kind passes and fails as it should against real local endpoints.
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <future>
#include <string>
#include <thread>

#include "flightdeck/v1/health.grpc.pb.h"
#include "services/health/probe/probe.h"
#include "tests/services/health/probe_support/http_test_server.h"
#include "tests/services/health/probe_support/probe_test_util.h"
#include "tests/support/env.h"

namespace flightdeck::health {
namespace {

using std::chrono::milliseconds;
using test::ClosedPort;
using test::RunProbe;

class ProbeKindsTest : public ::testing::Test {
 protected:
  void SetUp() override { prober_.Start(); }
  void TearDown() override { prober_.Stop(); }

  ProbeSpec Http(const std::string& path) {
    ProbeSpec spec;
    spec.kind = ProbeKind::kHttp;
    spec.url = server_.Url(path);
    return spec;
  }

  test::HttpTestServer server_;
  Prober prober_;
};

TEST_F(ProbeKindsTest, HttpPassesOnAnExpectedStatusAndBody) {
  ProbeSpec spec = Http("/ok");
  spec.expect_status = {200};
  spec.body_contains = "ok";
  ProbeOutcome outcome = RunProbe(prober_, spec);
  EXPECT_TRUE(outcome.ok) << outcome.error;
  EXPECT_EQ(outcome.status_code, 200);
  EXPECT_EQ(outcome.error, "");
  EXPECT_GT(outcome.latency_ms, 0);
}

TEST_F(ProbeKindsTest, HttpHeadPasses) {
  ProbeSpec spec = Http("/ok");
  spec.head = true;
  ProbeOutcome outcome = RunProbe(prober_, spec);
  EXPECT_TRUE(outcome.ok) << outcome.error;
  EXPECT_EQ(outcome.status_code, 200);
}

TEST_F(ProbeKindsTest, HttpFailsOnAnUnexpectedStatus) {
  ProbeSpec spec = Http("/fail");
  spec.expect_status = {200};
  ProbeOutcome outcome = RunProbe(prober_, spec);
  EXPECT_FALSE(outcome.ok);
  EXPECT_EQ(outcome.status_code, 503);
  EXPECT_EQ(outcome.error, "status 503 not in [200]");

  outcome = RunProbe(prober_, Http("/fail"));
  EXPECT_EQ(outcome.error, "status 503 not in [200..399]");
  outcome = RunProbe(prober_, Http("/missing"));
  EXPECT_EQ(outcome.error, "status 404 not in [200..399]");
}

TEST_F(ProbeKindsTest, HttpFailsWhenTheBodyLacksTheText) {
  ProbeSpec spec = Http("/ok");
  spec.body_contains = "healthy";
  ProbeOutcome outcome = RunProbe(prober_, spec);
  EXPECT_FALSE(outcome.ok);
  EXPECT_EQ(outcome.status_code, 200);
  EXPECT_EQ(outcome.error, "body does not contain \"healthy\"");
}

TEST_F(ProbeKindsTest, HttpFailsWhenSlowerThanItsMaxLatency) {
  ProbeSpec spec = Http("/slow/300");
  spec.max_latency = milliseconds(100);
  ProbeOutcome outcome = RunProbe(prober_, spec);
  EXPECT_FALSE(outcome.ok);
  EXPECT_EQ(outcome.status_code, 200);
  EXPECT_EQ(outcome.error.rfind("latency ", 0), 0u) << outcome.error;
  EXPECT_NE(outcome.error.find(" ms over 100 ms"), std::string::npos) << outcome.error;

  spec.max_latency = milliseconds(3000);
  EXPECT_TRUE(RunProbe(prober_, spec).ok);
}

TEST_F(ProbeKindsTest, HttpTimesOutOnAHangingServerAtItsTimeout) {
  ProbeSpec spec = Http("/hang");
  spec.timeout = milliseconds(300);
  ProbeOutcome outcome = RunProbe(prober_, spec);
  EXPECT_FALSE(outcome.ok);
  EXPECT_EQ(outcome.error, "timeout after 300 ms");
  EXPECT_GE(outcome.latency_ms, 290);
  EXPECT_LT(outcome.latency_ms, 1500);
}

TEST_F(ProbeKindsTest, HttpFailsOnAClosedPort) {
  ProbeSpec spec;
  spec.url = "http://127.0.0.1:" + std::to_string(ClosedPort()) + "/health";
  ProbeOutcome outcome = RunProbe(prober_, spec);
  EXPECT_FALSE(outcome.ok);
  EXPECT_EQ(outcome.error, "connection refused");
}

TEST_F(ProbeKindsTest, HttpReusesConnectionsAcrossProbes) {
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(RunProbe(prober_, Http("/ok")).ok);
  EXPECT_EQ(server_.requests(), 10);
  EXPECT_EQ(server_.connections(), 1);
  EXPECT_EQ(server_.close_requests(), 0);
}

// Waits (bounded) until the server has seen `n` connections closed by the prober.
bool AwaitClosedByClient(test::HttpTestServer& server, int n) {
  for (int i = 0; i < 500 && server.closed_by_client() < n; ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  return server.closed_by_client() == n;
}

TEST_F(ProbeKindsTest, HttpWithoutReuseOpensAndClosesAConnectionPerProbe) {
  ProbeSpec spec = Http("/ok");
  spec.reuse_connections = false;
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(RunProbe(prober_, spec).ok);
  EXPECT_EQ(server_.requests(), 10);
  EXPECT_EQ(server_.connections(), 10);
  EXPECT_EQ(server_.close_requests(), 10);
  // The server keeps every connection open: the prober closed each one itself.
  EXPECT_TRUE(AwaitClosedByClient(server_, 10)) << server_.closed_by_client() << " closed";
}

TEST_F(ProbeKindsTest, HttpWithoutReuseNeitherTakesNorLeavesAPooledConnection) {
  ASSERT_TRUE(RunProbe(prober_, Http("/ok")).ok);  // leaves one connection in the cache
  ProbeSpec fresh = Http("/ok");
  fresh.reuse_connections = false;
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(RunProbe(prober_, fresh).ok);
  ASSERT_TRUE(RunProbe(prober_, Http("/ok")).ok);  // back on the cached connection
  EXPECT_EQ(server_.requests(), 7);
  EXPECT_EQ(server_.connections(), 6);
  EXPECT_EQ(server_.close_requests(), 5);
  EXPECT_TRUE(AwaitClosedByClient(server_, 5)) << server_.closed_by_client() << " closed";
}

TEST_F(ProbeKindsTest, ManyConcurrentHttpProbesAllComplete) {
  const int kProbes = 300;
  std::atomic<int> passed{0};
  std::atomic<int> done{0};
  std::mutex mu;
  std::string first_error;
  std::promise<void> all;
  for (int i = 0; i < kProbes; ++i) {
    ProbeSpec spec = Http(i % 3 == 0 ? "/slow/50" : "/ok");
    // What is checked is that every probe completes and passes, not how fast: on a loaded CI
    // machine 300 probes at once against one test server can take longer than the 1 s default.
    spec.timeout = std::chrono::seconds(10);
    prober_.Submit(spec, [&](const ProbeOutcome& o) {
      if (o.ok) {
        ++passed;
      } else {
        std::lock_guard<std::mutex> lock(mu);
        if (first_error.empty()) first_error = o.error;
      }
      if (++done == kProbes) all.set_value();
    });
  }
  ASSERT_EQ(all.get_future().wait_for(std::chrono::seconds(60)), std::future_status::ready);
  EXPECT_EQ(passed.load(), kProbes) << "first failure: " << first_error;
  EXPECT_EQ(prober_.InFlight(), 0);
}

TEST_F(ProbeKindsTest, TcpPassesOnAnOpenPortAndFailsOnAClosedOne) {
  ProbeSpec spec;
  spec.kind = ProbeKind::kTcp;
  spec.address = "127.0.0.1:" + std::to_string(server_.port());
  ProbeOutcome outcome = RunProbe(prober_, spec);
  EXPECT_TRUE(outcome.ok) << outcome.error;

  spec.address = "localhost:" + std::to_string(server_.port());  // through the resolver
  outcome = RunProbe(prober_, spec);
  EXPECT_TRUE(outcome.ok) << outcome.error;

  spec.address = "127.0.0.1:" + std::to_string(ClosedPort());
  outcome = RunProbe(prober_, spec);
  EXPECT_FALSE(outcome.ok);
  EXPECT_EQ(outcome.error, "connection refused");

  spec.address = "no-port-here";
  EXPECT_EQ(RunProbe(prober_, spec).error, "address must be host:port");
}

TEST_F(ProbeKindsTest, StopCompletesPendingProbes) {
  ProbeSpec spec = Http("/hang");
  spec.timeout = std::chrono::seconds(30);
  std::promise<ProbeOutcome> promise;
  prober_.Submit(spec, [&](const ProbeOutcome& o) { promise.set_value(o); });
  auto started = std::chrono::steady_clock::now();
  while (server_.requests() == 0 &&
         std::chrono::steady_clock::now() - started < std::chrono::seconds(5)) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  prober_.Stop();
  auto future = promise.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(future.get().error, "prober stopped");

  ProbeOutcome after = RunProbe(prober_, Http("/ok"));
  EXPECT_EQ(after.error, "prober stopped");
}

class GrpcHealthTest : public ProbeKindsTest {
 protected:
  void SetUp() override {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &grpc_port_);
    // gRPC 1.51 builds no server without a synchronous service: any one will do.
    builder.RegisterService(&placeholder_);
    grpc_server_ = builder.BuildAndStart();
    ASSERT_NE(grpc_server_, nullptr);
    ASSERT_GT(grpc_port_, 0);
    ProbeKindsTest::SetUp();
  }
  void TearDown() override {
    ProbeKindsTest::TearDown();
    grpc_server_->Shutdown(std::chrono::system_clock::now() + milliseconds(200));
  }
  ProbeSpec Grpc(const std::string& service = "") {
    ProbeSpec spec;
    spec.kind = ProbeKind::kGrpc;
    spec.address = "127.0.0.1:" + std::to_string(grpc_port_);
    spec.grpc_service = service;
    return spec;
  }
  grpc::HealthCheckServiceInterface* health() { return grpc_server_->GetHealthCheckService(); }

  int grpc_port_ = 0;
  flightdeck::v1::HealthService::Service placeholder_;
  std::unique_ptr<grpc::Server> grpc_server_;
};

TEST_F(GrpcHealthTest, PassesOnServingAndFailsOnNotServing) {
  health()->SetServingStatus(true);
  ProbeOutcome outcome = RunProbe(prober_, Grpc());
  EXPECT_TRUE(outcome.ok) << outcome.error;
  EXPECT_EQ(outcome.detail, "SERVING");

  health()->SetServingStatus(false);
  outcome = RunProbe(prober_, Grpc());
  EXPECT_FALSE(outcome.ok);
  EXPECT_EQ(outcome.error, "NOT_SERVING");

  health()->SetServingStatus(true);
  EXPECT_TRUE(RunProbe(prober_, Grpc()).ok);
}

TEST_F(GrpcHealthTest, AsksForTheNamedService) {
  health()->SetServingStatus("flightdeck.v1.Releases", true);
  EXPECT_TRUE(RunProbe(prober_, Grpc("flightdeck.v1.Releases")).ok);
  health()->SetServingStatus("flightdeck.v1.Releases", false);
  EXPECT_EQ(RunProbe(prober_, Grpc("flightdeck.v1.Releases")).error, "NOT_SERVING");
  ProbeOutcome unknown = RunProbe(prober_, Grpc("flightdeck.v1.Nope"));
  EXPECT_FALSE(unknown.ok);
  EXPECT_EQ(unknown.error, "service unknown to the health server");
}

TEST_F(GrpcHealthTest, FailsOnAClosedPort) {
  ProbeSpec spec = Grpc();
  spec.address = "127.0.0.1:" + std::to_string(ClosedPort());
  ProbeOutcome outcome = RunProbe(prober_, spec);
  EXPECT_FALSE(outcome.ok);
  EXPECT_EQ(outcome.error, "connection refused");
}

TEST_F(ProbeKindsTest, PostgresPassesAndFailsAsItShould) {
  std::string url = test::RequireEnv("DATABASE_URL");
  ProbeSpec spec;
  spec.kind = ProbeKind::kPostgres;
  spec.url = url;
  spec.timeout = milliseconds(3000);
  ProbeOutcome outcome = RunProbe(prober_, spec);
  EXPECT_TRUE(outcome.ok) << outcome.error;

  // An unknown role fails whether the server trusts loopback ("role ... does not exist") or
  // asks for passwords ("password authentication failed for user ..."); the error names the
  // role and never the password.
  size_t scheme_end = url.find("://") + 3;
  size_t at = url.find('@', scheme_end);
  std::string host_part = at == std::string::npos ? url.substr(scheme_end) : url.substr(at + 1);
  spec.url = "postgresql://no_such_role_fd:s3cret-pw@" + host_part;
  outcome = RunProbe(prober_, spec);
  EXPECT_FALSE(outcome.ok);
  EXPECT_NE(outcome.error.find("\"no_such_role_fd\""), std::string::npos) << outcome.error;
  EXPECT_EQ(outcome.error.find("s3cret-pw"), std::string::npos);

  spec.url = "postgresql://postgres:s3cret-pw@127.0.0.1:" + std::to_string(ClosedPort()) + "/x";
  outcome = RunProbe(prober_, spec);
  EXPECT_FALSE(outcome.ok);
  EXPECT_EQ(outcome.error, "connection refused");
}

TEST_F(ProbeKindsTest, RedisPassesAndFailsAsItShould) {
  std::string url = test::RequireEnv("REDIS_URL");
  ProbeSpec spec;
  spec.kind = ProbeKind::kRedis;
  spec.url = url;
  ProbeOutcome outcome = RunProbe(prober_, spec);
  EXPECT_TRUE(outcome.ok) << outcome.error;
  EXPECT_EQ(outcome.detail, "PONG");

  // The URL without its database path, credentials kept (the test command's Redis has a
  // password, a developer's may not).
  const size_t path = url.find('/', url.find("://") + 3);
  const std::string base = path == std::string::npos ? url : url.substr(0, path);
  size_t host_start = url.find('@') == std::string::npos ? 8 : url.find('@') + 1;
  std::string authority = url.substr(host_start);
  authority = authority.substr(0, authority.find('/'));

  spec.url = base + "/1";
  EXPECT_TRUE(RunProbe(prober_, spec).ok);

  spec.url = base + "/9999";
  outcome = RunProbe(prober_, spec);
  EXPECT_FALSE(outcome.ok);
  EXPECT_EQ(outcome.error.rfind("SELECT failed: ", 0), 0u) << outcome.error;

  // A wrong password (or any password, on a server without one) is refused at AUTH.
  spec.url = "redis://:s3cret-pw@" + authority;
  outcome = RunProbe(prober_, spec);
  EXPECT_FALSE(outcome.ok);
  EXPECT_EQ(outcome.error.rfind("AUTH failed: ", 0), 0u) << outcome.error;
  EXPECT_EQ(outcome.error.find("s3cret-pw"), std::string::npos);

  spec.url = "redis://127.0.0.1:" + std::to_string(ClosedPort());
  outcome = RunProbe(prober_, spec);
  EXPECT_FALSE(outcome.ok);
  EXPECT_EQ(outcome.error, "connection refused");
}

}  // namespace
}  // namespace flightdeck::health

namespace flightdeck::health {
namespace {

// Every probe kind checks the address it connects to against the egress policy, and a refused
// probe fails with the policy's reason instead of reaching the address.
class ProbeEgressTest : public GrpcHealthTest {
 protected:
  void SetUp() override {
    GrpcHealthTest::SetUp();
    // The test's own servers stand in for Flightdeck's listeners.
    policy_ = net::EgressPolicy::FromEnv(
        config::Env::FromMap({}), {{"127.0.0.1", server_.port(), "admin port (FLIGHTDECK_ADMIN_PORT)"},
                                   {"127.0.0.1", grpc_port_, "gRPC port (FLIGHTDECK_GRPC_PORT)"}});
    Prober::Options options;
    options.egress = &policy_;
    guarded_ = std::make_unique<Prober>(options);
    guarded_->Start();
  }
  void TearDown() override {
    guarded_->Stop();
    GrpcHealthTest::TearDown();
  }
  net::EgressPolicy policy_;
  std::unique_ptr<Prober> guarded_;
};

TEST_F(ProbeEgressTest, HttpToAnOwnListenerIsRefusedWithTheReason) {
  const int requests_before = server_.requests();
  ProbeSpec spec = Http("/ok");
  spec.url = "http://localhost:" + std::to_string(server_.port()) + "/ok";  // by name, too
  ProbeOutcome outcome = RunProbe(*guarded_, spec);
  EXPECT_FALSE(outcome.ok);
  EXPECT_NE(outcome.error.find("egress policy refuses"), std::string::npos) << outcome.error;
  EXPECT_NE(outcome.error.find("Flightdeck's own admin port"), std::string::npos) << outcome.error;
  EXPECT_EQ(server_.requests(), requests_before);
  // The same prober reaches what the policy allows.
  health()->SetServingStatus(true);
  EXPECT_TRUE(RunProbe(prober_, Http("/ok")).ok);
}

TEST_F(ProbeEgressTest, TcpGrpcAndMetadataAddressesAreRefused) {
  ProbeSpec tcp;
  tcp.kind = ProbeKind::kTcp;
  tcp.address = "localhost:" + std::to_string(server_.port());
  EXPECT_NE(RunProbe(*guarded_, tcp).error.find("localhost: egress policy refuses"), std::string::npos);
  tcp.address = "169.254.169.254:80";
  EXPECT_EQ(RunProbe(*guarded_, tcp).error,
            "egress policy refuses 169.254.169.254:80: 169.254.169.254/32 is a cloud metadata address "
            "(denied by default; FLIGHTDECK_EGRESS_ALLOW=169.254.169.254/32 allows it)");
  tcp.address = "[::ffff:169.254.169.254]:80";
  EXPECT_NE(RunProbe(*guarded_, tcp).error.find("cloud metadata"), std::string::npos);

  health()->SetServingStatus(true);
  ProbeOutcome grpc = RunProbe(*guarded_, Grpc());
  EXPECT_FALSE(grpc.ok);
  EXPECT_NE(grpc.error.find("Flightdeck's own gRPC port"), std::string::npos) << grpc.error;

  ProbeSpec redis;
  redis.kind = ProbeKind::kRedis;
  redis.url = "redis://169.254.1.1:6379";
  EXPECT_NE(RunProbe(*guarded_, redis).error.find("link-local"), std::string::npos);
  ProbeSpec pg;
  pg.kind = ProbeKind::kPostgres;
  pg.url = "postgresql://u@169.254.1.1:5432/x";
  EXPECT_NE(RunProbe(*guarded_, pg).error.find("169.254.1.1:5432"), std::string::npos);
  pg.url = "postgresql://u@localhost:" + std::to_string(server_.port()) + "/x";
  EXPECT_NE(RunProbe(*guarded_, pg).error.find("admin port"), std::string::npos);
  pg.url = "postgresql:///x?host=/var/run/postgresql";  // a Unix socket cannot be checked
  EXPECT_NE(RunProbe(*guarded_, pg).error.find("needs one TCP host"), std::string::npos);
}

TEST_F(ProbeEgressTest, AnAllowedGrpcTargetIsReachedThroughTheCheckedAddress) {
  net::EgressPolicy open;  // allows everything: the name is resolved and the address dialled
  Prober::Options options;
  options.egress = &open;
  Prober prober(options);
  prober.Start();
  health()->SetServingStatus(true);
  ProbeSpec spec = Grpc();
  spec.address = "localhost:" + std::to_string(grpc_port_);
  ProbeOutcome outcome = RunProbe(prober, spec);
  EXPECT_TRUE(outcome.ok) << outcome.error;
  prober.Stop();
}

}  // namespace
}  // namespace flightdeck::health
