#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <mutex>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "common/clock/timestamps.h"
#include "flightdeck/v1/releases.grpc.pb.h"
#include "services/incidents/correlation.h"
#include "tests/services/incidents/utc_time.h"

namespace flightdeck::incidents {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using testing::Utc;

const Clock::TimePoint kOpened = Utc(2026, 11, 20, 12, 0);

v1::Release MakeRelease(const std::string& id, v1::Release::State state, Clock::TimePoint created,
                        std::optional<Clock::TimePoint> finished = std::nullopt) {
  v1::Release r;
  r.set_id(id);
  r.set_service("api");
  r.set_environment("production");
  r.set_version("v-" + id);
  r.set_commit_sha("sha-" + id);
  r.set_state(state);
  r.set_kind(v1::Release::DEPLOY);
  SetTimestamp(r.mutable_created_at(), created);
  if (finished) SetTimestamp(r.mutable_finished_at(), *finished);
  return r;
}

std::vector<std::string> RelatedIds(const CorrelationDecision& d) {
  std::vector<std::string> ids;
  for (const auto& r : d.related) ids.push_back(r.release_id());
  return ids;
}

// What GetServiceEnvironment answers: the current release and the one in flight.
v1::ServiceEnvironment Running(const v1::Release* current, const v1::Release* in_flight = nullptr) {
  v1::ServiceEnvironment env;
  env.set_service("api");
  env.set_environment("production");
  if (current) *env.mutable_current() = *current;
  if (in_flight) *env.mutable_in_flight() = *in_flight;
  return env;
}

v1::Release Rollback(v1::Release r, const std::string& restores) {
  r.set_kind(v1::Release::ROLLBACK);
  r.set_version("v-" + restores);
  return r;
}

TEST(CorrelateTest, InFlightDeployIsAborted) {
  const auto canary = MakeRelease("canary", v1::Release::CANARY, kOpened - minutes(10));
  auto d = Correlate({canary}, Running(nullptr, &canary), kOpened, true);
  EXPECT_EQ(d.action, CorrelationAction::kAbort);
  EXPECT_EQ(d.target_release_id, "canary");
  ASSERT_EQ(d.related.size(), 1u);
  EXPECT_TRUE(d.related[0].rollback_requested());
  EXPECT_EQ(d.related[0].state(), "CANARY");
  EXPECT_EQ(d.related[0].commit_sha(), "sha-canary");
  EXPECT_NE(d.why.find("canary"), std::string::npos);
  EXPECT_TRUE(d.skipped_release_ids.empty());
}

TEST(CorrelateTest, CurrentDeployFinishedWithinThirtyMinutesIsRolledBack) {
  const auto r29 = MakeRelease("r29", v1::Release::SUCCEEDED, kOpened - minutes(50), kOpened - minutes(29));
  const auto r45 = MakeRelease("r45", v1::Release::SUCCEEDED, kOpened - minutes(70), kOpened - minutes(45));
  const auto r61 = MakeRelease("r61", v1::Release::SUCCEEDED, kOpened - minutes(90), kOpened - minutes(61));
  auto d = Correlate({r29, r45, r61}, Running(&r29), kOpened, true);
  EXPECT_EQ(RelatedIds(d), (std::vector<std::string>{"r29", "r45"}));
  EXPECT_EQ(d.action, CorrelationAction::kRollBack);
  EXPECT_EQ(d.target_release_id, "r29");
  EXPECT_NE(d.why.find("current"), std::string::npos) << d.why;

  // Current but finished 45 minutes ago: linked only.
  auto old = Correlate({r45, r61}, Running(&r45), kOpened, true);
  EXPECT_EQ(RelatedIds(old), std::vector<std::string>{"r45"});
  EXPECT_EQ(old.action, CorrelationAction::kNone);
  EXPECT_EQ(old.target_release_id, "");
  EXPECT_FALSE(old.related[0].rollback_requested());
}

TEST(CorrelateTest, WindowEdgesAreInclusive) {
  const auto edge = MakeRelease("edge", v1::Release::SUCCEEDED, kOpened - minutes(60), kOpened - minutes(30));
  EXPECT_EQ(Correlate({edge}, Running(&edge), kOpened, true).target_release_id, "edge");
  const auto past = MakeRelease("past", v1::Release::SUCCEEDED, kOpened - minutes(60),
                                kOpened - minutes(30) - std::chrono::seconds(1));
  auto d = Correlate({past}, Running(&past), kOpened, true);
  EXPECT_EQ(RelatedIds(d), std::vector<std::string>{"past"});
  EXPECT_EQ(d.action, CorrelationAction::kNone);
}

// The reported scenario: production runs a ROLLBACK release (restoring v1 after v2 went bad);
// an incident must not roll back v1 or v2, neither of which runs, nor the rollback itself.
TEST(CorrelateTest, ARunningRollbackReleaseMeansNothingOlderIsRolledBack) {
  const auto first = MakeRelease("v1", v1::Release::SUCCEEDED, kOpened - minutes(40), kOpened - minutes(25));
  const auto second = MakeRelease("v2", v1::Release::ROLLED_BACK, kOpened - minutes(20), kOpened - minutes(15));
  const auto restore = Rollback(MakeRelease("rb3", v1::Release::SUCCEEDED, kOpened - minutes(6),
                                            kOpened - minutes(5)),
                                "v1");
  auto d = Correlate({first, second, restore}, Running(&restore), kOpened, true);
  EXPECT_EQ(d.action, CorrelationAction::kNone);
  EXPECT_EQ(d.target_release_id, "");
  EXPECT_EQ(RelatedIds(d), (std::vector<std::string>{"rb3", "v2", "v1"}));
  for (const auto& r : d.related) EXPECT_FALSE(r.rollback_requested()) << r.release_id();
  EXPECT_EQ(d.skipped_release_ids, (std::vector<std::string>{"v2", "v1"}));
  EXPECT_NE(d.why.find("release v2 no longer runs: rb3 (a rollback to v-v1) is current"), std::string::npos)
      << d.why;
  EXPECT_NE(d.why.find("release v1 no longer runs"), std::string::npos) << d.why;
  EXPECT_NE(d.why.find("rb3 is a rollback"), std::string::npos) << d.why;
}

TEST(CorrelateTest, AReplacedDeployIsNotTheOneRolledBack) {
  const auto older = MakeRelease("older", v1::Release::SUCCEEDED, kOpened - minutes(40), kOpened - minutes(20));
  const auto newer = MakeRelease("newer", v1::Release::SUCCEEDED, kOpened - minutes(12), kOpened - minutes(8));
  for (const auto& input : {std::vector<v1::Release>{older, newer}, std::vector<v1::Release>{newer, older}}) {
    auto d = Correlate(input, Running(&newer), kOpened, true);
    EXPECT_EQ(d.action, CorrelationAction::kRollBack);
    EXPECT_EQ(d.target_release_id, "newer");
    EXPECT_EQ(RelatedIds(d), (std::vector<std::string>{"newer", "older"}));
    EXPECT_TRUE(d.related[0].rollback_requested());
    EXPECT_FALSE(d.related[1].rollback_requested());
    EXPECT_TRUE(d.skipped_release_ids.empty()) << "something is acted on: nothing to explain";
  }
}

TEST(CorrelateTest, RollbacksAndReleasesAlreadyRollingBackAreLeftAlone) {
  const auto good = MakeRelease("good", v1::Release::SUCCEEDED, kOpened - hours(5), kOpened - hours(4));
  auto rolling = MakeRelease("rb", v1::Release::ROLLING_BACK, kOpened - minutes(5));
  auto d = Correlate({rolling}, Running(&good, &rolling), kOpened, true);
  EXPECT_EQ(d.action, CorrelationAction::kNone);
  EXPECT_NE(d.why.find("already ROLLING_BACK"), std::string::npos) << d.why;

  auto restoring = Rollback(MakeRelease("restore", v1::Release::PROMOTING, kOpened - minutes(3)), "good");
  d = Correlate({restoring}, Running(&good, &restoring), kOpened, true);
  EXPECT_EQ(d.action, CorrelationAction::kNone);
  EXPECT_NE(d.why.find("in flight is a rollback"), std::string::npos) << d.why;

  for (auto state : {v1::Release::ROLLED_BACK, v1::Release::ABORTED, v1::Release::FAILED}) {
    auto x = MakeRelease("x", state, kOpened - minutes(10), kOpened - minutes(5));
    d = Correlate({x}, Running(&good), kOpened, true);
    EXPECT_EQ(RelatedIds(d), std::vector<std::string>{"x"}) << v1::Release::State_Name(state);
    EXPECT_EQ(d.action, CorrelationAction::kNone) << v1::Release::State_Name(state);
  }
}

TEST(CorrelateTest, LongRunningCanaryAndQueuedRelease) {
  // A canary started three hours ago is still the likeliest cause, listed or not.
  const auto slow = MakeRelease("slow", v1::Release::CANARY, kOpened - hours(3));
  auto d = Correlate({}, Running(nullptr, &slow), kOpened, true);
  EXPECT_EQ(d.action, CorrelationAction::kAbort);
  EXPECT_EQ(RelatedIds(d), std::vector<std::string>{"slow"});
  // A queued release has not reached the environment.
  auto queued = MakeRelease("queued", v1::Release::PENDING, kOpened - minutes(2));
  queued.set_queued(true);
  d = Correlate({queued}, Running(nullptr), kOpened, true);
  EXPECT_EQ(RelatedIds(d), std::vector<std::string>{"queued"});
  EXPECT_EQ(d.action, CorrelationAction::kNone);
}

TEST(CorrelateTest, AutoRollbackOffStillLinks) {
  const auto canary = MakeRelease("canary", v1::Release::CANARY, kOpened - minutes(10));
  auto d = Correlate({canary}, Running(nullptr, &canary), kOpened, false);
  EXPECT_EQ(d.action, CorrelationAction::kNone);
  EXPECT_EQ(d.target_release_id, "");
  ASSERT_EQ(d.related.size(), 1u);
  EXPECT_FALSE(d.related[0].rollback_requested());
  EXPECT_NE(d.why.find("off"), std::string::npos) << d.why;
}

TEST(CorrelateTest, NothingRecent) {
  auto d = Correlate({}, Running(nullptr), kOpened, true);
  EXPECT_TRUE(d.related.empty());
  EXPECT_EQ(d.action, CorrelationAction::kNone);
  EXPECT_FALSE(d.why.empty());
}

TEST(CorrelateTest, OnlyTransientErrorsAreRetried) {
  for (auto code : {grpc::StatusCode::UNAVAILABLE, grpc::StatusCode::DEADLINE_EXCEEDED}) {
    EXPECT_TRUE(IsRetryable(grpc::Status(code, "x"))) << code;
  }
  for (auto code : {grpc::StatusCode::FAILED_PRECONDITION, grpc::StatusCode::NOT_FOUND,
                    grpc::StatusCode::INVALID_ARGUMENT, grpc::StatusCode::PERMISSION_DENIED}) {
    EXPECT_FALSE(IsRetryable(grpc::Status(code, "x"))) << code;
  }
}

// ---- the gRPC client against a real in-process ReleaseService on loopback ----

class ReleasesServer final : public v1::ReleaseService::Service {
 public:
  grpc::Status ListReleases(grpc::ServerContext* context, const v1::ListReleasesRequest* request,
                            v1::ListReleasesResponse* response) override {
    std::lock_guard<std::mutex> lock(mu_);
    Record(*context);
    list_calls++;
    last_list = *request;
    std::vector<v1::Release> matching;
    for (const auto& r : releases) {
      if (r.service() == request->service() && r.environment() == request->environment()) {
        matching.push_back(r);
      }
    }
    const size_t size = request->page_size() > 0 ? static_cast<size_t>(request->page_size()) : 50;
    const size_t start = request->page_token().empty() ? 0 : std::stoul(request->page_token());
    for (size_t i = start; i < std::min(matching.size(), start + size); ++i) {
      *response->add_releases() = matching[i];
    }
    if (start + size < matching.size()) response->set_next_page_token(std::to_string(start + size));
    return grpc::Status::OK;
  }

  grpc::Status RollbackRelease(grpc::ServerContext* context, const v1::ReleaseActionRequest* request,
                               v1::Release* response) override {
    std::lock_guard<std::mutex> lock(mu_);
    Record(*context);
    rollbacks.push_back(*request);
    for (auto& r : releases) {
      if (r.id() == request->id()) {
        r.set_state(v1::Release::ROLLING_BACK);
        *response = r;
        return grpc::Status::OK;
      }
    }
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "release " + request->id() + " not found");
  }

  grpc::Status GetRelease(grpc::ServerContext*, const v1::GetReleaseRequest* request,
                          v1::Release* response) override {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& r : releases) {
      if (r.id() == request->id()) {
        *response = r;
        return grpc::Status::OK;
      }
    }
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "release " + request->id() + " not found");
  }

  grpc::Status GetServiceEnvironment(grpc::ServerContext* context,
                                     const v1::GetServiceEnvironmentRequest* request,
                                     v1::ServiceEnvironment* response) override {
    std::lock_guard<std::mutex> lock(mu_);
    Record(*context);
    *response = environment;
    response->set_service(request->service());
    response->set_environment(request->environment());
    return grpc::Status::OK;
  }

  grpc::Status AnnotateRelease(grpc::ServerContext* context, const v1::AnnotateReleaseRequest* request,
                               v1::ReleaseEvent* response) override {
    std::lock_guard<std::mutex> lock(mu_);
    Record(*context);
    notes.push_back(*request);
    response->set_release_id(request->id());
    response->set_type("NOTE");
    return grpc::Status::OK;
  }

  grpc::Status AbortRelease(grpc::ServerContext* context, const v1::ReleaseActionRequest* request,
                            v1::Release* response) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      aborts.push_back(request->id());
    }
    return RollbackRelease(context, request, response);
  }

  void Record(const grpc::ServerContext& context) {
    auto get = [&](const char* key) {
      auto it = context.client_metadata().find(key);
      return it == context.client_metadata().end() ? std::string()
                                                   : std::string(it->second.data(), it->second.size());
    };
    actor = get("x-flightdeck-actor");
    role = get("x-flightdeck-role");
    deadline_left = context.deadline() - std::chrono::system_clock::now();
  }

  std::mutex mu_;
  std::vector<v1::Release> releases;  // newest first, as the releases service lists them
  int list_calls = 0;
  v1::ListReleasesRequest last_list;
  std::vector<v1::ReleaseActionRequest> rollbacks;  // both kinds
  std::vector<std::string> aborts;                  // ids rolled back by aborting
  v1::ServiceEnvironment environment;
  std::vector<v1::AnnotateReleaseRequest> notes;
  std::string actor, role;
  std::chrono::system_clock::duration deadline_left{};
};

class ReleasesClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port, 0);
    client_ = MakeReleasesClient(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
  }

  ReleasesServer service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<ReleasesClient> client_;
};

TEST_F(ReleasesClientTest, PagesUntilOlderThanSince) {
  // 120 releases, one every 5 minutes, newest first; plus another service's.
  for (int i = 0; i < 120; ++i) {
    service_.releases.push_back(MakeRelease("r" + std::to_string(i), v1::Release::SUCCEEDED,
                                            kOpened - minutes(5 * i), kOpened - minutes(5 * i - 2)));
  }
  auto other = MakeRelease("web1", v1::Release::CANARY, kOpened);
  other.set_service("web");
  service_.releases.insert(service_.releases.begin(), other);

  std::vector<v1::Release> out;
  // Since 6 h ago = release 72, on the second page of 50: the client stops after two pages.
  grpc::Status s = client_->RecentReleases("api", "production", kOpened - hours(6), &out);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(service_.list_calls, 2);
  EXPECT_EQ(out.size(), 100u);
  EXPECT_EQ(out.front().id(), "r0");
  EXPECT_EQ(service_.last_list.service(), "api");
  EXPECT_EQ(service_.last_list.environment(), "production");
  EXPECT_EQ(service_.actor, "incidents");
  EXPECT_EQ(service_.role, "") << "a service calls on its own authority, never with a user's role";
  EXPECT_GT(service_.deadline_left, std::chrono::seconds(8));
  // gRPC encodes the timeout coarsely on the wire: allow for rounding up.
  EXPECT_LE(service_.deadline_left, std::chrono::milliseconds(10500));

  // What it returns feeds Correlate: r0..r12 were created in the last hour; r0 (created at the
  // opening) finished within 30 minutes and is what runs.
  auto d = Correlate(out, Running(&out.front()), kOpened, true);
  EXPECT_EQ(d.related.size(), 13u);
  EXPECT_EQ(d.target_release_id, "r0");
}

TEST_F(ReleasesClientTest, FewReleasesTakeOnePage) {
  service_.releases.push_back(MakeRelease("only", v1::Release::CANARY, kOpened - minutes(3)));
  std::vector<v1::Release> out;
  ASSERT_TRUE(client_->RecentReleases("api", "production", kOpened - hours(1), &out).ok());
  EXPECT_EQ(service_.list_calls, 1);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].state(), v1::Release::CANARY);
}

TEST_F(ReleasesClientTest, AbortAndRollBackCarryTheReasonAndErrors) {
  service_.releases.push_back(MakeRelease("canary", v1::Release::CANARY, kOpened - minutes(3)));
  v1::Release out;
  grpc::Status s = client_->Abort("canary", "incident inc-1 (SEV1) opened", &out);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(out.state(), v1::Release::ROLLING_BACK);
  ASSERT_EQ(service_.rollbacks.size(), 1u);
  EXPECT_EQ(service_.rollbacks[0].reason(), "incident inc-1 (SEV1) opened");
  EXPECT_EQ(service_.aborts, std::vector<std::string>{"canary"});
  EXPECT_EQ(service_.actor, "incidents");
  EXPECT_EQ(service_.role, "") << "a service calls on its own authority, never with a user's role";

  service_.releases.push_back(MakeRelease("done", v1::Release::SUCCEEDED, kOpened - minutes(9)));
  ASSERT_TRUE(client_->RollBack("done", "incident inc-2 (SEV2) opened", &out).ok());
  EXPECT_EQ(service_.rollbacks.size(), 2u);
  EXPECT_EQ(service_.aborts.size(), 1u) << "a rollback is not an abort";

  s = client_->RollBack("nope", "x", &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(ReleasesClientTest, EnvironmentAndAnnotateReachTheService) {
  const auto current = MakeRelease("cur", v1::Release::SUCCEEDED, kOpened - minutes(9), kOpened - minutes(2));
  *service_.environment.mutable_current() = current;
  v1::ServiceEnvironment env;
  ASSERT_TRUE(client_->Environment("api", "production", &env).ok());
  EXPECT_EQ(env.current().id(), "cur");
  EXPECT_FALSE(env.has_in_flight());
  EXPECT_EQ(service_.actor, "incidents");

  ASSERT_TRUE(client_->Annotate("cur", "incident inc-3 (SEV2): no automatic rollback").ok());
  ASSERT_EQ(service_.notes.size(), 1u);
  EXPECT_EQ(service_.notes[0].id(), "cur");
  EXPECT_EQ(service_.notes[0].message(), "incident inc-3 (SEV2): no automatic rollback");
}

TEST(ReleasesClientUnreachableTest, ReportsUnavailable) {
  // Reserve a port, then close it so nothing listens there.
  int port = 0;
  {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    socklen_t len = sizeof(addr);
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
    close(fd);
  }
  auto client = MakeReleasesClient(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  std::vector<v1::Release> out;
  grpc::Status s = client->RecentReleases("api", "production", kOpened, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
}

}  // namespace
}  // namespace flightdeck::incidents
