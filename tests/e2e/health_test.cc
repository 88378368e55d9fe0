// End to end: the health service over REST against the running processes, probing an HTTP
// server this test starts and can make fail.
#include <atomic>
#include <chrono>
#include <functional>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/http_client.h"
#include "tests/e2e/stack.h"
#include "tests/services/health/smoke_http_server.h"
#include "tests/support/wait.h"

namespace flightdeck::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using health::testing::Reply;
using health::testing::SeenRequest;
using health::testing::SmokeHttpServer;

class HealthE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // Short enough that a service is declared down within seconds, not the default minute.
    stack_ = new Stack(std::map<std::string, std::string>{{"FLIGHTDECK_JOBS_POLL_INTERVAL", "100ms"},
                                                          {"FLIGHTDECK_HEALTH_DOWN_AFTER", "2s"},
                                                          {"FLIGHTDECK_HEALTH_EVALUATE_INTERVAL", "250ms"},
                                                          {"FLIGHTDECK_HEALTH_FLUSH_INTERVAL", "250ms"}});
    ready_ = stack_->WaitReady();
  }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(ready_) << "the stack did not start"; }

  static HttpResponse Call(const std::string& method, const std::string& path, const json& body = nullptr) {
    return HttpRequest(method, stack_->gateway_url() + path, body.is_null() ? "" : body.dump(),
                       {{"Authorization", "Bearer " + stack_->admin_token()}});
  }

  // GETs `path` every 200 ms until `done` holds for its JSON body, or 45 s pass.
  static json WaitFor(const std::string& path, const std::function<bool(const json&)>& done,
                      const std::string& what) {
    json body;
    const bool happened = WaitUntil([&] {
      HttpResponse r = Call("GET", path);
      body = json::parse(r.body, nullptr, false);
      return r.status == 200 && !body.is_discarded() && done(body);
    }, 45s, 200ms);
    if (happened) return body;
    ADD_FAILURE() << what << " did not happen in time; last answer of " << path << ": " << body.dump(2) << "\n"
                  << stack_->Logs();
    return body;
  }

  static std::string EnvironmentStatus(const json& answer) {
    if (!answer.contains("environments")) return "";
    for (const json& e : answer["environments"]) {
      if (e.value("environment", "") == "production") return e.value("status", "UNKNOWN");
    }
    return "";
  }

  static Stack* stack_;
  static bool ready_;
};

Stack* HealthE2eTest::stack_ = nullptr;
bool HealthE2eTest::ready_ = false;

json Target(const std::string& name, const std::string& role, const std::string& url) {
  return {{"name", name},          {"service", "shop"},       {"environment", "production"},
          {"role", role},          {"kind", "HTTP"},          {"url", url},
          {"expect_status", {200}}, {"body_contains", "ok"},  {"period", "1s"},
          {"timeout", "0.5s"},    {"failure_threshold", 2},  {"success_threshold", 1}};
}

// Every ServiceDown alert event of shop/production with the given status.
std::vector<json> ServiceDownAlerts(const json& page, const std::string& status) {
  std::vector<json> alerts;
  if (!page.contains("events")) return alerts;
  for (const json& e : page["events"]) {
    if (e.value("kind", "") != "ALERT" || e.value("environment", "") != "production") continue;
    json alert = json::parse(e.value("alert", ""), nullptr, false);
    if (alert.is_discarded() || !alert.contains("labels")) continue;
    if (alert["labels"].value("alertname", "") == "ServiceDown" && alert["labels"].value("service", "") == "shop" &&
        alert.value("status", "") == status) {
      alerts.push_back(e);
    }
  }
  return alerts;
}

TEST_F(HealthE2eTest, AFailingLivenessTargetTakesTheServiceDownAndRecordsServiceDown) {
  std::atomic<bool> live_ok{true};
  SmokeHttpServer app([&live_ok](const SeenRequest& r) -> Reply {
    if (r.path == "/live") return live_ok ? Reply{200, "ok"} : Reply{503, "draining"};
    if (r.path == "/ready") return {200, "ok"};
    return {404, "not found"};
  });

  HttpResponse live = Call("POST", "/v1/health/targets", Target("shop-live", "liveness", app.url() + "/live"));
  ASSERT_EQ(live.status, 200) << live.body;
  EXPECT_EQ(json::parse(live.body).value("status", "UNKNOWN"), "UNKNOWN");
  EXPECT_EQ(json::parse(live.body).value("reuse_connections", false), true) << live.body;  // the default
  // A new connection per probe, as kubelet's probes do.
  json fresh = Target("shop-ready", "readiness", app.url() + "/ready");
  fresh["reuse_connections"] = false;
  HttpResponse ready = Call("POST", "/v1/health/targets", fresh);
  ASSERT_EQ(ready.status, 200) << ready.body;
  EXPECT_EQ(json::parse(ready.body).value("reuse_connections", true), false) << ready.body;
  HttpResponse bad = Call("POST", "/v1/health/targets", Target("shop-bad", "liveness", "not a url"));
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_NE(bad.body.find("url"), std::string::npos) << bad.body;
  // Every problem of a request in one answer; an enum error lists the valid values.
  json many = Target("Shop Bad", "startup", "not a url");
  many.erase("service");
  HttpResponse all = Call("POST", "/v1/health/targets", many);
  EXPECT_EQ(all.status, 400) << all.body;
  for (const char* part : {"name: ", "; service: required", "; role: unknown value \\\"startup\\\" (one of liveness, "
                           "readiness, canary)", "; url: "}) {
    EXPECT_NE(all.body.find(part), std::string::npos) << part << " in " << all.body;
  }

  WaitFor("/v1/health/services/shop?environment=production",
          [](const json& a) { return EnvironmentStatus(a) == "HEALTHY"; }, "shop turning HEALTHY");
  EXPECT_EQ(json::parse(Call("GET", "/v1/health/targets/shop-ready").body).value("reuse_connections", true), false);
  // Only the probes of shop-ready ask for their connection to be closed.
  int ready_closes = 0, live_closes = 0;
  for (const SeenRequest& r : app.requests()) {
    for (const auto& [name, value] : r.headers) {
      if (name != "connection" || value != "close") continue;
      ++(r.path == "/ready" ? ready_closes : live_closes);
    }
  }
  EXPECT_GT(ready_closes, 0);
  EXPECT_EQ(live_closes, 0);

  live_ok = false;
  json down = WaitFor("/v1/health/services/shop?environment=production",
                      [](const json& a) { return EnvironmentStatus(a) == "UNHEALTHY"; }, "shop turning UNHEALTHY");
  EXPECT_NE(down.dump().find("shop-live"), std::string::npos) << "the reason names the failing target: " << down.dump(2);

  json target = WaitFor("/v1/health/targets/shop-live",
                        [](const json& t) { return t.value("status", "") == "UNHEALTHY"; }, "shop-live UNHEALTHY");
  ASSERT_TRUE(target.contains("last_result")) << target.dump(2);
  EXPECT_EQ(target["last_result"].value("status_code", 0), 503) << target.dump(2);

  // Down for longer than down_after (2 s): the ServiceDown alert is recorded as an event.
  json events = WaitFor("/v1/health/events?service=shop&kind=ALERT",
                        [](const json& p) { return !ServiceDownAlerts(p, "firing").empty(); },
                        "a firing ServiceDown alert");
  std::vector<json> firing = ServiceDownAlerts(events, "firing");
  ASSERT_EQ(firing.size(), 1u) << events.dump(2);
  EXPECT_FALSE(firing[0].value("delivery", "").empty()) << firing[0].dump(2);
  // The alert is no change of state, and says so instead of "UNHEALTHY -> UNHEALTHY".
  EXPECT_EQ(firing[0].value("reason", ""), "ServiceDown firing: liveness shop-live failing") << firing[0].dump(2);
  json changes = WaitFor("/v1/health/events?service=shop&environment=production&kind=service",
                         [](const json& p) { return p.contains("events") && !p["events"].empty(); },
                         "SERVICE events (the kind filter in any case)");
  for (const json& e : changes["events"]) {
    EXPECT_EQ(e.value("kind", ""), "SERVICE") << e.dump();
    EXPECT_NE(e.value("from", ""), e.value("to", "")) << e.dump();
  }

  // Delivered to the incidents service, where it opens an incident for shop/production.
  json incidents = WaitFor("/v1/incidents?service=shop", [](const json& p) {
    for (const json& i : p.value("incidents", json::array())) {
      if (i.value("environment", "") == "production") return true;
    }
    return false;
  }, "an incident opened by ServiceDown");
  EXPECT_NE(incidents["incidents"][0].value("title", "").find("shop"), std::string::npos) << incidents.dump(2);
  WaitFor("/v1/health/events?service=shop&kind=ALERT", [](const json& p) {
    std::vector<json> alerts = ServiceDownAlerts(p, "firing");
    return !alerts.empty() && alerts[0].value("delivery", "") == "sent";
  }, "the ServiceDown alert marked sent");

  // Recovery resolves it.
  live_ok = true;
  WaitFor("/v1/health/services/shop?environment=production",
          [](const json& a) { return EnvironmentStatus(a) == "HEALTHY"; }, "shop recovering");
  WaitFor("/v1/health/events?service=shop&kind=ALERT",
          [](const json& p) { return !ServiceDownAlerts(p, "resolved").empty(); }, "a resolved ServiceDown alert");

  ASSERT_EQ(Call("DELETE", "/v1/health/targets/shop-live").status, 200);
  ASSERT_EQ(Call("DELETE", "/v1/health/targets/shop-ready").status, 200);
  EXPECT_EQ(Call("GET", "/v1/health/targets/shop-live").status, 404);
}

TEST_F(HealthE2eTest, ASmokeSuiteWithOneFailingCheckFailsAndShowsWhy) {
  SmokeHttpServer app([](const SeenRequest& r) -> Reply {
    if (r.path == "/api/status") return {200, R"({"status":"up","version":"1.4.2"})"};
    if (r.path == "/api/orders") return {500, R"({"error":"orders table is missing"})"};
    return {404, "not found"};
  });
  json suite = {{"name", "shop-smoke"},
                {"base_url", "http://127.0.0.1:1"},
                {"checks",
                 {{{"name", "status"}, {"url", "/api/status"}, {"json_path_equals", {{"$.status", "up"}}}},
                  {{"name", "orders"}, {"url", "/api/orders"}, {"concurrent", true}},
                  {{"name", "version"}, {"url", "/api/status"}, {"concurrent", true},
                   {"json_path_equals", {{"version", "1.4.2"}}}}}}};
  HttpResponse saved = Call("POST", "/v1/health/smoke-suites", suite);
  ASSERT_EQ(saved.status, 200) << saved.body;

  HttpResponse started = Call("POST", "/v1/health/smoke-runs", {{"suite", "shop-smoke"}, {"base_url", app.url()}});
  ASSERT_EQ(started.status, 200) << started.body;
  json run = json::parse(started.body);
  EXPECT_EQ(run.value("state", ""), "RUNNING");
  const std::string id = run.value("id", "");
  ASSERT_FALSE(id.empty()) << started.body;

  run = WaitFor("/v1/health/smoke-runs/" + id,
                [](const json& r) { return r.value("state", "") == "PASSED" || r.value("state", "") == "FAILED"; },
                "the smoke run finishing");
  ASSERT_EQ(run.value("state", ""), "FAILED") << run.dump(2);
  ASSERT_EQ(run["results"].size(), 3u) << run.dump(2);
  EXPECT_EQ(run["results"][0].value("passed", false), true) << run.dump(2);
  EXPECT_EQ(run["results"][1].value("name", ""), "orders");
  EXPECT_EQ(run["results"][1].value("passed", true), false);
  EXPECT_EQ(run["results"][1].value("error", ""), "status 500, want 200");
  EXPECT_EQ(run["results"][1].value("body_excerpt", ""), R"({"error":"orders table is missing"})");
  EXPECT_EQ(run["results"][2].value("passed", false), true) << run.dump(2);
  EXPECT_EQ(run.value("passed_count", 0), 2);
  EXPECT_EQ(run.value("failed_count", 0), 1);
  EXPECT_TRUE(run.contains("finished_at"));
  // Like git: a unique prefix of the id finds the run.
  HttpResponse by_prefix = Call("GET", "/v1/health/smoke-runs/" + id.substr(0, 8));
  ASSERT_EQ(by_prefix.status, 200) << by_prefix.body;
  EXPECT_EQ(json::parse(by_prefix.body).value("id", ""), id);

  HttpResponse invalid = Call("POST", "/v1/health/smoke-runs",
                              {{"checks", {{{"name", "a"}, {"url", "http://x/"}}, {{"name", "b"}}}}});
  EXPECT_EQ(invalid.status, 400) << invalid.body;
  EXPECT_NE(invalid.body.find("checks[1].url"), std::string::npos) << invalid.body;
  HttpResponse unknown = Call("POST", "/v1/health/smoke-runs", {{"suite", "no-such-suite"}});
  EXPECT_EQ(unknown.status, 404) << unknown.body;
}

// The egress policy, black-box: the control plane refuses to fetch cloud metadata or its own
// admin port on a user's behalf, with a 400 naming the field and the rule.
TEST_F(HealthE2eTest, SmokeRunsAndTargetsToRefusedAddressesAreA400NamingTheRule) {
  HttpResponse metadata = Call("POST", "/v1/health/smoke-runs",
                               {{"base_url", "http://169.254.169.254"},
                                {"checks", {{{"name", "creds"}, {"url", "/latest/meta-data/iam/security-credentials/"}}}}});
  EXPECT_EQ(metadata.status, 400) << metadata.body;
  EXPECT_NE(metadata.body.find("checks[0].url: egress policy refuses 169.254.169.254:80"), std::string::npos)
      << metadata.body;
  EXPECT_NE(metadata.body.find("cloud metadata"), std::string::npos) << metadata.body;

  const std::string own_admin = stack_->admin_url("health") + "/metrics";
  HttpResponse target = Call("POST", "/v1/health/targets", Target("own-metrics", "liveness", own_admin));
  EXPECT_EQ(target.status, 400) << target.body;
  EXPECT_NE(target.body.find("Flightdeck's own admin port (FLIGHTDECK_ADMIN_PORT)"), std::string::npos)
      << target.body;
  EXPECT_EQ(Call("GET", "/v1/health/targets/own-metrics").status, 404);

  HttpResponse suite = Call("POST", "/v1/health/smoke-suites",
                            {{"name", "own-metrics"},
                             {"base_url", stack_->admin_url("health")},
                             {"checks", {{{"name", "metrics"}, {"url", "/metrics"}}}}});
  EXPECT_EQ(suite.status, 400) << suite.body;
  EXPECT_NE(suite.body.find("base_url: egress policy refuses 127.0.0.1:"), std::string::npos) << suite.body;
}

std::string CreateToken(Stack& stack, const std::string& name, const std::string& role) {
  HttpResponse r = HttpRequest("POST", stack.gateway_url() + "/v1/tokens", json{{"name", name}, {"role", role}}.dump(),
                               {{"Authorization", "Bearer " + stack.admin_token()}});
  EXPECT_EQ(r.status, 200) << r.body;
  return json::parse(r.body, nullptr, false).value("secret", "");
}

HttpResponse CallAs(Stack& stack, const std::string& token, const std::string& method, const std::string& path,
                    const json& body = nullptr) {
  return HttpRequest(method, stack.gateway_url() + path, body.is_null() ? "" : body.dump(),
                     {{"Authorization", "Bearer " + token}});
}

// Ask 4's smoke rule: a suite that sends secret headers runs only against its own base_url
// unless an admin says otherwise; and what a failing check fetched is for operators and up.
TEST_F(HealthE2eTest, SecretHeadersStayWithTheirBaseUrlAndBodiesAreForOperators) {
  SmokeHttpServer app([](const SeenRequest& r) -> Reply {
    if (r.path == "/api/orders") return {500, R"({"error":"orders table is missing"})"};
    return {404, "not found"};
  });
  SmokeHttpServer elsewhere([](const SeenRequest&) -> Reply { return {500, "collected"}; });
  const std::string viewer = CreateToken(*stack_, "smoke-viewer", "VIEWER");
  const std::string operator_token = CreateToken(*stack_, "smoke-operator", "OPERATOR");
  HttpResponse saved = Call("POST", "/v1/health/smoke-suites",
                            {{"name", "shop-secret"},
                             {"base_url", app.url()},
                             {"checks", {{{"name", "orders"}, {"url", "/api/orders"},
                                          {"headers", {{"Authorization", "Bearer shop-s3cret"}}}}}}});
  ASSERT_EQ(saved.status, 200) << saved.body;

  HttpResponse moved = CallAs(*stack_, operator_token, "POST", "/v1/health/smoke-runs",
                              {{"suite", "shop-secret"}, {"base_url", elsewhere.url()}});
  EXPECT_EQ(moved.status, 403) << moved.body;
  EXPECT_NE(moved.body.find("only an admin may run it against another base_url"), std::string::npos) << moved.body;
  EXPECT_TRUE(elsewhere.requests().empty());

  HttpResponse started = CallAs(*stack_, operator_token, "POST", "/v1/health/smoke-runs", {{"suite", "shop-secret"}});
  ASSERT_EQ(started.status, 200) << started.body;
  const std::string id = json::parse(started.body).value("id", "");
  json run = WaitFor("/v1/health/smoke-runs/" + id,
                     [](const json& r) { return r.value("state", "") == "FAILED" || r.value("state", "") == "PASSED"; },
                     "the smoke run finishing");
  ASSERT_EQ(run.value("state", ""), "FAILED") << run.dump(2);
  HttpResponse as_operator = CallAs(*stack_, operator_token, "GET", "/v1/health/smoke-runs/" + id);
  ASSERT_EQ(as_operator.status, 200);
  EXPECT_EQ(json::parse(as_operator.body)["results"][0].value("body_excerpt", ""),
            R"({"error":"orders table is missing"})");
  HttpResponse as_viewer = CallAs(*stack_, viewer, "GET", "/v1/health/smoke-runs/" + id);
  ASSERT_EQ(as_viewer.status, 200) << as_viewer.body;
  json viewed = json::parse(as_viewer.body);
  EXPECT_EQ(viewed["results"][0].value("body_excerpt", ""), "") << as_viewer.body;
  EXPECT_EQ(viewed["results"][0].value("error", ""), "status 500, want 200");  // the verdict stays

  // The admin may point it elsewhere (the header goes along, as the admin chose).
  HttpResponse admin_moved = Call("POST", "/v1/health/smoke-runs", {{"suite", "shop-secret"}, {"base_url", elsewhere.url()}});
  EXPECT_EQ(admin_moved.status, 200) << admin_moved.body;
}

}  // namespace
}  // namespace flightdeck::test
