// Deploy correlation against a real gRPC ReleaseService on loopback: releases of the incident's
// service in the last hour are linked, and an in-flight one is rolled back for SEV1/SEV2.
#include <mutex>

#include <grpcpp/grpcpp.h>

#include "flightdeck/v1/releases.grpc.pb.h"
#include "tests/services/incidents/core_fixture.h"

namespace flightdeck::incidents {
namespace {

class Releases final : public v1::ReleaseService::Service {
 public:
  grpc::Status ListReleases(grpc::ServerContext*, const v1::ListReleasesRequest* req,
                            v1::ListReleasesResponse* resp) override {
    std::lock_guard<std::mutex> lock(mu);
    for (const auto& r : releases) {
      if (r.service() == req->service() && r.environment() == req->environment()) *resp->add_releases() = r;
    }
    return grpc::Status::OK;
  }
  grpc::Status RollbackRelease(grpc::ServerContext*, const v1::ReleaseActionRequest* req,
                               v1::Release* resp) override {
    std::lock_guard<std::mutex> lock(mu);
    rollbacks.push_back(*req);
    if (!refuse.empty()) return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, refuse);
    resp->set_id(req->id());
    resp->set_state(v1::Release::ROLLING_BACK);
    return grpc::Status::OK;
  }

  grpc::Status GetRelease(grpc::ServerContext*, const v1::GetReleaseRequest* req,
                          v1::Release* resp) override {
    std::lock_guard<std::mutex> lock(mu);
    for (const auto& r : releases) {
      if (r.id() == req->id()) {
        *resp = r;
        return grpc::Status::OK;
      }
    }
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "no release " + req->id());
  }
  // An in-flight release is rolled back by aborting it.
  grpc::Status AbortRelease(grpc::ServerContext* ctx, const v1::ReleaseActionRequest* req,
                            v1::Release* resp) override {
    return RollbackRelease(ctx, req, resp);
  }

  std::mutex mu;
  std::vector<v1::Release> releases;
  std::vector<v1::ReleaseActionRequest> rollbacks;
  std::string refuse;
};

// The server must exist before the fixture's Lifecycle, which gets the client.
struct ReleasesServer {
  ReleasesServer() {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service);
    server = builder.BuildAndStart();
    client = MakeReleasesClient(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  }
  ~ReleasesServer() { server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1)); }
  int port = 0;
  Releases service;
  std::unique_ptr<grpc::Server> server;
  std::unique_ptr<ReleasesClient> client;
};

class CorrelationTest : private ReleasesServer, public CoreTest {
 protected:
  CorrelationTest() : CoreTest(ReleasesServer::client.get()) {}

  void AddRelease(const std::string& id, v1::Release::State state, Clock::TimePoint created) {
    v1::Release r;
    r.set_id(id);
    r.set_service("checkout");
    r.set_environment("production");
    r.set_version("v" + id);
    r.set_commit_sha("abc" + id);
    r.set_state(state);
    SetTimestamp(r.mutable_created_at(), created);
    std::lock_guard<std::mutex> lock(service.mu);
    service.releases.push_back(r);
  }
  Releases& releases() { return service; }
};

TEST_F(CorrelationTest, InFlightReleaseIsRolledBackForSev1) {
  AddRelease("r-canary", v1::Release::CANARY, kStart - 10min);
  AddRelease("r-old", v1::Release::SUCCEEDED, kStart - 3h);
  std::string id = Alert("HighErrorRate", Severity::kSev1);
  RunDue();

  ASSERT_EQ(releases().rollbacks.size(), 1u);
  EXPECT_EQ(releases().rollbacks[0].id(), "r-canary");
  EXPECT_EQ(releases().rollbacks[0].reason(),
            "incident " + id + " (SEV1, checkout/production): automatic rollback of a correlated deploy");
  v1::Incident i = Get(id);
  EXPECT_TRUE(i.deploy_correlated());
  ASSERT_EQ(i.related_releases_size(), 1);
  EXPECT_EQ(i.related_releases(0).release_id(), "r-canary");
  EXPECT_EQ(i.related_releases(0).state(), "CANARY");
  EXPECT_TRUE(i.related_releases(0).rollback_requested());
  EXPECT_EQ(Events(id, "RELEASE_LINKED").size(), 1u);
  ASSERT_EQ(Events(id, "ROLLBACK_REQUESTED").size(), 1u);
  EXPECT_NE(Events(id, "ROLLBACK_REQUESTED")[0].message().find("r-canary"), std::string::npos);

  Advance(10min);  // idempotent: nothing is linked or rolled back twice
  EXPECT_EQ(releases().rollbacks.size(), 1u);
  EXPECT_EQ(Events(id, "RELEASE_LINKED").size(), 1u);
}

TEST_F(CorrelationTest, Sev3LinksButDoesNotRollBack) {
  AddRelease("r-canary", v1::Release::CANARY, kStart - 10min);
  std::string id = Alert("HighLatency", Severity::kSev3);
  RunDue();
  EXPECT_TRUE(releases().rollbacks.empty());
  v1::Incident i = Get(id);
  EXPECT_TRUE(i.deploy_correlated());
  ASSERT_EQ(i.related_releases_size(), 1);
  EXPECT_FALSE(i.related_releases(0).rollback_requested());
}

TEST_F(CorrelationTest, RefusedRollbackIsOnTheTimelineAndRetried) {
  AddRelease("r-canary", v1::Release::CANARY, kStart - 5min);
  releases().refuse = "release r-canary is PROMOTING";
  std::string id = Alert("ServiceDown", Severity::kSev2);
  RunDue();
  ASSERT_EQ(Events(id, "ROLLBACK_FAILED").size(), 1u);
  EXPECT_NE(Events(id, "ROLLBACK_FAILED")[0].message().find("release r-canary is PROMOTING"), std::string::npos);
  releases().refuse.clear();
  Advance(10s);  // the job's backoff
  EXPECT_EQ(releases().rollbacks.size(), 2u);
  EXPECT_EQ(Events(id, "ROLLBACK_REQUESTED").size(), 1u);
}

TEST_F(CorrelationTest, NoReleasesMeansNotCorrelated) {
  std::string id = Alert("ServiceDown", Severity::kSev1, "search");
  RunDue();
  EXPECT_FALSE(Get(id).deploy_correlated());
  EXPECT_TRUE(releases().rollbacks.empty());
}

}  // namespace
}  // namespace flightdeck::incidents
