// End to end: the README's walk-through (docs/walkthrough.sh, which the README quotes) runs
// against the control plane started the way the other e2e tests start it, and leaves what it
// says it creates: two releases shipped through their canaries, an incident acknowledged and
// resolved, a backup that verified.
#include <stdlib.h>

#include <map>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "tests/support/http_client.h"
#include "tests/e2e/stack.h"
#include "tests/support/test_database.h"

namespace flightdeck::test {
namespace {

using nlohmann::json;

class WalkthroughTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/fd-walkthrough-e2e-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override {
    const std::string cmd = "rm -rf " + dir_;
    (void)!system(cmd.c_str());
  }

  json Get(const Stack& stack, const std::string& path) {
    HttpResponse r = HttpRequest("GET", stack.gateway_url() + path, "",
                                 {{"Authorization", "Bearer " + stack.admin_token()}});
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    return json::parse(r.body, nullptr, false);
  }

  std::string dir_;
};

TEST_F(WalkthroughTest, TheReadmeWalkthroughRunsAndLeavesWhatItShows) {
  // The stack generates its own master key, so backups work.
  Stack stack(std::map<std::string, std::string>{{"FLIGHTDECK_JOBS_POLL_INTERVAL", "100ms"}});
  ASSERT_TRUE(stack.WaitReady()) << stack.Logs();

  TestDatabase shop;
  {
    pqxx::connection c(shop.url());
    pqxx::work w(c);
    w.exec("CREATE TABLE orders (id serial PRIMARY KEY, total numeric)");
    w.exec("INSERT INTO orders (total) SELECT i * 1.25 FROM generate_series(1, 1000) i");
    w.commit();
  }

  const std::string fdctl_dir = std::string(FD_BIN_FDCTL).substr(0, std::string(FD_BIN_FDCTL).rfind('/'));
  const std::string path = getenv("PATH") != nullptr ? getenv("PATH") : "/usr/bin:/bin";
  CommandResult run = RunCommand(
      {"/bin/bash", FD_SOURCE_DIR "/docs/walkthrough.sh"},
      {{"FLIGHTDECK_URL", stack.gateway_url()},
       {"FLIGHTDECK_TOKEN", stack.admin_token()},
       {"WALKTHROUGH_DATABASE_URL", shop.url()},
       {"WALKTHROUGH_BACKUP_DIR", dir_ + "/backups"},
       {"PATH", fdctl_dir + ":" + path},
       // Only the environment: no fdctl configuration of whoever runs the test.
       {"FDCTL_CONFIG", dir_ + "/fdctl.json"},
       {"HOME", dir_}});
  ASSERT_EQ(run.exit_code, 0) << run.output << "\n" << stack.Logs();
  EXPECT_NE(run.output.find("walkthrough: done"), std::string::npos) << run.output;
  EXPECT_EQ(run.output.find(stack.admin_token()), std::string::npos) << "never prints the admin token";

  // The pipeline's and Alertmanager's tokens exist with their roles.
  std::set<std::string> roles;
  const json tokens = Get(stack, "/v1/tokens");
  for (const json& t : tokens["tokens"]) {
    const std::string name = t.value("name", "");
    if (name.rfind("ci-", 0) == 0 || name.rfind("alertmanager-", 0) == 0) roles.insert(t.value("role", ""));
  }
  EXPECT_EQ(roles, (std::set<std::string>{"DEPLOYER", "INGEST"})) << tokens.dump(2);

  // One commit shipped to staging, then to production with an approval, both SUCCEEDED.
  json releases = Get(stack, "/v1/releases?service=hello")["releases"];
  ASSERT_EQ(releases.size(), 2u) << releases.dump(2);
  std::set<std::string> environments;
  for (const json& r : releases) {
    environments.insert(r.value("environment", ""));
    EXPECT_EQ(r.value("state", ""), "SUCCEEDED") << r.dump(2);
    EXPECT_EQ(r.value("commit_sha", ""), releases[0].value("commit_sha", "-"));
    if (r.value("environment", "") == "production") {
      std::string types;
      const json events = Get(stack, "/v1/releases/" + r.value("id", "") + "/events");
      for (const json& e : events["events"]) {
        types += e.value("type", "") + " ";
      }
      EXPECT_NE(types.find("APPROVED"), std::string::npos) << types;
      EXPECT_NE(types.find("ANALYSIS"), std::string::npos) << types;
    }
  }
  EXPECT_EQ(environments, (std::set<std::string>{"staging", "production"}));

  // The alert opened an incident, which was acknowledged and resolved.
  json incidents = Get(stack, "/v1/incidents?service=hello")["incidents"];
  ASSERT_EQ(incidents.size(), 1u) << incidents.dump(2);
  EXPECT_EQ(incidents[0].value("state", ""), "RESOLVED") << incidents[0].dump(2);
  EXPECT_EQ(incidents[0].value("declared_by", ""), "alert");
  EXPECT_TRUE(incidents[0].contains("acknowledged_at")) << incidents[0].dump(2);
  EXPECT_TRUE(incidents[0].contains("resolved_at")) << incidents[0].dump(2);

  // The database is protected, and its backup verified against the manifest's row counts.
  json backups = Get(stack, "/v1/backups?target=walkthrough")["backups"];
  ASSERT_EQ(backups.size(), 1u) << backups.dump(2);
  EXPECT_EQ(backups[0].value("state", ""), "SUCCEEDED") << backups[0].dump(2);
  EXPECT_EQ(backups[0]["verification"].value("result", ""), "PASSED") << backups[0].dump(2);
  bool counted_orders = false;
  for (const json& t : backups[0]["tables"]) {
    if (t.value("table", "") == "public.orders") counted_orders = t.value("rows", "") == "1000";
  }
  EXPECT_TRUE(counted_orders) << backups[0].dump(2);
}

}  // namespace
}  // namespace flightdeck::test
