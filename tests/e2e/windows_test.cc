// End to end: maintenance windows and freezes through the gateway's REST front, the way an
// operator and a CI pipeline use them. The processes run on the real clock, so the windows are
// one-off ranges a few seconds from now (the schedule maths is pinned by the unit and
// integration tests on a fake clock).
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/http_client.h"
#include "tests/e2e/stack.h"
#include "tests/support/wait.h"

namespace flightdeck::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// Whole seconds, as the service prints them: "2027-03-07T02:00:00Z".
std::string Rfc3339(std::chrono::system_clock::time_point t) {
  const std::time_t s = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

class WindowsE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char dir[] = "/tmp/fd-windows-e2e-XXXXXX";
    dir_ = new std::string(mkdtemp(dir));
    std::ofstream(*dir_ + "/environments.json")
        << json{{"default",
                 {{"canary",
                   {{"steps", {{{"weight", 5}, {"duration", "3s"}}}},
                    {"analysis", {{"interval", "1s"}, {"min_requests", 10}, {"inconclusive_limit", 20}}}}}}},
                {"windowed", {{"requires_window", "e2e-maintenance"}}}}
               .dump();
    stack_ = new Stack({{"FLIGHTDECK_ENVIRONMENTS_FILE", *dir_ + "/environments.json"},
                        {"FLIGHTDECK_JOBS_POLL_INTERVAL", "100ms"}});
    ready_ = stack_->WaitReady();
    if (!ready_) return;
    ci_ = CreateToken("ci", "DEPLOYER");
    ops_ = CreateToken("ops", "OPERATOR");
  }
  static void TearDownTestSuite() {
    delete stack_;
    (void)!system(("rm -rf " + *dir_).c_str());
    delete dir_;
  }
  void SetUp() override { ASSERT_TRUE(ready_) << "the stack did not start"; }

  static std::string CreateToken(const std::string& name, const std::string& role) {
    HttpResponse r = HttpRequest("POST", stack_->gateway_url() + "/v1/tokens",
                                 json{{"name", name}, {"role", role}}.dump(),
                                 {{"Authorization", "Bearer " + stack_->admin_token()}});
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body, nullptr, false).value("secret", "");
  }

  static HttpResponse Call(const std::string& method, const std::string& path, const std::string& token,
                           const json& body = nullptr) {
    return HttpRequest(method, stack_->gateway_url() + path, body.is_null() ? "" : body.dump(),
                       {{"Authorization", "Bearer " + token}});
  }

  static json Release(const std::string& service, const std::string& env, json extra = json::object()) {
    json body = {{"service", service}, {"environment", env}, {"version", "v1"},
                 {"commit_sha", "abcdef1"}, {"image", "registry.example/" + service + ":v1"}};
    body.update(extra);
    return body;
  }

  static std::string Timeline(const std::string& id) {
    json events = json::parse(Call("GET", "/v1/releases/" + id + "/events", ci_).body, nullptr, false);
    std::string out;
    for (const json& e : events["events"]) out += e["type"].get<std::string>() + " " + e["message"].get<std::string>() + "\n";
    return out;
  }

  static json WaitForState(const std::string& id, const std::set<std::string>& states,
                           std::chrono::seconds limit) {
    const json r = PollUntil([&] { return json::parse(Call("GET", "/v1/releases/" + id, ci_).body, nullptr, false); },
                             [&](const json& got) { return states.count(got.value("state", "")) > 0; }, limit, 250ms);
    if (states.count(r.value("state", ""))) return r;
    ADD_FAILURE() << "release " << id << " is " << r.value("state", "?") << ":\n" << Timeline(id);
    return r;
  }

  static std::string* dir_;
  static Stack* stack_;
  static bool ready_;
  static std::string ci_;
  static std::string ops_;
};

std::string* WindowsE2eTest::dir_ = nullptr;
Stack* WindowsE2eTest::stack_ = nullptr;
bool WindowsE2eTest::ready_ = false;
std::string WindowsE2eTest::ci_;
std::string WindowsE2eTest::ops_;

TEST_F(WindowsE2eTest, WindowsNeedAnOperatorAndBadFieldsAreNamed) {
  json window = {{"name", "nightly"}, {"kind", "MAINTENANCE"}, {"schedule", "0 2 * * SUN"},
                 {"duration", "7200s"}, {"time_zone", "Europe/Berlin"}};
  EXPECT_EQ(Call("POST", "/v1/windows", ci_, window).status, 403);
  json bad = window;
  bad["time_zone"] = "Mars/Olympus";
  bad["schedule"] = "first funday 03:00";
  HttpResponse r = Call("POST", "/v1/windows", ops_, bad);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("time_zone: unknown time zone"), std::string::npos) << r.body;
  r = Call("POST", "/v1/windows", ops_, window);
  ASSERT_EQ(r.status, 200) << r.body;
  json created = json::parse(r.body);
  EXPECT_TRUE(created.contains("next")) << r.body;
  EXPECT_EQ(Call("GET", "/v1/windows/nightly", ci_).status, 200);
  EXPECT_EQ(Call("DELETE", "/v1/windows/nightly", ops_).status, 200);
  EXPECT_EQ(Call("GET", "/v1/windows/nightly", ci_).status, 404);
}

TEST_F(WindowsE2eTest, RefusedWithTheNextOpeningThenQueuedUntilItOpens) {
  const auto now = std::chrono::system_clock::now();
  const auto opening = std::chrono::floor<std::chrono::seconds>(now + 8s);
  const std::string opens = Rfc3339(opening), closes = Rfc3339(now + 300s);
  HttpResponse w = Call("POST", "/v1/windows", ops_,
                        {{"name", "e2e-maintenance"}, {"kind", "MAINTENANCE"},
                         {"environments", {"windowed"}},
                         {"ranges", {{{"start", opens}, {"end", closes}}}}});
  ASSERT_EQ(w.status, 200) << w.body;

  HttpResponse next = Call("GET", "/v1/windows/next?service=api&environment=windowed", ci_);
  ASSERT_EQ(next.status, 200) << next.body;
  json n = json::parse(next.body);
  EXPECT_FALSE(n.value("open", false)) << next.body;
  EXPECT_EQ(n.value("opensAt", n.value("opens_at", "")), opens) << next.body;

  HttpResponse refused = Call("POST", "/v1/releases", ci_, Release("api", "windowed"));
  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_NE(refused.body.find("FAILED_PRECONDITION"), std::string::npos) << refused.body;
  EXPECT_NE(refused.body.find("next go out at " + opens), std::string::npos) << refused.body;

  HttpResponse queued = Call("POST", "/v1/releases", ci_, Release("api", "windowed", {{"queue", true}}));
  ASSERT_EQ(queued.status, 200) << queued.body;
  json r = json::parse(queued.body);
  EXPECT_EQ(r["state"], "PENDING");
  const std::string id = r["id"];
  // It goes out once the window opens (about 8 s from the start of the test), not before.
  json early = json::parse(Call("GET", "/v1/releases/" + id, ci_).body);
  if (std::chrono::system_clock::now() < opening) {
    EXPECT_EQ(early["state"], "PENDING") << Timeline(id);
  }
  json started = WaitForState(id, {"CANARY", "VERIFYING", "SUCCEEDED"}, 40s);
  EXPECT_GE(std::chrono::system_clock::now(), opening);
  const std::string timeline = Timeline(id);
  EXPECT_NE(timeline.find("WINDOW_WAIT"), std::string::npos) << timeline;
  EXPECT_NE(timeline.find("WINDOW_OPENED"), std::string::npos) << timeline;
}

TEST_F(WindowsE2eTest, AFreezeRefusesAndOnlyAnAdminOverridesWithAReason) {
  const auto now = std::chrono::system_clock::now();
  const std::string thaw = Rfc3339(now + 3600s);
  HttpResponse w = Call("POST", "/v1/windows", ops_,
                        {{"name", "e2e-freeze"}, {"kind", "FREEZE"}, {"environments", {"frozen"}},
                         {"ranges", {{{"start", Rfc3339(now - 60s)}, {"end", thaw}}}}});
  ASSERT_EQ(w.status, 200) << w.body;

  HttpResponse refused = Call("POST", "/v1/releases", ci_, Release("web", "frozen"));
  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_NE(refused.body.find("freeze \\\"e2e-freeze\\\""), std::string::npos) << refused.body;
  EXPECT_NE(refused.body.find(thaw), std::string::npos) << refused.body;

  json override_body = Release("web", "frozen", {{"window_override_reason", "hotfix for INC-7"}});
  EXPECT_EQ(Call("POST", "/v1/releases", ci_, override_body).status, 403);
  HttpResponse admitted = Call("POST", "/v1/releases", stack_->admin_token(), override_body);
  ASSERT_EQ(admitted.status, 200) << admitted.body;
  const std::string id = json::parse(admitted.body)["id"];
  const std::string timeline = Timeline(id);
  EXPECT_NE(timeline.find("WINDOW_OVERRIDDEN"), std::string::npos) << timeline;
  EXPECT_NE(timeline.find("hotfix for INC-7"), std::string::npos) << timeline;
  WaitForState(id, {"CANARY", "VERIFYING", "SUCCEEDED"}, 30s);
  // The gateway audits the admin's create like every write; the reason is on the timeline.
  HttpResponse audit = Call("GET", "/v1/audit?page_size=100", stack_->admin_token());
  ASSERT_EQ(audit.status, 200) << audit.body;
  bool audited = false;
  for (const json& e : json::parse(audit.body).value("entries", json::array())) {
    audited = audited || (e.value("action", "") == "POST /v1/releases" && e.value("status", 0) == 200 &&
                          e.value("role", "") == "ADMIN");
  }
  EXPECT_TRUE(audited) << audit.body;
}

}  // namespace
}  // namespace flightdeck::test
