// fdctl's health commands as an operator or a deploy pipeline runs them, against a fake
// gateway on a loopback port. The smoke wait runs with a sleep that returns at once.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/cli/fake_gateway.h"
#include "tests/cli/fdctl_harness.h"

namespace flightdeck::cli {
namespace {

using nlohmann::json;
using testing::CannedResponse;
using testing::FakeGateway;
using testing::FdctlTest;
using testing::kToken;
using testing::Outcome;
using testing::RecordedRequest;

const char* kTargetJson = R"({"name":"checkout-live","service":"checkout","environment":"production",
  "role":"liveness","kind":"HTTP","url":"http://10.0.3.7:8080/health","method":"GET",
  "expect_status":[200],"body_contains":"ok","period":"10s","timeout":"1s","initial_delay":"0s",
  "success_threshold":1,"failure_threshold":3,"status":"UNHEALTHY",
  "status_since":"2026-11-22T10:00:00.250Z","consecutive_successes":0,"consecutive_failures":4,
  "last_result":{"at":"2026-11-22T10:00:30Z","ok":false,"latency_ms":3.2,
                 "error":"status 503 not in [200]","status_code":503},
  "stats":{"probes_1h":"360","uptime_1h":0.95,"latency_p50_1h_ms":4.2,"latency_p99_1h_ms":12.9}})";

class HealthCommandsTest : public FdctlTest {
 protected:
  Outcome Run(FakeGateway& gateway, std::vector<std::string> argv) {
    argv.insert(argv.end(), {"--url", gateway.url(), "--token", kToken});
    return Fdctl(argv);
  }
  std::string WriteFile(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
};

TEST_F(HealthCommandsTest, AddSendsTheTargetAndShowsItsState) {
  FakeGateway gateway([](const RecordedRequest&) { return CannedResponse{200, kTargetJson}; });
  Outcome o = Run(gateway, {"health", "add", "checkout-live", "--service", "checkout", "--environment", "production",
                            "--role", "Liveness", "--kind", "http", "--probe-url", "http://10.0.3.7:8080/health",
                            "--expect-status", "200,204", "--body-contains", "ok", "--period", "10s", "--timeout",
                            "1s", "--failure-threshold", "3"});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  ASSERT_EQ(gateway.requests().size(), 1u);
  EXPECT_EQ(gateway.requests()[0].method, "POST");
  EXPECT_EQ(gateway.requests()[0].target, "/v1/health/targets");
  EXPECT_EQ(json::parse(gateway.requests()[0].body), json::parse(R"({"name":"checkout-live","service":"checkout",
    "environment":"production","role":"liveness","kind":"HTTP","url":"http://10.0.3.7:8080/health",
    "expect_status":[200,204],"body_contains":"ok","period":"10s","timeout":"1s","failure_threshold":3})"));
  EXPECT_NE(o.out.find("status: UNHEALTHY since 2026-11-22T10:00:00Z\n"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("last result: FAIL status 503 not in [200]\n"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("last hour: uptime 95.00%, p50 4 ms, p99 13 ms, 360 probes\n"), std::string::npos) << o.out;
}

TEST_F(HealthCommandsTest, AddAsksForANewConnectionPerProbe) {
  std::string fresh_json = kTargetJson;
  fresh_json.insert(1, R"("reuse_connections":false,)");
  FakeGateway gateway([&fresh_json](const RecordedRequest&) { return CannedResponse{200, fresh_json}; });
  Outcome o = Run(gateway, {"health", "add", "checkout-live", "--service", "checkout", "--env", "production",
                            "--role", "liveness", "--kind", "HTTP", "--probe-url", "http://10.0.3.7:8080/health",
                            "--new-connection-per-probe"});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  ASSERT_EQ(gateway.requests().size(), 1u);
  EXPECT_EQ(json::parse(gateway.requests()[0].body)["reuse_connections"], false);
  EXPECT_NE(o.out.find("connections: a new one per probe\n"), std::string::npos) << o.out;

  Outcome tcp = Run(gateway, {"health", "add", "pay-db", "--service", "pay", "--env", "staging", "--role",
                              "readiness", "--kind", "tcp", "--address", "db:5432", "--new-connection-per-probe"});
  EXPECT_EQ(tcp.code, kExitUsage);
  EXPECT_NE(tcp.err.find("--new-connection-per-probe is only for an HTTP target"), std::string::npos) << tcp.err;
  EXPECT_EQ(gateway.requests().size(), 1u);
}

TEST_F(HealthCommandsTest, AddRefusesBadSettingsBeforeSendingAnything) {
  FakeGateway gateway([](const RecordedRequest&) { return CannedResponse{200, kTargetJson}; });
  Outcome grpc = Run(gateway, {"health", "add", "pay-grpc", "--service", "pay", "--environment", "staging", "--role",
                               "readiness", "--kind", "GRPC", "--probe-url", "http://x"});
  EXPECT_EQ(grpc.code, kExitUsage);
  EXPECT_NE(grpc.err.find("--address HOST:PORT is required for a GRPC target"), std::string::npos) << grpc.err;
  Outcome period = Run(gateway, {"health", "add", "x", "--service", "pay", "--environment", "staging", "--role",
                                 "liveness", "--kind", "TCP", "--address", "db:5432", "--period", "often"});
  EXPECT_EQ(period.code, kExitUsage);
  EXPECT_NE(period.err.find("--period 'often' must be a duration"), std::string::npos) << period.err;
  Outcome role = Run(gateway, {"health", "add", "x", "--service", "pay", "--environment", "staging", "--role",
                               "startup", "--kind", "TCP", "--address", "db:5432"});
  EXPECT_EQ(role.code, kExitUsage);
  EXPECT_NE(role.err.find("--role must be liveness, readiness or canary"), std::string::npos) << role.err;
  // Every mistake at once, not one per run.
  Outcome many = Run(gateway, {"health", "add", "x", "--service", "pay", "--env", "staging", "--role", "startup",
                               "--kind", "tcp", "--period", "often", "--failure-threshold", "0"});
  EXPECT_EQ(many.code, kExitUsage);
  EXPECT_NE(many.err.find("--role must be liveness, readiness or canary; --address HOST:PORT is required for a TCP "
                          "target; --period 'often' must be a duration like 10s, 500ms or 1m; --failure-threshold "
                          "'0' must be a whole number from 1 to 1000"),
            std::string::npos)
      << many.err;
  EXPECT_TRUE(gateway.requests().empty());
}

TEST_F(HealthCommandsTest, TargetsServiceEventsAndRemove) {
  FakeGateway gateway([](const RecordedRequest& r) {
    if (r.target.rfind("/v1/health/targets?", 0) == 0) {
      return CannedResponse{200, std::string(R"({"targets":[)") + kTargetJson + "]}"};
    }
    if (r.target == "/v1/health/targets/checkout-live") return CannedResponse{200, kTargetJson};
    if (r.target == "/v1/health/services/checkout?environment=production") {
      return CannedResponse{200, R"({"service":"checkout","environments":[{"service":"checkout",
        "environment":"production","status":"UNHEALTHY","status_since":"2026-11-22T10:00:30Z",
        "reason":"liveness checkout-live failing",
        "targets":[{"name":"checkout-live","role":"liveness","status":"UNHEALTHY"}]}]})"};
    }
    if (r.target == "/v1/health/events?service=checkout") {
      // An alert raised while the service stays UNHEALTHY: no change of state to show.
      return CannedResponse{200, R"({"events":[{"id":"7","at":"2026-11-22T10:01:30Z","kind":"ALERT",
        "service":"checkout","environment":"production","from":"UNHEALTHY","to":"UNHEALTHY",
        "reason":"ServiceDown firing: liveness checkout-live failing",
        "alert":"{\"labels\":{\"alertname\":\"ServiceDown\"},\"status\":\"firing\"}","delivery":"recorded"},
        {"id":"6","at":"2026-11-22T10:00:30Z","kind":"SERVICE","service":"checkout","environment":"production",
        "from":"HEALTHY","to":"UNHEALTHY","reason":"liveness checkout-live failing"}]})"};
    }
    return CannedResponse{404, R"({"error":{"code":"NOT_FOUND","message":"no such thing"}})"};
  });
  Outcome list = Run(gateway, {"health", "targets", "--service", "checkout", "--environment", "production"});
  ASSERT_EQ(list.code, kExitOk) << list.err;
  EXPECT_EQ(gateway.requests().back().target, "/v1/health/targets?service=checkout&environment=production");
  EXPECT_EQ(list.out.rfind("NAME           SERVICE   ENVIRONMENT  ROLE      KIND  STATUS     LAST", 0), 0u) << list.out;
  EXPECT_NE(list.out.find("checkout-live  checkout  production   liveness  HTTP  UNHEALTHY  FAIL status 503"),
            std::string::npos)
      << list.out;

  Outcome service = Run(gateway, {"health", "service", "checkout", "--environment", "production"});
  ASSERT_EQ(service.code, kExitOk) << service.err;
  EXPECT_EQ(service.out.substr(0, service.out.find('\n')),
            "checkout/production: UNHEALTHY since 2026-11-22T10:00:30Z (liveness checkout-live failing)");
  EXPECT_NE(service.out.find("checkout-live  liveness  UNHEALTHY"), std::string::npos) << service.out;

  Outcome events = Run(gateway, {"health", "events", "--service", "checkout"});
  ASSERT_EQ(events.code, kExitOk) << events.err;
  EXPECT_NE(events.out.find("ALERT    checkout  production   -       ServiceDown firing    liveness checkout-live "
                            "failing [recorded]"),
            std::string::npos)
      << events.out;
  EXPECT_NE(events.out.find("SERVICE  checkout  production   -       HEALTHY -> UNHEALTHY  liveness checkout-live "
                            "failing"),
            std::string::npos)
      << events.out;
  EXPECT_EQ(events.out.find("UNHEALTHY -> UNHEALTHY"), std::string::npos) << events.out;

  Outcome rm = Run(gateway, {"health", "rm", "checkout-live"});
  ASSERT_EQ(rm.code, kExitOk) << rm.err;
  EXPECT_EQ(rm.out, "Removed health target checkout-live.\n");
  EXPECT_EQ(gateway.requests().back().method, "DELETE");

  Outcome missing = Run(gateway, {"health", "target", "nope"});
  EXPECT_EQ(missing.code, kExitError);
  EXPECT_EQ(missing.err, "error: NOT_FOUND: no such thing\n");
}

std::string RunJson(const std::string& state, const std::string& results, int passed, int failed) {
  return R"({"id":"3f1c","state":")" + state + R"(","checks":[{"name":"status"},{"name":"db"}],"results":[)" +
         results + R"(],"passed_count":)" + std::to_string(passed) + R"(,"failed_count":)" + std::to_string(failed) +
         "}";
}
const char* kPass = R"({"name":"status","passed":true,"status_code":200,"latency_ms":12.4})";
const char* kFail = R"({"name":"db","passed":false,"status_code":503,"latency_ms":15.1,
  "error":"status 503, want 200","body_excerpt":"database unavailable"})";

TEST_F(HealthCommandsTest, SmokeFromFileWaitsPrintsEachCheckAndExitsOneWhenAnyFailed) {
  std::atomic<int> gets{0};
  FakeGateway gateway([&gets](const RecordedRequest& r) {
    if (r.method == "POST") return CannedResponse{200, RunJson("RUNNING", "", 0, 0)};
    switch (++gets) {
      case 1:
        return CannedResponse{200, RunJson("RUNNING", kPass, 1, 0)};
      case 2:
        return CannedResponse{503, R"({"error":{"code":"UNAVAILABLE","message":"restarting"}})"};
      default:
        return CannedResponse{200, RunJson("FAILED", std::string(kPass) + "," + kFail, 1, 1)};
    }
  });
  const std::string file = WriteFile("suite.json", R"({"base_url":"https://staging.example.com",
    "checks":[{"name":"status","url":"/status"},{"name":"db","url":"/db","concurrent":true}]})");
  Outcome o = Run(gateway, {"health", "smoke", "--file", file, "--base-url", "http://canary.internal:8080"});
  EXPECT_EQ(o.code, kExitError) << o.err;
  EXPECT_EQ(gateway.requests()[0].target, "/v1/health/smoke-runs");
  EXPECT_EQ(json::parse(gateway.requests()[0].body), json::parse(R"({"base_url":"http://canary.internal:8080",
    "checks":[{"name":"status","url":"/status"},{"name":"db","url":"/db","concurrent":true}]})"));
  EXPECT_EQ(gateway.requests()[1].target, "/v1/health/smoke-runs/3f1c");
  EXPECT_EQ(o.out,
            "Smoke run 3f1c: 2 checks\n"
            "PASS  status  200  12 ms\n"
            "FAIL  db  503  15 ms  status 503, want 200\n"
            "      body: database unavailable\n"
            "Smoke run 3f1c FAILED: 1 passed, 1 failed\n");
  EXPECT_NE(o.err.find("warning: UNAVAILABLE: restarting"), std::string::npos) << o.err;
  EXPECT_EQ(sleeps_.size(), 3u);
}

TEST_F(HealthCommandsTest, SmokeBySuiteExitsZeroWhenPassed) {
  FakeGateway gateway([](const RecordedRequest& r) {
    if (r.method == "POST") return CannedResponse{200, RunJson("RUNNING", "", 0, 0)};
    return CannedResponse{200, RunJson("PASSED", std::string(kPass) + "," + kPass, 2, 0)};
  });
  Outcome o = Run(gateway, {"health", "smoke", "--suite", "checkout-smoke"});
  EXPECT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(json::parse(gateway.requests()[0].body), json::parse(R"({"suite":"checkout-smoke"})"));
  EXPECT_NE(o.out.find("Smoke run 3f1c PASSED: 2 passed, 0 failed\n"), std::string::npos) << o.out;

  Outcome both = Run(gateway, {"health", "smoke", "--suite", "a", "--file", "b.json"});
  EXPECT_EQ(both.code, kExitUsage);
  EXPECT_NE(both.err.find("give either --file suite.json or --suite NAME"), std::string::npos) << both.err;
  const std::string empty = WriteFile("empty.json", R"({"base_url":"http://x"})");
  Outcome no_checks = Run(gateway, {"health", "smoke", "--file", empty});
  EXPECT_EQ(no_checks.code, kExitUsage);
  EXPECT_NE(no_checks.err.find("--file has no \"checks\""), std::string::npos) << no_checks.err;
}

TEST_F(HealthCommandsTest, SmokeRefusedByTheServerPrintsItsFieldError) {
  FakeGateway gateway([](const RecordedRequest&) {
    return CannedResponse{400, R"({"error":{"code":"INVALID_ARGUMENT",
      "message":"checks[1].url: \"/db\" is relative and the run has no base_url"}})"};
  });
  const std::string file = WriteFile("suite.json", R"({"checks":[{"name":"a","url":"http://x/"},{"name":"db","url":"/db"}]})");
  Outcome o = Run(gateway, {"health", "smoke", "--file", file});
  EXPECT_EQ(o.code, kExitError);
  EXPECT_EQ(o.err, "error: INVALID_ARGUMENT: checks[1].url: \"/db\" is relative and the run has no base_url\n");
}

TEST_F(HealthCommandsTest, TargetShowsTheEffectiveDefaultsNotEmptyValues) {
  // What the service answers for an HTTP target created without a status list.
  json target = json::parse(kTargetJson);
  target["expect_status"] = json::array();
  FakeGateway gateway([&target](const RecordedRequest&) { return CannedResponse{200, target.dump()}; });
  Outcome o = Run(gateway, {"health", "target", "checkout-live"});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  EXPECT_NE(o.out.find("expect status: 200-399 (default)\n"), std::string::npos) << o.out;
  EXPECT_EQ(o.out.find("[]"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("timing: period 10s, timeout 1s, initial delay 0s, success threshold 1, failure "
                       "threshold 3\n"),
            std::string::npos)
      << o.out;

  target.erase("expect_status");  // a gateway that leaves empty lists out
  Outcome absent = Run(gateway, {"health", "target", "checkout-live"});
  EXPECT_NE(absent.out.find("expect status: 200-399 (default)\n"), std::string::npos) << absent.out;

  target["expect_status"] = json::array({200, 204});
  Outcome listed = Run(gateway, {"health", "target", "checkout-live"});
  EXPECT_NE(listed.out.find("expect status: 200, 204\n"), std::string::npos) << listed.out;
}

TEST_F(HealthCommandsTest, EnvAndEnvironmentBothNameTheEnvironment) {
  FakeGateway gateway([](const RecordedRequest& r) {
    if (r.target.rfind("/v1/health/targets?", 0) == 0) return CannedResponse{200, R"({"targets":[]})"};
    if (r.target.rfind("/v1/health/events", 0) == 0) return CannedResponse{200, R"({"events":[]})"};
    if (r.target.rfind("/v1/health/services/", 0) == 0) {
      return CannedResponse{200, R"({"service":"checkout","environments":[]})"};
    }
    return CannedResponse{200, kTargetJson};
  });
  for (const char* flag : {"--env", "--environment"}) {
    SCOPED_TRACE(flag);
    ASSERT_EQ(Run(gateway, {"health", "targets", flag, "staging"}).code, kExitOk);
    EXPECT_EQ(gateway.requests().back().target, "/v1/health/targets?environment=staging");
    ASSERT_EQ(Run(gateway, {"health", "events", flag, "staging"}).code, kExitOk);
    EXPECT_EQ(gateway.requests().back().target, "/v1/health/events?environment=staging");
    ASSERT_EQ(Run(gateway, {"health", "service", "checkout", flag, "staging"}).code, kExitOk);
    EXPECT_EQ(gateway.requests().back().target, "/v1/health/services/checkout?environment=staging");
    Outcome add = Run(gateway, {"health", "add", "pay-db", "--service", "pay", flag, "staging", "--role", "readiness",
                                "--kind", "tcp", "--address", "db:5432"});
    ASSERT_EQ(add.code, kExitOk) << add.err;
    EXPECT_EQ(json::parse(gateway.requests().back().body)["environment"], "staging");
  }
  Outcome none = Run(gateway, {"health", "add", "pay-db", "--service", "pay", "--role", "readiness", "--kind", "tcp",
                               "--address", "db:5432"});
  EXPECT_EQ(none.code, kExitUsage);
  EXPECT_NE(none.err.find("--environment (or --env) is required"), std::string::npos) << none.err;
}

}  // namespace
}  // namespace flightdeck::cli
