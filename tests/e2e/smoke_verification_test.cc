// End to end: a release that names a saved smoke suite takes its verdict from the real health
// service running that suite against a local HTTP server: PASSED succeeds the release, FAILED
// rolls it back with the failing check in the reason. A maintenance window's suite runs when the
// window closes: a pass is recorded quietly, a failure opens an incident naming the window.
#include <atomic>
#include <chrono>
#include <ctime>
#include <fstream>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pistache/endpoint.h>

#include "tests/support/http_client.h"
#include "tests/e2e/stack.h"
#include "tests/support/wait.h"

namespace flightdeck::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// Whole seconds, as the service reads them: "2027-03-07T02:00:00Z".
std::string Rfc3339(std::chrono::system_clock::time_point t) {
  const std::time_t s = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// The service a release deploys, on 127.0.0.1: GET /status answers 200 "ready" while healthy,
// 503 "warming up" otherwise, and counts the requests it got.
class ServiceUnderTest {
 public:
  ServiceUnderTest() : endpoint_(Pistache::Address("127.0.0.1", Pistache::Port(0))) {
    endpoint_.init(Pistache::Http::Endpoint::options().threads(1));
    endpoint_.setHandler(std::make_shared<Handler>(this));
    endpoint_.serveThreaded();
  }
  ~ServiceUnderTest() { endpoint_.shutdown(); }

  std::string base_url() const {
    return "http://127.0.0.1:" + std::to_string(static_cast<uint16_t>(endpoint_.getPort()));
  }
  void set_healthy(bool healthy) { healthy_ = healthy; }
  int status_requests() const { return status_requests_; }

 private:
  class Handler : public Pistache::Http::Handler {
   public:
    HTTP_PROTOTYPE(Handler)
    explicit Handler(ServiceUnderTest* owner) : owner_(owner) {}
    void onRequest(const Pistache::Http::Request& request, Pistache::Http::ResponseWriter response) override {
      if (request.resource() != "/status") {
        response.send(Pistache::Http::Code::Not_Found, "no such page");
        return;
      }
      ++owner_->status_requests_;
      if (owner_->healthy_) {
        response.send(Pistache::Http::Code::Ok, "ready");
      } else {
        response.send(Pistache::Http::Code::Service_Unavailable, "warming up");
      }
    }

   private:
    ServiceUnderTest* owner_;
  };

  Pistache::Http::Endpoint endpoint_;
  std::atomic<bool> healthy_{true};
  std::atomic<int> status_requests_{0};
};

class SmokeVerificationE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char dir[] = "/tmp/fd-smoke-e2e-XXXXXX";
    dir_ = new std::string(mkdtemp(dir));
    // A short canary judged on pushed numbers, then the verification the smoke suite gives.
    std::ofstream(*dir_ + "/environments.json")
        << json{{"smoky",
                 {{"canary",
                   {{"steps", {{{"weight", 50}, {"duration", "2s"}}}},
                    {"analysis", {{"interval", "1s"}, {"min_requests", 10}, {"inconclusive_limit", 20}}}}},
                  {"verification_timeout", "60s"}}}}
               .dump();
    stack_ = new Stack({{"FLIGHTDECK_ENVIRONMENTS_FILE", *dir_ + "/environments.json"},
                        {"FLIGHTDECK_JOBS_POLL_INTERVAL", "100ms"}});
    ready_ = stack_->WaitReady();
  }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
    (void)!system(("rm -rf " + *dir_).c_str());
    delete dir_;
  }
  void SetUp() override { ASSERT_TRUE(ready_) << "the stack did not start\n" << stack_->Logs(); }

  static HttpResponse Call(const std::string& method, const std::string& path, const json& body = nullptr) {
    return HttpRequest(method, stack_->gateway_url() + path, body.is_null() ? "" : body.dump(),
                       {{"Authorization", "Bearer " + stack_->admin_token()},
                        {"Content-Type", "application/json"}});
  }
  static json Get(const std::string& path) {
    HttpResponse r = Call("GET", path);
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    return json::parse(r.body, nullptr, false);
  }

  // Creates a release of "shop" into "smoky" naming the suite, pushes healthy canary numbers
  // while it is in CANARY, and waits (60 s at most) until it ended.
  static json ReleaseVerifiedBy(const std::string& suite, const std::string& sha) {
    HttpResponse created = Call("POST", "/v1/releases",
                                {{"service", "shop"}, {"environment", "smoky"}, {"version", "v-" + sha},
                                 {"commit_sha", sha}, {"image", "registry.example/shop:" + sha},
                                 {"smoke_suite", suite}});
    EXPECT_EQ(created.status, 200) << created.body;
    const std::string id = json::parse(created.body, nullptr, false).value("id", "");
    const std::set<std::string> ended = {"SUCCEEDED", "ROLLED_BACK", "FAILED", "ABORTED"};
    json r;
    const bool ended_in_time = WaitUntil([&] {
      r = Get("/v1/releases/" + id);
      if (ended.count(r.value("state", ""))) return true;
      if (r.value("state", "") == "CANARY") {
        Call("POST", "/v1/releases/" + id + "/observations",
             {{"requests", 200}, {"errors", 0}, {"p99_latency_ms", 80}, {"window", "1s"}});
      }
      return false;
    }, 60s, 300ms);
    if (ended_in_time) return r;
    ADD_FAILURE() << "release " << id << " is " << r.value("state", "?") << " after 60 s: "
                  << Get("/v1/releases/" + id + "/events").dump(2);
    return r;
  }

  // The smoke run the release's SMOKE event names, as the health service reports it.
  static json SmokeRunOf(const json& release) {
    for (const json& e : Get("/v1/releases/" + release.value("id", "") + "/events").value("events", json::array())) {
      if (e.value("type", "") != "SMOKE") continue;
      const std::string run_id = e.value("data", json::object()).value("smoke_run_id", "");
      return Get("/v1/health/smoke-runs/" + run_id);
    }
    return nullptr;
  }

  static std::string* dir_;
  static Stack* stack_;
  static bool ready_;
};

std::string* SmokeVerificationE2eTest::dir_ = nullptr;
Stack* SmokeVerificationE2eTest::stack_ = nullptr;
bool SmokeVerificationE2eTest::ready_ = false;

TEST_F(SmokeVerificationE2eTest, TheHealthServicesSmokeRunDecidesTheRelease) {
  ServiceUnderTest shop;
  HttpResponse saved = Call("POST", "/v1/health/smoke-suites",
                            {{"name", "shop-smoke"}, {"base_url", shop.base_url()},
                             {"checks", {{{"name", "status-page"}, {"url", "/status"}, {"expect_status", 200},
                                          {"body_contains", "ready"}}}}});
  ASSERT_EQ(saved.status, 200) << saved.body;

  // Healthy: the suite passes and the release succeeds on its verdict.
  json good = ReleaseVerifiedBy("shop-smoke", "aaaa111");
  EXPECT_EQ(good.value("state", ""), "SUCCEEDED") << good.dump(2);
  EXPECT_GE(shop.status_requests(), 1) << "the health service ran the suite against the shop";
  json good_run = SmokeRunOf(good);
  ASSERT_FALSE(good_run.is_null()) << "no SMOKE event on " << good.value("id", "");
  EXPECT_EQ(good_run.value("state", ""), "PASSED") << good_run.dump(2);
  EXPECT_EQ(good_run.value("release_id", ""), good.value("id", ""));

  // Unhealthy: the suite fails and the release is rolled back, the failing check named.
  shop.set_healthy(false);
  const int before = shop.status_requests();
  json bad = ReleaseVerifiedBy("shop-smoke", "bbbb222");
  EXPECT_EQ(bad.value("state", ""), "ROLLED_BACK") << bad.dump(2);
  EXPECT_GT(shop.status_requests(), before);
  EXPECT_NE(bad.value("outcome_reason", "").find("0/1 checks passed; status-page: "), std::string::npos)
      << bad.dump(2);
  json bad_run = SmokeRunOf(bad);
  ASSERT_FALSE(bad_run.is_null()) << "no SMOKE event on " << bad.value("id", "");
  EXPECT_EQ(bad_run.value("state", ""), "FAILED") << bad_run.dump(2);
  ASSERT_EQ(bad_run.value("results", json::array()).size(), 1u) << bad_run.dump(2);
  EXPECT_EQ(bad_run["results"][0].value("status_code", 0), 503);
  // What runs in "smoky" now is still the good release.
  json here = Get("/v1/services/shop/environments/smoky");
  EXPECT_EQ(here.value("current", json::object()).value("id", ""), good.value("id", "")) << here.dump(2);
}

// Post-maintenance verification on the real clock: one-off windows open now that close a few
// seconds later; the releases service runs the window's suite through the health service.
TEST_F(SmokeVerificationE2eTest, AWindowsSuiteRunsWhenItClosesAndOnlyAFailureOpensAnIncident) {
  ServiceUnderTest db;
  HttpResponse saved = Call("POST", "/v1/health/smoke-suites",
                            {{"name", "db-smoke"}, {"base_url", db.base_url()},
                             {"checks", {{{"name", "status-page"}, {"url", "/status"}, {"expect_status", 200}}}}});
  ASSERT_EQ(saved.status, 200) << saved.body;
  // A window whose only opening is now, closing in 3 s; waits (40 s at most) for its verdict.
  auto verify = [](const std::string& name) {
    const auto now = std::chrono::system_clock::now();
    HttpResponse w = Call("POST", "/v1/windows",
                          {{"name", name}, {"kind", "MAINTENANCE"}, {"environments", {"upkeep"}},
                           {"smoke_suite", "db-smoke"},
                           {"ranges", {{{"start", Rfc3339(now - 60s)}, {"end", Rfc3339(now + 3s)}}}}});
    EXPECT_EQ(w.status, 200) << w.body;
    auto decided = [](const json& smoke) {
      const std::string state = smoke.value("state", "");
      return !state.empty() && state != "RUNNING";
    };
    const json last = PollUntil([&] { return Get("/v1/windows/" + name).value("last_smoke", json::object()); },
                                decided, 40s, 300ms);
    if (decided(last)) return last;
    ADD_FAILURE() << "no post-window verdict for " << name << ": " << last.dump(2) << "\n" << stack_->Logs();
    return last;
  };
  auto incident_naming = [](const std::string& window) {
    for (const json& i : Get("/v1/incidents").value("incidents", json::array())) {
      if (i.value("title", "").find("window " + window + " ") != std::string::npos) return i;
    }
    return json();
  };

  json passed = verify("e2e-upkeep-ok");
  EXPECT_EQ(passed.value("state", ""), "PASSED") << passed.dump(2);
  EXPECT_NE(passed.value("summary", "").find("1/1 checks passed"), std::string::npos) << passed.dump(2);
  EXPECT_GE(db.status_requests(), 1);
  json run = Get("/v1/health/smoke-runs/" + passed.value("run_id", ""));
  EXPECT_EQ(run.value("created_by", ""), "releases (window e2e-upkeep-ok)") << run.dump(2);

  db.set_healthy(false);
  json failed = verify("e2e-upkeep-bad");
  EXPECT_EQ(failed.value("state", ""), "FAILED") << failed.dump(2);
  const json incident = PollUntil([&] { return incident_naming("e2e-upkeep-bad"); },
                                  [](const json& found) { return !found.is_null(); }, 30s, 500ms);
  ASSERT_FALSE(incident.is_null()) << "no incident: " << Get("/v1/incidents").dump(2) << "\n" << stack_->Logs();
  EXPECT_NE(incident.value("title", "").find("status-page"), std::string::npos) << incident.dump(2);
  EXPECT_TRUE(incident_naming("e2e-upkeep-ok").is_null()) << "a passing smoke suite opened an incident";
}

}  // namespace
}  // namespace flightdeck::test
