// End to end: a Watch stream of each service (WatchRelease, WatchHealth, WatchIncidents) wakes on
// the events table's LISTEN/NOTIFY trigger, not on its 5 s fallback. Events are inserted into the
// service's events table from another connection, the way another replica writes them, each one
// right after the stream delivered the one before (so the stream is waiting): every one must
// arrive well under the fallback. With a broken trigger or a feed on the wrong channel, each
// would take about 5 s. Events the service writes itself are notified by its ChangeAnnouncer
// after the commit instead (common/db/change_feed.h): they must arrive as promptly.
#include <chrono>
#include <fstream>
#include <memory>
#include <functional>
#include <string>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "flightdeck/v1/health.grpc.pb.h"
#include "flightdeck/v1/incidents.grpc.pb.h"
#include "flightdeck/v1/releases.grpc.pb.h"
#include "tests/support/http_client.h"
#include "tests/e2e/stack.h"
#include "tests/support/wait.h"

namespace flightdeck::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// A Watch stream opened as the gateway opens one for a viewer; cancelled when it goes.
template <typename Event>
class ViewerStream {
 public:
  // `open(context)` starts the call, e.g. `stub->WatchRelease(context, request)`.
  template <typename Open>
  explicit ViewerStream(Open open) {
    context_.AddMetadata("x-flightdeck-role", "VIEWER");  // as the gateway passes a viewer's role
    context_.set_deadline(std::chrono::system_clock::now() + 30s);
    reader_ = open(&context_);
  }
  ~ViewerStream() {
    context_.TryCancel();
    reader_->Finish();
  }
  ViewerStream(const ViewerStream&) = delete;
  ViewerStream& operator=(const ViewerStream&) = delete;

  bool Read(Event* event) { return reader_->Read(event); }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<Event>> reader_;
};

// Far below the 5 s fallback, far above a notification's few milliseconds on a loaded machine.
constexpr auto kWakeUpBound = 1500ms;
constexpr int kRounds = 4;

class WatchWakeUpE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char dir[] = "/tmp/fd-watch-e2e-XXXXXX";
    dir_ = new std::string(mkdtemp(dir));
    // Releases into "held" wait for an approval: a release that stays open, so its stream does.
    std::ofstream(*dir_ + "/environments.json") << json{{"held", {{"require_approval", true}}}}.dump();
    stack_ = new Stack({{"FLIGHTDECK_ENVIRONMENTS_FILE", *dir_ + "/environments.json"}});
    ready_ = stack_->WaitReady();
  }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
    (void)!system(("rm -rf " + *dir_).c_str());
    delete dir_;
  }
  void SetUp() override {
    ASSERT_TRUE(ready_) << "the stack did not start\n" << stack_->Logs();
    db_ = std::make_unique<pqxx::connection>(stack_->database_url());
  }

  static HttpResponse Call(const std::string& method, const std::string& path, const json& body) {
    return HttpRequest(method, stack_->gateway_url() + path, body.dump(),
                       {{"Authorization", "Bearer " + stack_->admin_token()},
                        {"Content-Type", "application/json"}});
  }

  // Runs one statement that returns a bigint (an id), committed.
  long long Insert(const std::string& sql, const std::string& param) {
    pqxx::work tx(*db_);
    pqxx::result r = tx.exec_params(sql, param);
    tx.commit();
    return r[0][0].as<long long>();
  }
  long long MaxId(const std::string& table) {
    pqxx::work tx(*db_);
    return tx.exec("SELECT coalesce(max(id), 0) FROM " + table)[0][0].as<long long>();
  }

  // Declares an incident of `service` through the gateway and opens a viewer's WatchIncidents
  // stream of it from its latest event on; sets `id` (empty when the declaration failed).
  std::unique_ptr<ViewerStream<v1::IncidentEvent>> DeclareAndWatch(const std::string& service, std::string* id) {
    HttpResponse declared = Call("POST", "/v1/incidents",
                                 {{"title", service + " is slow"}, {"severity", "SEV3"}, {"service", service}});
    EXPECT_EQ(declared.status, 200) << declared.body;
    *id = json::parse(declared.body, nullptr, false).value("id", "");
    incidents_ = v1::IncidentService::NewStub(stack_->Channel("incidents"));
    v1::WatchIncidentsRequest request;
    request.set_incident_id(*id);
    request.set_after_event_id(MaxId("incidents.events"));
    return std::make_unique<ViewerStream<v1::IncidentEvent>>(
        [&](auto* context) { return incidents_->WatchIncidents(context, request); });
  }

  // Writes kRounds events with `write` (which answers the new event's id), each once the stream
  // delivered the previous one, and checks that each arrived within kWakeUpBound.
  template <typename Event>
  void ExpectPromptWakeUps(ViewerStream<Event>& stream, const std::function<long long()>& write,
                           const char* what) {
    for (int round = 0; round < kRounds; ++round) {
      const auto written = std::chrono::steady_clock::now();
      const long long id = write();
      // The service may write events of its own meanwhile: they come first, in order.
      Event event;
      do {
        ASSERT_TRUE(stream.Read(&event)) << what << ": the stream ended (round " << round << ")";
      } while (event.id() < id);
      const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - written);
      EXPECT_EQ(event.id(), id) << what;
      EXPECT_LT(waited, kWakeUpBound) << what << ": round " << round << " took " << waited.count()
                                      << " ms (the fallback is 5000 ms)";
    }
  }

  static std::string* dir_;
  static Stack* stack_;
  static bool ready_;
  std::unique_ptr<pqxx::connection> db_;
  std::unique_ptr<v1::IncidentService::Stub> incidents_;  // DeclareAndWatch's streams' stub
};

std::string* WatchWakeUpE2eTest::dir_ = nullptr;
Stack* WatchWakeUpE2eTest::stack_ = nullptr;
bool WatchWakeUpE2eTest::ready_ = false;

TEST_F(WatchWakeUpE2eTest, WatchReleaseWakesOnTheReleasesTrigger) {
  HttpResponse created = Call("POST", "/v1/releases",
                              {{"service", "checkout"}, {"environment", "held"}, {"version", "v1"},
                               {"commit_sha", "abc1234"}, {"image", "registry.example/checkout:abc1234"}});
  ASSERT_EQ(created.status, 200) << created.body;
  const std::string id = json::parse(created.body).value("id", "");
  // Once it waits for its approval, the pipeline writes nothing more to its timeline.
  const std::string state = PollUntil(
      [&] {
        HttpResponse got = HttpRequest("GET", stack_->gateway_url() + "/v1/releases/" + id, "",
                                       {{"Authorization", "Bearer " + stack_->admin_token()}});
        return json::parse(got.body, nullptr, false).value("state", "");
      },
      [](const std::string& s) { return s == "AWAITING_APPROVAL"; }, 30s, 100ms);
  ASSERT_EQ(state, "AWAITING_APPROVAL");
  auto stub = v1::ReleaseService::NewStub(stack_->Channel("releases"));
  v1::WatchReleaseRequest request;
  request.set_id(id);
  request.set_after_event_id(MaxId("releases.events"));
  ViewerStream<v1::ReleaseEvent> stream(
      [&](auto* context) { return stub->WatchRelease(context, request); });
  ExpectPromptWakeUps(stream, [&] {
    return Insert("INSERT INTO releases.events (release_id, at, type, actor, message) "
                  "VALUES ($1, now(), 'NOTE', 'test', 'written by another replica') RETURNING id", id);
  }, "WatchRelease");
}

TEST_F(WatchWakeUpE2eTest, WatchHealthWakesOnTheHealthTrigger) {
  auto stub = v1::HealthService::NewStub(stack_->Channel("health"));
  v1::WatchHealthRequest request;
  request.set_service("wakeup");
  const long long anchor = Insert(
      "INSERT INTO health.events (at, kind, service, environment, from_status, to_status) "
      "VALUES (now(), 'SERVICE', $1, 'production', 'HEALTHY', 'UNHEALTHY') RETURNING id", "wakeup");
  request.set_after_id(anchor);
  ViewerStream<v1::HealthEvent> stream(
      [&](auto* context) { return stub->WatchHealth(context, request); });
  bool healthy = false;
  ExpectPromptWakeUps(stream, [&] {
    healthy = !healthy;
    return Insert(healthy ? "INSERT INTO health.events (at, kind, service, environment, from_status, to_status) "
                            "VALUES (now(), 'SERVICE', $1, 'production', 'UNHEALTHY', 'HEALTHY') RETURNING id"
                          : "INSERT INTO health.events (at, kind, service, environment, from_status, to_status) "
                            "VALUES (now(), 'SERVICE', $1, 'production', 'HEALTHY', 'UNHEALTHY') RETURNING id",
                  "wakeup");
  }, "WatchHealth");
}

TEST_F(WatchWakeUpE2eTest, WatchIncidentsWakesOnTheIncidentsTrigger) {
  std::string id;
  auto stream = DeclareAndWatch("search", &id);
  ASSERT_FALSE(id.empty());
  ExpectPromptWakeUps(*stream, [&] {
    return Insert("INSERT INTO incidents.events (incident_id, at, actor, kind, message) "
                  "VALUES ($1, now(), 'test', 'STATUS_UPDATE', 'written by another replica') RETURNING id", id);
  }, "WatchIncidents");
}

TEST_F(WatchWakeUpE2eTest, WatchIncidentsWakesOnTheServicesOwnAnnouncedWrites) {
  std::string id;
  auto stream = DeclareAndWatch("cart", &id);
  ASSERT_FALSE(id.empty());
  int round = 0;
  ExpectPromptWakeUps(*stream, [&] {
    HttpResponse posted = Call("POST", "/v1/incidents/" + id + "/updates",
                               {{"message", "still looking, round " + std::to_string(++round)}});
    EXPECT_EQ(posted.status, 200) << posted.body;
    pqxx::work tx(*db_);
    return tx.exec_params("SELECT max(id) FROM incidents.events WHERE incident_id = $1", id)[0][0]
        .as<long long>();
  }, "WatchIncidents (written by the service)");
}

}  // namespace
}  // namespace flightdeck::test
