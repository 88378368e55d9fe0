// End to end: the alerts Flightdeck raises about itself become incidents. Two failed releases in
// a row of a service in an environment (a command driver that fails) raise
// ConsecutiveFailedReleases; two scheduled backups of an unreachable database failing in a row
// raise BackupFailing. Each must show up in GET /v1/incidents with its severity, delivered by
// the services' durable send_alert jobs to the real incidents service.
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/http_client.h"
#include "tests/e2e/stack.h"
#include "tests/support/wait.h"

namespace flightdeck::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class AlertIncidentsE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char dir[] = "/tmp/fd-alert-incidents-e2e-XXXXXX";
    dir_ = new std::string(mkdtemp(dir));
    // The deploy command fails every canary; a rollback (nothing to undo) succeeds.
    const std::string script = *dir_ + "/deploy.sh";
    std::ofstream(script) << "#!/bin/sh\n"
                             "[ \"$FLIGHTDECK_ACTION\" = rollback ] && exit 0\n"
                             "echo \"cannot reach the cluster\" >&2\n"
                             "exit 3\n";
    chmod(script.c_str(), 0755);
    std::ofstream(*dir_ + "/environments.json")
        << json{{"flaky", {{"driver", "command"}, {"command", {script}}, {"command_timeout", "20s"}}}}.dump();
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

  // Polls `probe` every 200 ms until it answers a non-null value or `limit` passes.
  static json WaitFor(const std::function<json()>& probe, std::chrono::seconds limit) {
    return PollUntil(probe, [](const json& found) { return !found.is_null(); }, limit, 200ms);
  }

  // The incident of `service` whose title is `title`, or null.
  static json IncidentTitled(const std::string& service, const std::string& title) {
    for (const json& i : Get("/v1/incidents?service=" + service).value("incidents", json::array())) {
      if (i.value("title", "") == title) return i;
    }
    return nullptr;
  }

  // Creates a release of `service` into "flaky" and waits until it ended.
  static json ReleaseThatFails(const std::string& service, const std::string& sha) {
    HttpResponse created = Call("POST", "/v1/releases",
                                {{"service", service}, {"environment", "flaky"}, {"version", "v-" + sha},
                                 {"commit_sha", sha}, {"image", "registry.example/" + service + ":" + sha}});
    EXPECT_EQ(created.status, 200) << created.body;
    const std::string id = json::parse(created.body, nullptr, false).value("id", "");
    return WaitFor([&]() -> json {
      json r = Get("/v1/releases/" + id);
      const std::string state = r.value("state", "");
      return state == "ROLLED_BACK" || state == "FAILED" || state == "SUCCEEDED" ? r : json(nullptr);
    }, 60s);
  }

  static std::vector<std::string> EventTypes(const std::string& release_id) {
    std::vector<std::string> types;
    for (const json& e : Get("/v1/releases/" + release_id + "/events").value("events", json::array())) {
      types.push_back(e.value("type", ""));
    }
    return types;
  }

  static std::string* dir_;
  static Stack* stack_;
  static bool ready_;
};

std::string* AlertIncidentsE2eTest::dir_ = nullptr;
Stack* AlertIncidentsE2eTest::stack_ = nullptr;
bool AlertIncidentsE2eTest::ready_ = false;

TEST_F(AlertIncidentsE2eTest, TwoFailedReleasesInARowOpenAConsecutiveFailedReleasesIncident) {
  const std::string title = "two releases of payments in a row failed in flaky";
  json first = ReleaseThatFails("payments", "aaaa111");
  ASSERT_FALSE(first.is_null()) << "the first release did not end\n" << stack_->Logs();
  ASSERT_NE(first.value("state", ""), "SUCCEEDED") << first.dump(2);
  std::vector<std::string> types = EventTypes(first["id"]);
  EXPECT_EQ(std::count(types.begin(), types.end(), "ALERT"), 0) << "one failure is not a streak";

  json second = ReleaseThatFails("payments", "bbbb222");
  ASSERT_FALSE(second.is_null()) << "the second release did not end\n" << stack_->Logs();
  ASSERT_NE(second.value("state", ""), "SUCCEEDED") << second.dump(2);
  types = EventTypes(second["id"]);
  EXPECT_EQ(std::count(types.begin(), types.end(), "ALERT"), 1) << testing::PrintToString(types);

  json incident = WaitFor([&] { return IncidentTitled("payments", title); }, 30s);
  ASSERT_FALSE(incident.is_null()) << "no incident: " << Get("/v1/incidents").dump(2) << "\n" << stack_->Logs();
  EXPECT_EQ(incident.value("severity", ""), "SEV2") << incident.dump(2);  // critical -> SEV2
  EXPECT_EQ(incident.value("environment", ""), "flaky");
  EXPECT_EQ(incident.value("state", ""), "TRIGGERED");
  // Another service's history is its own: a single failure of "ledger" opens nothing.
  json other = ReleaseThatFails("ledger", "cccc333");
  ASSERT_FALSE(other.is_null());
  types = EventTypes(other["id"]);
  EXPECT_EQ(std::count(types.begin(), types.end(), "ALERT"), 0);
}

// Scheduled runs are due once a minute at the soonest: this takes up to ~2.5 minutes.
TEST_F(AlertIncidentsE2eTest, TwoScheduledBackupsOfAnUnreachableDatabaseOpenABackupFailingIncident) {
  // Nothing listens on this port: every run fails to connect.
  const std::string unreachable =
      "postgresql://backup:secret@127.0.0.1:" + std::to_string(FreePort()) + "/orders";
  HttpResponse created = Call("POST", "/v1/backup-targets",
                              {{"name", "orders"}, {"database_url", unreachable}, {"schedule", "* * * * *"},
                               {"storage", {{"kind", "LOCAL"}, {"path", *dir_ + "/orders"}}}});
  ASSERT_EQ(created.status, 200) << created.body;

  const std::string title = "two scheduled backups of orders failed in a row";
  json incident = WaitFor([&] { return IncidentTitled("orders", title); }, 170s);
  json backups = Get("/v1/backups?target=orders");
  // Stop the schedule before anything can fail the test, so that no more runs start.
  EXPECT_EQ(Call("PATCH", "/v1/backup-targets/orders", {{"schedule", ""}}).status, 200);
  ASSERT_FALSE(incident.is_null()) << "no incident; backups: " << backups.dump(2) << "\n" << stack_->Logs();
  EXPECT_EQ(incident.value("severity", ""), "SEV2") << incident.dump(2);  // critical -> SEV2
  EXPECT_EQ(incident.value("state", ""), "TRIGGERED");
  int failed_scheduled = 0;
  for (const json& b : backups.value("backups", json::array())) {
    failed_scheduled += b.value("state", "") == "FAILED" && b.value("trigger", "") == "SCHEDULED";
  }
  EXPECT_GE(failed_scheduled, 2) << "the incident came after two failed scheduled runs: " << backups.dump(2);
  EXPECT_EQ(backups.dump().find("secret@"), std::string::npos) << "the password never shows";
}

}  // namespace
}  // namespace flightdeck::test
