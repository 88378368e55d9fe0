// End to end, the deploy-correlation scenario a first day of real use ran into, over REST: staging runs a ROLLBACK
// release (v1 restored after v2 went bad, chosen by a commit prefix), then a SEV2 incident opens
// on the service. Nothing older is rolled back, both timelines say why, and nothing is retried.
#include <chrono>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/http_client.h"
#include "tests/e2e/stack.h"
#include "tests/support/wait.h"

namespace flightdeck::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const char kService[] = "ledger";
const char kEnv[] = "staging";
const char kShaV1[] = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678";
const char kShaV2[] = "b2c3d4e5f60718293a4b5c6d7e8f901234567890";

class CorrelationE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    stack_ = new Stack(std::map<std::string, std::string>{{"FLIGHTDECK_JOBS_POLL_INTERVAL", "100ms"}});
    ready_ = stack_->WaitReady();
  }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(ready_) << "the stack did not start\n" << stack_->Logs(); }

  static HttpResponse Call(const std::string& method, const std::string& path, const json& body = nullptr) {
    return HttpRequest(method, stack_->gateway_url() + path, body.is_null() ? "" : body.dump(),
                       {{"Content-Type", "application/json"},
                        {"Authorization", "Bearer " + stack_->admin_token()}});
  }
  static json Get(const std::string& path) {
    HttpResponse r = Call("GET", path);
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    return json::parse(r.body, nullptr, false);
  }
  static std::string State(const std::string& release_id) {
    return Get("/v1/releases/" + release_id).value("state", "");
  }
  static json Events(const std::string& release_id) {
    return Get("/v1/releases/" + release_id + "/events").value("events", json::array());
  }
  static std::vector<json> Timeline(const json& incident, const std::string& kind) {
    std::vector<json> out;
    for (const json& e : incident.value("timeline", json::array())) {
      if (e.value("kind", "") == kind) out.push_back(e);
    }
    return out;
  }

  // A healthy release through a 2-second canary, verified: SUCCEEDED.
  static std::string Ship(const std::string& sha) {
    HttpResponse created = Call("POST", "/v1/releases", json{
        {"service", kService}, {"environment", kEnv}, {"version", std::string("v-") + sha.substr(0, 7)},
        {"commit_sha", sha}, {"image", "registry.example/ledger:" + sha.substr(0, 7)},
        {"canary", {{"steps", {{{"weight", 5}, {"duration", "2s"}}}},
                    {"analysis", {{"interval", "1s"}, {"min_requests", 10}, {"inconclusive_limit", 20}}}}}});
    EXPECT_EQ(created.status, 200) << created.body;
    const std::string id = json::parse(created.body, nullptr, false).value("id", "");
    EXPECT_TRUE(WaitUntil([&] {
      const std::string state = State(id);
      if (state == "CANARY") {
        Call("POST", "/v1/releases/" + id + "/observations",
             {{"requests", 200}, {"errors", 1}, {"window", "1s"}});
      }
      return state == "VERIFYING";
    }, 30s, 200ms)) << Events(id).dump(1);
    HttpResponse verified = Call("POST", "/v1/releases/" + id + "/verification",
                                 {{"passed", true}, {"details", "smoke green"}});
    EXPECT_EQ(verified.status, 200) << verified.body;
    EXPECT_TRUE(WaitUntil([&] { return State(id) == "SUCCEEDED"; }, 15s, 200ms)) << Events(id).dump(1);
    return id;
  }

  static Stack* stack_;
  static bool ready_;
};

Stack* CorrelationE2eTest::stack_ = nullptr;
bool CorrelationE2eTest::ready_ = false;

TEST_F(CorrelationE2eTest, ARunningRollbackReleaseIsLeftAloneAndBothTimelinesSayWhy) {
  const std::string v1 = Ship(kShaV1);
  const std::string v2 = Ship(kShaV2);

  // v2 goes bad: back to v1, named by an 8-character prefix in upper case.
  HttpResponse rolled = Call("POST", std::string("/v1/services/") + kService + "/environments/" + kEnv + "/rollback",
                             {{"to_commit_sha", "A1B2C3D4"}, {"reason", "v2 corrupts balances"}});
  ASSERT_EQ(rolled.status, 200) << rolled.body;
  const json restore = json::parse(rolled.body);
  const std::string restore_id = restore.value("id", "");
  EXPECT_EQ(restore.value("kind", ""), "ROLLBACK");
  EXPECT_EQ(restore.value("commit_sha", ""), kShaV1);
  ASSERT_TRUE(WaitUntil([&] { return State(restore_id) == "SUCCEEDED"; }, 20s, 200ms)) << Events(restore_id).dump(1);
  ASSERT_EQ(State(v2), "ROLLED_BACK");
  ASSERT_EQ(State(v1), "SUCCEEDED") << "v1 finished minutes ago: the old correlation's pick";

  HttpResponse posted = Call("POST", "/v1/alerts", json{
      {"source", "e2e"},
      {"alerts", json::array({{{"labels", {{"alertname", "LedgerErrors"}, {"service", kService},
                                           {"environment", kEnv}, {"severity", "sev2"}}},
                               {"annotations", {{"summary", "5xx at 12%"}}}}})}});
  ASSERT_EQ(posted.status, 200) << posted.body;
  const json ingest = json::parse(posted.body);
  ASSERT_FALSE(ingest.value("incident_ids", json::array()).empty()) << posted.body;
  const std::string incident_id = ingest["incident_ids"][0];

  json incident;
  ASSERT_TRUE(WaitUntil([&] {
    incident = Get("/v1/incidents/" + incident_id);
    return !Timeline(incident, "ROLLBACK_SKIPPED").empty();
  }, 30s, 200ms)) << incident.dump(1) << "\n" << stack_->Logs();
  EXPECT_EQ(incident.value("severity", ""), "SEV2");
  EXPECT_TRUE(incident.value("deploy_correlated", false));
  const std::string why = Timeline(incident, "ROLLBACK_SKIPPED")[0].value("message", "");
  EXPECT_NE(why.find("release " + v2 + " no longer runs: " + restore_id), std::string::npos) << why;
  EXPECT_NE(why.find("release " + v1 + " no longer runs"), std::string::npos) << why;
  EXPECT_TRUE(Timeline(incident, "ROLLBACK_REQUESTED").empty()) << incident.dump(1);
  EXPECT_TRUE(Timeline(incident, "ROLLBACK_FAILED").empty()) << incident.dump(1);

  // Nothing was rolled back: no new release, the same one runs.
  const json environment = Get(std::string("/v1/services/") + kService + "/environments/" + kEnv);
  EXPECT_EQ(environment["current"].value("id", ""), restore_id) << environment.dump(1);
  EXPECT_FALSE(environment.contains("in_flight") && environment["in_flight"].is_object() &&
               !environment["in_flight"].value("id", "").empty())
      << environment.dump(1);
  EXPECT_EQ(Get(std::string("/v1/releases?service=") + kService).value("releases", json::array()).size(), 3u);

  // The releases' timelines say the same, naming the incident and its severity.
  for (const std::string& id : {v1, v2}) {
    bool noted = false;
    for (const json& e : Events(id)) {
      const std::string message = e.value("message", "");
      noted = noted || (e.value("type", "") == "NOTE" && e.value("actor", "") == "incidents" &&
                        message.find("incident " + incident_id + " (SEV2") != std::string::npos &&
                        message.find("no longer runs") != std::string::npos);
    }
    EXPECT_TRUE(noted) << id << ":\n" << Events(id).dump(1);
  }

  // Resolved: still no attempt and no failure on the timeline.
  ASSERT_EQ(Call("POST", "/v1/incidents/" + incident_id + "/resolve", json::object()).status, 200);
  ASSERT_TRUE(WaitUntil([&] {
    incident = Get("/v1/incidents/" + incident_id);
    return incident.value("state", "") == "RESOLVED";
  }, 10s, 200ms)) << incident.dump(1);
  EXPECT_TRUE(Timeline(incident, "ROLLBACK_FAILED").empty()) << incident.dump(1);
  EXPECT_TRUE(Timeline(incident, "ROLLBACK_REQUESTED").empty()) << incident.dump(1);
  EXPECT_EQ(Timeline(incident, "ROLLBACK_SKIPPED").size(), 1u);
  EXPECT_EQ(State(restore_id), "SUCCEEDED");
}

}  // namespace
}  // namespace flightdeck::test
