// fdctl window ... as an operator runs it, against a fake gateway on a loopback port: the
// requests it sends and what it prints.
#include <gtest/gtest.h>

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

class WindowCommandsTest : public FdctlTest {
 protected:
  Outcome Run(FakeGateway& gateway, std::vector<std::string> argv) {
    argv.insert(argv.end(), {"--url", gateway.url(), "--token", kToken});
    return Fdctl(argv);
  }
};

TEST_F(WindowCommandsTest, CreateSendsTheWindowFromItsFlags) {
  FakeGateway gateway([](const RecordedRequest& r) {
    return CannedResponse(200, R"({"name":"patching","kind":"MAINTENANCE","schedule":"first tuesday 03:00",
      "duration":"7200s","time_zone":"Europe/Berlin","environments":["production"],
      "next":{"start":"2027-04-06T01:00:00Z","end":"2027-04-06T03:00:00Z"}})");
  });
  Outcome o = Run(gateway, {"window", "create", "patching", "--kind", "maintenance", "--schedule",
                            "first tuesday 03:00", "--duration", "2h", "--tz", "Europe/Berlin",
                            "--env", "production,staging"});
  ASSERT_EQ(o.code, 0) << o.err;
  ASSERT_EQ(gateway.requests().size(), 1u);
  const RecordedRequest sent = gateway.requests()[0];
  EXPECT_EQ(sent.method, "POST");
  EXPECT_EQ(sent.target, "/v1/windows");
  json body = json::parse(sent.body);
  EXPECT_EQ(body["name"], "patching");
  EXPECT_EQ(body["kind"], "MAINTENANCE");
  EXPECT_EQ(body["duration"], "7200s");
  EXPECT_EQ(body["time_zone"], "Europe/Berlin");
  EXPECT_EQ(body["environments"], json({"production", "staging"}));
  EXPECT_NE(o.out.find("Next:         2027-04-06T01:00:00Z .. 2027-04-06T03:00:00Z"), std::string::npos) << o.out;
}

TEST_F(WindowCommandsTest, NextSaysWhenAndWhyNot) {
  FakeGateway gateway([](const RecordedRequest&) {
    return CannedResponse(200, R"({"service":"api","environment":"production","open":false,
      "opens_at":"2027-03-07T02:00:00Z","closes_at":"2027-03-07T04:00:00Z",
      "required_window":"db-maintenance","checklist":{"window":"db-maintenance","verdict":"PENDING"},
      "reason":"the policy of production requires maintenance window \"db-maintenance\", which is closed"})");
  });
  Outcome o = Run(gateway, {"window", "next", "--service", "api", "--env", "production"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(gateway.requests()[0].target, "/v1/windows/next?service=api&environment=production");
  EXPECT_NE(o.out.find("Changes to api in production may next go out at 2027-03-07T02:00:00Z "
                       "(until 2027-03-07T04:00:00Z)."),
            std::string::npos)
      << o.out;
  EXPECT_NE(o.out.find("Why not now: the policy of production requires"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("Checklist:   PENDING (fdctl window checklist db-maintenance)"), std::string::npos) << o.out;
}

TEST_F(WindowCommandsTest, CreateNamesTheSmokeSuiteAndGetShowsItsLastRun) {
  FakeGateway gateway([](const RecordedRequest&) {
    return CannedResponse(200, R"({"name":"db-maintenance","kind":"MAINTENANCE","schedule":"0 2 * * SUN",
      "duration":"7200s","time_zone":"UTC","smoke_suite":"db-smoke",
      "last_smoke":{"occurrence":{"start":"2027-03-07T02:00:00Z","end":"2027-03-07T04:00:00Z"},
        "suite":"db-smoke","run_id":"r1","state":"FAILED",
        "summary":"smoke run r1: 0/1 checks passed; status-page: status 503 not 200"}})");
  });
  Outcome o = Run(gateway, {"window", "create", "db-maintenance", "--kind", "maintenance", "--schedule",
                            "0 2 * * SUN", "--duration", "2h", "--smoke-suite", "db-smoke"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(json::parse(gateway.requests()[0].body)["smoke_suite"], "db-smoke");
  EXPECT_NE(o.out.find("Smoke suite:  db-smoke (run when each opening closes)"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("Last smoke:   FAILED after 2027-03-07T02:00:00Z .. 2027-03-07T04:00:00Z: smoke run r1: "
                       "0/1 checks passed; status-page: status 503 not 200"),
            std::string::npos)
      << o.out;
}

TEST_F(WindowCommandsTest, TickPostsTheNoteAndShowsTheChecklist) {
  FakeGateway gateway([](const RecordedRequest&) {
    return CannedResponse(200, R"({"window":"db-maintenance",
      "occurrence":{"start":"2027-03-07T02:00:00Z","end":"2027-03-07T04:00:00Z"},
      "items":[{"item":{"name":"on-call","check":"ONCALL_COVERAGE","required":true},"state":"PASS",
                "reason":"ticked by ops at 2027-03-05T10:00:00Z","ticked_by":"ops"},
               {"item":{"name":"backups","check":"BACKUP_VERIFIED","required":true},"state":"FAIL",
                "reason":"no verified backup of orders-db"}],
      "verdict":"FAIL"})");
  });
  Outcome o = Run(gateway, {"window", "tick", "db-maintenance", "on-call", "--note", "rota set"});
  ASSERT_EQ(o.code, 0) << o.err;
  const RecordedRequest sent = gateway.requests()[0];
  EXPECT_EQ(sent.target, "/v1/windows/db-maintenance/checklist/on-call/tick");
  EXPECT_EQ(json::parse(sent.body)["note"], "rota set");
  EXPECT_NE(o.out.find("verdict FAIL"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("no verified backup of orders-db"), std::string::npos) << o.out;
}

TEST_F(WindowCommandsTest, NextWithoutItsFlagsIsAUsageError) {
  FakeGateway gateway([](const RecordedRequest&) { return CannedResponse(200, "{}"); });
  Outcome o = Run(gateway, {"window", "next", "--service", "api"});
  EXPECT_EQ(o.code, 2) << o.out;
  EXPECT_TRUE(gateway.requests().empty());
}

}  // namespace
}  // namespace flightdeck::cli
