// Integration: the gateway's call core through its REST front, in front of fake releases,
// health and incidents services, with the real token store, audit log and idempotency records
// on a fresh PostgreSQL database: who-am-I, the overview, streamed timelines (and a client
// that goes away), idempotent replays, how input is read (durations, enums in any case, every
// bad field at once), and a shutdown that waits for every answer.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "flightdeck/v1/health.grpc.pb.h"
#include "flightdeck/v1/incidents.grpc.pb.h"
#include "flightdeck/v1/releases.grpc.pb.h"
#include "tests/services/gateway/test_gateway.h"

namespace flightdeck::gateway {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using test::HttpResponse;

class FakeReleases final : public v1::ReleaseService::Service {
 public:
  grpc::Status CreateRelease(grpc::ServerContext*, const v1::CreateReleaseRequest* request,
                             v1::Release* response) override {
    ++creates;
    last_create = *request;
    response->set_id("rel-" + std::to_string(creates.load()));
    response->set_service(request->service());
    return grpc::Status::OK;
  }
  grpc::Status ListServiceEnvironments(grpc::ServerContext*, const v1::ListServiceEnvironmentsRequest*,
                                       v1::ListServiceEnvironmentsResponse* response) override {
    v1::ServiceEnvironment* e = response->add_environments();
    e->set_service("checkout");
    e->set_environment("production");
    e->mutable_current()->set_version("v2.4.0");
    e->mutable_in_flight()->set_version("v2.5.0");
    e->mutable_in_flight()->set_state(v1::Release::CANARY);
    e->set_queued(1);
    return grpc::Status::OK;
  }
  // Two events, then a third once the test says so, then the end; or, when the client goes
  // away first, notices the cancellation.
  grpc::Status WatchRelease(grpc::ServerContext* context, const v1::WatchReleaseRequest* request,
                            grpc::ServerWriter<v1::ReleaseEvent>* writer) override {
    watch_id = request->id();
    if (request->id() == "missing") return grpc::Status(grpc::StatusCode::NOT_FOUND, "release missing: not found");
    if (request->id() == "quiet") {  // open, but nothing to say yet
      writer->SendInitialMetadata();
      while (!context->IsCancelled()) std::this_thread::sleep_for(10ms);
      return grpc::Status::CANCELLED;
    }
    for (int i = 1; i <= 2; ++i) {
      v1::ReleaseEvent e;
      e.set_id(i);
      e.set_type(i == 1 ? "CREATED" : "STATE_CHANGED");
      writer->Write(e);
    }
    std::unique_lock<std::mutex> lock(mu);
    while (!release_third && !context->IsCancelled()) cv.wait_for(lock, 20ms);
    if (context->IsCancelled()) {
      watch_cancelled = true;
      return grpc::Status::CANCELLED;
    }
    v1::ReleaseEvent e;
    e.set_id(3);
    e.set_type("STATE_CHANGED");
    e.set_message("SUCCEEDED");
    writer->Write(e);
    return grpc::Status::OK;
  }

  std::atomic<int> creates{0};
  v1::CreateReleaseRequest last_create;
  std::string watch_id;
  std::mutex mu;
  std::condition_variable cv;
  bool release_third = false;
  std::atomic<bool> watch_cancelled{false};
};

class FakeIncidents final : public v1::IncidentService::Service {
 public:
  grpc::Status ListIncidents(grpc::ServerContext*, const v1::ListIncidentsRequest* request,
                             v1::ListIncidentsResponse* response) override {
    last_state = request->state();
    v1::Incident* i = response->add_incidents();
    i->set_id("inc-1");
    i->set_service("checkout");
    i->set_environment("production");
    i->set_title("checkout 5xx");
    i->add_alerts()->set_id("a-1");  // an overview carries summaries: this must be dropped
    v1::Incident* other = response->add_incidents();
    other->set_id("inc-2");
    other->set_title("office wifi");
    return grpc::Status::OK;
  }
  std::string last_state;
};

// Health that is down: the overview must say so instead of showing nothing.
class DownHealth final : public v1::HealthService::Service {
 public:
  grpc::Status ListTargets(grpc::ServerContext*, const v1::ListTargetsRequest*,
                           v1::ListTargetsResponse*) override {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "database unavailable");
  }
};

// Reads an HTTP response from a raw socket as it arrives, so that a test can see the lines of
// a stream before the stream ends.
class RawClient {
 public:
  explicit RawClient(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    EXPECT_EQ(connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  }
  ~RawClient() { Close(); }
  void Send(const std::string& s) { ASSERT_EQ(send(fd_, s.data(), s.size(), 0), ssize_t(s.size())); }
  bool WaitFor(const std::string& needle, std::chrono::milliseconds timeout = 5000ms) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (received_.find(needle) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      char buffer[4096];
      ssize_t n = recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      received_.append(buffer, size_t(n));
    }
    return received_.find(needle) != std::string::npos;
  }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }
  const std::string& received() const { return received_; }

 private:
  int fd_ = -1;
  std::string received_;
};

class CoreRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    gateway_ = std::make_unique<testing::TestGateway>(std::map<api::Service, grpc::Service*>{
        {api::Service::kReleases, &releases_},
        {api::Service::kIncidents, &incidents_},
        {api::Service::kHealth, &health_}});
    deployer_ = gateway_->CreateToken("ci-pipeline", "DEPLOYER");
    viewer_ = gateway_->CreateToken("dashboard", "viewer");  // roles in any case
  }
  HttpResponse Call(const std::string& method, const std::string& path, const std::string& token,
                    const std::string& body = "", std::map<std::string, std::string> headers = {}) {
    return gateway_->Call(method, path, token, body, std::move(headers));
  }

  FakeReleases releases_;
  FakeIncidents incidents_;
  DownHealth health_;
  std::unique_ptr<testing::TestGateway> gateway_;
  std::string deployer_;
  std::string viewer_;
};

TEST_F(CoreRoutesTest, WhoAmIAnswersForAnyValidTokenAndRefusesOthers) {
  ASSERT_FALSE(viewer_.empty()) << "a lower-case role must be accepted";
  HttpResponse me = Call("GET", "/v1/whoami", deployer_);
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(json::parse(me.body), json::parse(R"({"name":"ci-pipeline","role":"DEPLOYER"})"));

  std::string ingest = gateway_->CreateToken("alertmanager", "Ingest");
  EXPECT_EQ(json::parse(Call("GET", "/v1/whoami", ingest).body)["role"], "INGEST");

  HttpResponse bad = Call("GET", "/v1/whoami", "fd_0000000000000000000000000000000000000000");
  EXPECT_EQ(bad.status, 401) << bad.body;
  EXPECT_EQ(json::parse(bad.body)["error"]["code"], "UNAUTHENTICATED");
  EXPECT_EQ(Call("GET", "/v1/whoami", "").status, 401);
}

TEST_F(CoreRoutesTest, EnumErrorsListTheValidValuesAndEveryBadFieldIsReportedAtOnce) {
  HttpResponse r = Call("POST", "/v1/tokens", testing::kAdminSecret,
                        R"({"name":"x","role":"superuser","colour":"red"})");
  ASSERT_EQ(r.status, 400) << r.body;
  std::string message = json::parse(r.body)["error"]["message"];
  EXPECT_NE(message.find("role: \"superuser\" is not one of VIEWER, DEPLOYER, OPERATOR, ADMIN, INGEST"),
            std::string::npos) << message;
  EXPECT_NE(message.find("colour: unknown field"), std::string::npos) << message;
  EXPECT_EQ(message.find("type.googleapis.com"), std::string::npos) << message;
}

TEST_F(CoreRoutesTest, DurationsAreAcceptedInEveryCommonForm) {
  HttpResponse r = Call("POST", "/v1/releases", deployer_, R"({
      "service":"checkout","environment":"staging","version":"v1","commit_sha":"9fceb02d",
      "canary":{"steps":[{"weight":5,"duration":"10m"},{"weight":50,"duration":"1h30m"},
                         {"weight":75,"duration":"600s"}],
                "analysis":{"interval":"500ms"}}})");
  ASSERT_EQ(r.status, 200) << r.body;
  const v1::CanaryPlan& canary = releases_.last_create.canary();
  ASSERT_EQ(canary.steps_size(), 3);
  EXPECT_EQ(canary.steps(0).duration().seconds(), 600);
  EXPECT_EQ(canary.steps(1).duration().seconds(), 5400);
  EXPECT_EQ(canary.steps(2).duration().seconds(), 600);
  EXPECT_EQ(canary.analysis().interval().nanos(), 500000000);

  HttpResponse bad = Call("POST", "/v1/releases", deployer_,
                          R"({"service":"checkout","canary":{"steps":[{"duration":"ten minutes"}]}})");
  ASSERT_EQ(bad.status, 400) << bad.body;
  EXPECT_NE(bad.body.find("canary.steps[0].duration: \\\"ten minutes\\\" is not a duration"), std::string::npos)
      << bad.body;
}

TEST_F(CoreRoutesTest, AnIdempotentRetryGetsTheFirstAnswerWithoutASecondCreate) {
  const std::string body = R"({"service":"checkout","environment":"staging","version":"v1","commit_sha":"9fceb02d"})";
  HttpResponse first = Call("POST", "/v1/releases", deployer_, body, {{"Idempotency-Key", "build-42"}});
  ASSERT_EQ(first.status, 200) << first.body;
  HttpResponse again = Call("POST", "/v1/releases", deployer_, body, {{"Idempotency-Key", "build-42"}});
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.headers["idempotent-replayed"], "true");
  EXPECT_EQ(json::parse(again.body), json::parse(first.body));
  EXPECT_EQ(releases_.creates.load(), 1);
  HttpResponse other = Call("POST", "/v1/releases", deployer_,
                            R"({"service":"payments","environment":"staging","version":"v1","commit_sha":"9fceb02d"})",
                            {{"Idempotency-Key", "build-42"}});
  EXPECT_EQ(other.status, 400) << other.body;
}

TEST_F(CoreRoutesTest, AReplayedTokenCreationNeverShowsTheSecretAgain) {
  const std::string body = R"({"name":"deploy-bot","role":"DEPLOYER"})";
  HttpResponse first = Call("POST", "/v1/tokens", testing::kAdminSecret, body, {{"Idempotency-Key", "t-1"}});
  ASSERT_EQ(first.status, 200) << first.body;
  std::string secret = json::parse(first.body)["secret"];
  ASSERT_FALSE(secret.empty());
  HttpResponse again = Call("POST", "/v1/tokens", testing::kAdminSecret, body, {{"Idempotency-Key", "t-1"}});
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.headers["idempotent-replayed"], "true");
  EXPECT_EQ(json::parse(again.body)["name"], "deploy-bot");
  EXPECT_EQ(json::parse(again.body)["secret"], "");
  EXPECT_EQ(again.body.find(secret), std::string::npos);
  // The secret works, and only one token was made.
  EXPECT_EQ(Call("GET", "/v1/whoami", secret).status, 200);
  EXPECT_EQ(json::parse(Call("GET", "/v1/tokens", testing::kAdminSecret).body)["tokens"].size(), 3u);
}

TEST_F(CoreRoutesTest, AuditRecordsTheQueryAndWhatACreateMade) {
  ASSERT_EQ(Call("POST", "/v1/releases?dry=1", deployer_,
                 R"({"service":"checkout","environment":"staging","version":"v1","commit_sha":"9fceb02d"})")
                .status,
            400) << "an unknown query parameter is refused";
  ASSERT_EQ(Call("POST", "/v1/releases", deployer_,
                 R"({"service":"checkout","environment":"staging","version":"v1","commit_sha":"9fceb02d"})")
                .status,
            200);
  json audit = gateway_->AuditOf("ci-pipeline");
  ASSERT_EQ(audit.size(), 2u) << audit.dump();
  EXPECT_EQ(audit[0]["target"], "/v1/releases/rel-1");
  EXPECT_EQ(audit[1]["target"], "/v1/releases?dry=1");
  EXPECT_EQ(audit[1]["status"], 400);

  // A path parameter holding a NUL is refused by name, and audited with the path as it was sent.
  HttpResponse nul = Call("POST", "/v1/releases/abc%00def/approve", deployer_, "{}");
  EXPECT_EQ(nul.status, 400) << nul.body;
  EXPECT_NE(nul.body.find("contains a NUL character"), std::string::npos) << nul.body;
  audit = gateway_->AuditOf("ci-pipeline");
  ASSERT_EQ(audit.size(), 3u) << audit.dump();
  EXPECT_EQ(audit[0]["target"], "/v1/releases/abc%00def/approve") << audit.dump();
  EXPECT_EQ(audit[0]["status"], 400);
}

TEST_F(CoreRoutesTest, OverviewJoinsTheServicesAndNamesTheOnesThatDidNotAnswer) {
  HttpResponse r = Call("GET", "/v1/overview", viewer_);
  ASSERT_EQ(r.status, 200) << r.body;
  json o = json::parse(r.body);
  ASSERT_EQ(o["entries"].size(), 1u) << r.body;
  const json& e = o["entries"][0];
  EXPECT_EQ(e["service"], "checkout");
  EXPECT_EQ(e["environment"], "production");
  EXPECT_EQ(e["current"]["version"], "v2.4.0");
  EXPECT_EQ(e["in_flight"]["state"], "CANARY");
  EXPECT_EQ(e["queued"], 1);
  ASSERT_EQ(e["open_incidents"].size(), 1u);
  EXPECT_EQ(e["open_incidents"][0]["id"], "inc-1");
  EXPECT_TRUE(e["open_incidents"][0]["alerts"].empty()) << "summaries only";
  ASSERT_EQ(o["other_incidents"].size(), 1u);
  EXPECT_EQ(o["unavailable"], json::array({"health"}));
  EXPECT_EQ(incidents_.last_state, "open");
  EXPECT_EQ(Call("GET", "/v1/overview", "").status, 401);
}

TEST_F(CoreRoutesTest, WatchStreamsTheTimelineAsNdjsonUntilTheReleaseEnds) {
  RawClient c(gateway_->port());
  c.Send("GET /v1/releases/rel-7/events?watch=true HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + viewer_ +
         "\r\n\r\n");
  // The first two events arrive while the release is still going.
  ASSERT_TRUE(c.WaitFor("\"STATE_CHANGED\"")) << c.received();
  EXPECT_NE(c.received().find("Content-Type: application/x-ndjson"), std::string::npos) << c.received();
  EXPECT_NE(c.received().find("Transfer-Encoding: chunked"), std::string::npos);
  EXPECT_NE(c.received().find("\"CREATED\""), std::string::npos);
  EXPECT_EQ(c.received().find("SUCCEEDED"), std::string::npos);
  EXPECT_EQ(releases_.watch_id, "rel-7");
  {
    std::lock_guard<std::mutex> lock(releases_.mu);
    releases_.release_third = true;
  }
  ASSERT_TRUE(c.WaitFor("0\r\n\r\n")) << c.received();
  EXPECT_NE(c.received().find("SUCCEEDED"), std::string::npos);
}

TEST_F(CoreRoutesTest, AClientThatGoesAwayCancelsItsStream) {
  {
    RawClient c(gateway_->port());
    c.Send("GET /v1/releases/rel-8/events?watch=true HTTP/1.1\r\nAuthorization: Bearer " + viewer_ + "\r\n\r\n");
    ASSERT_TRUE(c.WaitFor("\"STATE_CHANGED\"")) << c.received();
  }
  for (int i = 0; i < 250 && !releases_.watch_cancelled; ++i) std::this_thread::sleep_for(20ms);
  EXPECT_TRUE(releases_.watch_cancelled.load());
  std::string metrics;
  for (int i = 0; i < 250; ++i) {
    metrics = gateway_->registry().Expose();
    if (metrics.find("flightdeck_gateway_open_streams{method=\"flightdeck.v1.ReleaseService.WatchRelease\"} 0") !=
        std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_NE(metrics.find("flightdeck_gateway_open_streams{method=\"flightdeck.v1.ReleaseService.WatchRelease\"} 0"),
            std::string::npos) << metrics;
}

TEST_F(CoreRoutesTest, AQuietStreamAnswersAtOnceAndAnUnknownOneIsAPlainError) {
  RawClient quiet(gateway_->port());
  quiet.Send("GET /v1/releases/quiet/events?watch=true HTTP/1.1\r\nAuthorization: Bearer " + viewer_ + "\r\n\r\n");
  EXPECT_TRUE(quiet.WaitFor("Transfer-Encoding: chunked\r\n", 3000ms)) << quiet.received();
  EXPECT_NE(quiet.received().find("HTTP/1.1 200"), std::string::npos);
  quiet.Close();

  HttpResponse missing = Call("GET", "/v1/releases/missing/events?watch=true", viewer_);
  EXPECT_EQ(missing.status, 404) << missing.body;
  EXPECT_EQ(json::parse(missing.body)["error"]["code"], "NOT_FOUND");
}

// A call whose client has gone is still being answered (here its audit row waits on a lock)
// and will record into the gateway's metrics: Shutdown waits for it, or the answer would run
// into a destroyed gateway.
TEST_F(CoreRoutesTest, ShutdownWaitsForTheAnswerOfACallWhoseClientHasGone) {
  pqxx::connection holder(gateway_->database_url());
  pqxx::work lock(holder);
  lock.exec0("LOCK TABLE gateway.audit IN EXCLUSIVE MODE");
  {
    RawClient c(gateway_->port());
    const std::string body = R"({"service":"checkout","environment":"production","version":"v2.5.0"})";
    c.Send("POST /v1/releases HTTP/1.1\r\nAuthorization: Bearer " + deployer_ +
           "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n\r\n" + body);
    for (int i = 0; i < 250 && releases_.creates == 0; ++i) std::this_thread::sleep_for(20ms);
    ASSERT_EQ(releases_.creates.load(), 1);
  }
  auto stopped = std::async(std::launch::async, [this] { return gateway_->Shutdown(5s); });
  EXPECT_EQ(stopped.wait_for(500ms), std::future_status::timeout) << "Shutdown left an answer under way";
  lock.commit();
  ASSERT_EQ(stopped.wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(stopped.get());
}

// A front's responder, told about a stream by the core, records what it is told and whether
// two of its methods ever ran at once. Its StreamOpened dawdles, so that the first message's
// read completes meanwhile (gRPC runs the two reactions on different threads).
class RecordingResponder final : public Responder {
 public:
  void Reply(const google::protobuf::Message&, bool) override { Enter("reply"); }
  void StreamOpened() override {
    Enter("opened");
    std::this_thread::sleep_for(100ms);
    Leave();
  }
  void StreamMessage(const google::protobuf::Message& message) override {
    Enter("message " + std::to_string(static_cast<const v1::ReleaseEvent&>(message).id()));
    Leave();
  }
  void Finish(const grpc::Status& status) override {
    Enter("finish " + std::to_string(status.error_code()));
    Leave();
    finished.set_value();
  }

  std::atomic<int> inside{0};
  std::atomic<bool> overlapped{false};
  std::mutex mu;
  std::vector<std::string> told;
  std::promise<void> finished;

 private:
  void Enter(std::string what) {
    if (inside.fetch_add(1) != 0) overlapped = true;
    std::lock_guard<std::mutex> lock(mu);
    told.push_back(std::move(what));
  }
  void Leave() { inside.fetch_sub(1); }
};

TEST_F(CoreRoutesTest, AStreamsResponderIsToldOneThingAtATimeInOrder) {
  {
    std::lock_guard<std::mutex> lock(releases_.mu);
    releases_.release_third = true;
  }
  auto responder = std::make_shared<RecordingResponder>();
  std::future<void> finished = responder->finished.get_future();
  auto request = std::make_unique<v1::WatchReleaseRequest>();
  request->set_id("rel-9");
  CallRequest call;
  call.method = api::FindMethod("/flightdeck.v1.ReleaseService/WatchRelease");
  ASSERT_NE(call.method, nullptr);
  call.message = std::move(request);
  call.bearer_token = viewer_;
  call.client_address = "127.0.0.1:1";
  call.request_id = "serial";
  std::shared_ptr<CallHandle> handle = gateway_->core().Start(std::move(call), responder);
  ASSERT_EQ(finished.wait_for(5s), std::future_status::ready);
  EXPECT_FALSE(responder->overlapped.load()) << "two responder methods ran at once";
  std::lock_guard<std::mutex> lock(responder->mu);
  EXPECT_EQ(responder->told,
            (std::vector<std::string>{"opened", "message 1", "message 2", "message 3", "finish 0"}));
}

TEST_F(CoreRoutesTest, WatchNeedsARoleAndIsOnlyWhereATwinExists) {
  EXPECT_EQ(Call("GET", "/v1/releases/rel-7/events?watch=true", "").status, 401);
  HttpResponse r = Call("GET", "/v1/releases?watch=true", viewer_);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("watch: not supported"), std::string::npos);
}

}  // namespace
}  // namespace flightdeck::gateway

namespace flightdeck::gateway {
namespace {

// A gateway killed between claiming an Idempotency-Key and storing the answer leaves the claim
// "in progress": past `abandoned_after` the next request with the key takes it over instead of
// getting 409 for 24 hours (found by tests/chaos/releases_kill_test.cc).
TEST(IdempotencyStoreTest, AClaimAbandonedByADeadGatewayIsTakenOver) {
  test::TestDatabase database;
  db::Pool pool(db::PoolOptions{database.url(), 2});
  ASSERT_TRUE(db::Migrate(pool, db::EmbeddedMigrations("gateway")).ok());
  IdempotencyStore store(pool, std::chrono::milliseconds(300));
  IdempotencyStore::Outcome out;
  ASSERT_TRUE(store.Begin("ci", "k1", "POST", "/v1/releases", "hash-a", &out).ok());
  EXPECT_EQ(out.kind, IdempotencyStore::Outcome::kProceed);
  // The first request is still within its time: a retry waits (409).
  EXPECT_EQ(store.Begin("ci", "k1", "POST", "/v1/releases", "hash-a", &out).error_code(),
            grpc::StatusCode::ABORTED);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  // Another request under the same key is still refused; the same request takes the claim over.
  EXPECT_EQ(store.Begin("ci", "k1", "POST", "/v1/releases", "hash-b", &out).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_TRUE(store.Begin("ci", "k1", "POST", "/v1/releases", "hash-a", &out).ok());
  EXPECT_EQ(out.kind, IdempotencyStore::Outcome::kProceed);
  // ... and holds it afresh.
  EXPECT_EQ(store.Begin("ci", "k1", "POST", "/v1/releases", "hash-a", &out).error_code(),
            grpc::StatusCode::ABORTED);
}

// The answer and the request's audit row are one statement: both are there after Finish, and
// a server-side failure releases the key but still leaves the audit row.
TEST(IdempotencyStoreTest, TheAnswerAndItsAuditRowAreStoredTogether) {
  test::TestDatabase database;
  db::Pool pool(db::PoolOptions{database.url(), 2});
  ASSERT_TRUE(db::Migrate(pool, db::EmbeddedMigrations("gateway")).ok());
  IdempotencyStore store(pool);
  AuditLog audit(pool);
  IdempotencyStore::Outcome out;
  ASSERT_TRUE(store.Begin("ci", "k1", "POST", "/v1/releases", "hash-a", &out).ok());
  v1::AuditEntry entry;
  entry.set_actor("ci");
  entry.set_role("DEPLOYER");
  entry.set_action("POST /v1/releases");
  entry.set_target("/v1/releases/rel-1");
  entry.set_status(200);
  entry.set_request_id("req-1");
  ASSERT_TRUE(store.Finish("ci", "k1", grpc::Status::OK, "first answer", &entry).ok());
  ASSERT_TRUE(store.Begin("ci", "k1", "POST", "/v1/releases", "hash-a", &out).ok());
  EXPECT_EQ(out.kind, IdempotencyStore::Outcome::kReplay);
  EXPECT_EQ(out.response, "first answer");

  ASSERT_TRUE(store.Begin("ci", "k2", "POST", "/v1/releases", "hash-b", &out).ok());
  entry.set_request_id("req-2");
  entry.set_status(503);
  ASSERT_TRUE(store.Finish("ci", "k2", grpc::Status(grpc::StatusCode::UNAVAILABLE, "down"), "", &entry).ok());
  ASSERT_TRUE(store.Begin("ci", "k2", "POST", "/v1/releases", "hash-b", &out).ok());
  EXPECT_EQ(out.kind, IdempotencyStore::Outcome::kProceed) << "a server-side failure releases the key";

  v1::ListAuditRequest request;
  request.set_actor("ci");
  v1::ListAuditResponse listed;
  ASSERT_TRUE(audit.List(request, &listed).ok());
  ASSERT_EQ(listed.entries_size(), 2);
  EXPECT_EQ(listed.entries(0).request_id(), "req-2");
  EXPECT_EQ(listed.entries(0).status(), 503);
  EXPECT_EQ(listed.entries(1).request_id(), "req-1");
  EXPECT_EQ(listed.entries(1).target(), "/v1/releases/rel-1");
}

// A record older than 24 hours is gone for all purposes: the key is claimed afresh, for any
// request, and the old answer is not replayed.
TEST(IdempotencyStoreTest, AnExpiredRecordIsClaimedAfresh) {
  test::TestDatabase database;
  db::Pool pool(db::PoolOptions{database.url(), 2});
  ASSERT_TRUE(db::Migrate(pool, db::EmbeddedMigrations("gateway")).ok());
  IdempotencyStore store(pool);
  IdempotencyStore::Outcome out;
  ASSERT_TRUE(store.Begin("ci", "k1", "POST", "/v1/releases", "hash-a", &out).ok());
  ASSERT_TRUE(store.Finish("ci", "k1", grpc::Status::OK, "old answer").ok());
  ASSERT_TRUE(pool.Transact("age the record", [](pqxx::transaction_base& tx) {
    tx.exec("UPDATE gateway.idempotency SET created_at = now() - interval '25 hours'");
    return grpc::Status::OK;
  }).ok());
  ASSERT_TRUE(store.Begin("ci", "k1", "POST", "/v1/tokens", "hash-b", &out).ok());
  EXPECT_EQ(out.kind, IdempotencyStore::Outcome::kProceed);
  // The new claim is in progress, and knows its own request.
  EXPECT_EQ(store.Begin("ci", "k1", "POST", "/v1/tokens", "hash-b", &out).error_code(),
            grpc::StatusCode::ABORTED);
  EXPECT_EQ(store.Begin("ci", "k1", "POST", "/v1/releases", "hash-a", &out).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace flightdeck::gateway
