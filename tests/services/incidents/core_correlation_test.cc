// Deploy correlation against a gRPC ReleaseService on loopback: releases of the incident's
// service in the last hour are linked, what runs there is undone for SEV1/SEV2, and a call that
// cannot succeed is not retried.
#include <mutex>
#include <optional>

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
      // As the releases service: an empty environment lists every environment's.
      if (r.service() == req->service() &&
          (req->environment().empty() || r.environment() == req->environment())) {
        *resp->add_releases() = r;
      }
    }
    return grpc::Status::OK;
  }
  grpc::Status RollbackRelease(grpc::ServerContext*, const v1::ReleaseActionRequest* req,
                               v1::Release* resp) override {
    std::lock_guard<std::mutex> lock(mu);
    rollbacks.push_back(*req);
    if (!refuse.empty()) return grpc::Status(refuse_code, refuse);
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

  // Like the releases service: in flight is the started release not finished; current the
  // newest SUCCEEDED.
  grpc::Status GetServiceEnvironment(grpc::ServerContext*, const v1::GetServiceEnvironmentRequest* req,
                                     v1::ServiceEnvironment* resp) override {
    std::lock_guard<std::mutex> lock(mu);
    resp->set_service(req->service());
    resp->set_environment(req->environment());
    for (const auto& r : releases) {
      if (r.service() != req->service() || r.environment() != req->environment()) continue;
      if (r.state() == v1::Release::SUCCEEDED &&
          (!resp->has_current() || r.created_at().seconds() > resp->current().created_at().seconds())) {
        *resp->mutable_current() = r;
      }
      if (r.state() != v1::Release::SUCCEEDED && r.state() != v1::Release::ROLLED_BACK &&
          r.state() != v1::Release::ABORTED && r.state() != v1::Release::FAILED) {
        *resp->mutable_in_flight() = r;
      }
    }
    return grpc::Status::OK;
  }
  grpc::Status AnnotateRelease(grpc::ServerContext*, const v1::AnnotateReleaseRequest* req,
                               v1::ReleaseEvent* resp) override {
    std::lock_guard<std::mutex> lock(mu);
    notes.push_back(*req);
    resp->set_release_id(req->id());
    return grpc::Status::OK;
  }

  std::mutex mu;
  std::vector<v1::Release> releases;
  std::vector<v1::ReleaseActionRequest> rollbacks;
  std::vector<v1::AnnotateReleaseRequest> notes;
  std::string refuse;
  grpc::StatusCode refuse_code = grpc::StatusCode::FAILED_PRECONDITION;
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

  void AddRelease(const std::string& id, v1::Release::State state, Clock::TimePoint created,
                  v1::Release::Kind kind = v1::Release::DEPLOY,
                  std::optional<Clock::TimePoint> finished = std::nullopt) {
    v1::Release r;
    r.set_kind(kind);
    if (finished) SetTimestamp(r.mutable_finished_at(), *finished);
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
            "incident " + id + " (SEV1, checkout/production): automatic abort of a correlated deploy");
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

TEST_F(CorrelationTest, ARefusedAbortIsOnBothTimelinesAndNotRetried) {
  AddRelease("r-canary", v1::Release::CANARY, kStart - 5min);
  releases().refuse = "release is PROMOTING: abort needs a release in flight";
  std::string id = Alert("ServiceDown", Severity::kSev2);
  RunDue();
  ASSERT_EQ(Events(id, "ROLLBACK_FAILED").size(), 1u);
  const std::string failed = Events(id, "ROLLBACK_FAILED")[0].message();
  EXPECT_NE(failed.find("abort needs a release in flight"), std::string::npos) << failed;
  EXPECT_NE(failed.find("not retried"), std::string::npos) << failed;
  ASSERT_EQ(releases().notes.size(), 1u) << "the release's timeline says so too";
  EXPECT_EQ(releases().notes[0].id(), "r-canary");
  EXPECT_NE(releases().notes[0].message().find("incident " + id + " (SEV2"), std::string::npos);
  Advance(10min);  // past every backoff: no second attempt
  EXPECT_EQ(releases().rollbacks.size(), 1u);
  EXPECT_EQ(Events(id, "ROLLBACK_FAILED").size(), 1u);
}

TEST_F(CorrelationTest, AnUnreachableReleasesServiceIsRetriedUntilTheIncidentResolves) {
  AddRelease("r-canary", v1::Release::CANARY, kStart - 5min);
  releases().refuse = "connection refused";
  releases().refuse_code = grpc::StatusCode::UNAVAILABLE;
  std::string id = Alert("ServiceDown", Severity::kSev2);
  RunDue();
  ASSERT_EQ(releases().rollbacks.size(), 1u);
  Advance(5s);  // the first backoff
  ASSERT_EQ(releases().rollbacks.size(), 2u) << "a transient failure is retried";
  EXPECT_NE(Events(id, "ROLLBACK_FAILED")[1].message().find("retrying"), std::string::npos);

  ASSERT_TRUE(lifecycle_.Resolve(id, "alice", "fixed by hand").ok());
  Advance(10min);
  EXPECT_EQ(releases().rollbacks.size(), 2u) << "no attempt after the incident resolved";
  EXPECT_EQ(Events(id, "CORRELATION_STOPPED").size(), 1u);
}

// The reported scenario: production runs a ROLLBACK release; a SEV2 incident rolls back
// nothing older, and says why on its timeline and on the releases'.
TEST_F(CorrelationTest, ARunningRollbackReleaseIsLeftAloneAndBothTimelinesSayWhy) {
  // r-v1 is SUCCEEDED and finished 25 minutes before: what correlation used to try to roll back.
  AddRelease("r-v1", v1::Release::SUCCEEDED, kStart - 40min, v1::Release::DEPLOY, kStart - 25min);
  AddRelease("r-v2", v1::Release::ROLLED_BACK, kStart - 20min, v1::Release::DEPLOY, kStart - 15min);
  AddRelease("r-restore", v1::Release::SUCCEEDED, kStart - 6min, v1::Release::ROLLBACK, kStart - 5min);
  std::string id = Alert("HighErrorRate", Severity::kSev2);
  RunDue();
  EXPECT_TRUE(releases().rollbacks.empty());
  EXPECT_TRUE(Events(id, "ROLLBACK_REQUESTED").empty());
  EXPECT_TRUE(Events(id, "ROLLBACK_FAILED").empty());
  ASSERT_EQ(Events(id, "ROLLBACK_SKIPPED").size(), 1u);
  const std::string why = Events(id, "ROLLBACK_SKIPPED")[0].message();
  EXPECT_NE(why.find("release r-v2 no longer runs: r-restore"), std::string::npos) << why;
  std::vector<std::string> noted;
  for (const auto& n : releases().notes) noted.push_back(n.id());
  EXPECT_EQ(noted, (std::vector<std::string>{"r-v2", "r-v1"}));
  EXPECT_NE(releases().notes[0].message().find("incident " + id + " (SEV2"), std::string::npos);
  Advance(10min);
  EXPECT_EQ(Events(id, "ROLLBACK_SKIPPED").size(), 1u);
  EXPECT_TRUE(releases().rollbacks.empty());
}

TEST_F(CorrelationTest, AnIncidentWithoutEnvironmentLinksButActsOnNothing) {
  AddRelease("r-canary", v1::Release::CANARY, kStart - 10min);
  std::string id = Alert("HighErrorRate", Severity::kSev1, "checkout", "");
  RunDue();
  EXPECT_TRUE(releases().rollbacks.empty());
  EXPECT_EQ(Events(id, "RELEASE_LINKED").size(), 1u);
  EXPECT_TRUE(Events(id, "CORRELATION_FAILED").empty());
  EXPECT_TRUE(Get(id).deploy_correlated());
}

TEST_F(CorrelationTest, NoReleasesMeansNotCorrelated) {
  std::string id = Alert("ServiceDown", Severity::kSev1, "search");
  RunDue();
  EXPECT_FALSE(Get(id).deploy_correlated());
  EXPECT_TRUE(releases().rollbacks.empty());
}

}  // namespace
}  // namespace flightdeck::incidents
