// End to end: fdctl, the binary an operator runs, against the running control plane.
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <regex>

#include "tests/support/http_client.h"
#include "tests/e2e/stack.h"

namespace flightdeck::test {
namespace {

using nlohmann::json;

class FdctlTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    stack_ = new Stack();
    ready_ = stack_->WaitReady();
  }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(ready_);
    char dir[] = "/tmp/fdctl-e2e-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    config_dir_ = dir;
    // Only the config file: no FLIGHTDECK_URL/TOKEN from the test's environment.
    env_ = {{"FDCTL_CONFIG", config_dir_ + "/fdctl.json"}, {"FLIGHTDECK_URL", ""},
            {"FLIGHTDECK_TOKEN", ""}, {"HOME", config_dir_}};
  }
  void TearDown() override {
    unlink((config_dir_ + "/fdctl.json").c_str());
    rmdir(config_dir_.c_str());
  }

  CommandResult Fdctl(std::vector<std::string> args) {
    args.insert(args.begin(), FD_BIN_FDCTL);
    return RunCommand(args, env_);
  }

  static Stack* stack_;
  static bool ready_;
  std::string config_dir_;
  std::map<std::string, std::string> env_;
};

Stack* FdctlTest::stack_ = nullptr;
bool FdctlTest::ready_ = false;

TEST_F(FdctlTest, LoginThenCreateGetAndListReleases) {
  CommandResult login = Fdctl({"login", "--url", stack_->gateway_url(), "--token", stack_->admin_token()});
  ASSERT_EQ(login.exit_code, 0) << login.output;
  EXPECT_EQ(login.output.find(stack_->admin_token()), std::string::npos) << "never prints the token";
  struct stat st {};
  ASSERT_EQ(stat((config_dir_ + "/fdctl.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);

  CommandResult created = Fdctl({"release", "create", "--service", "search", "--env", "staging",
                                 "--version", "v3.1.0", "--commit", "0123abcd", "--json"});
  ASSERT_EQ(created.exit_code, 0) << created.output;
  json release = json::parse(created.output);
  EXPECT_EQ(release["service"], "search");
  EXPECT_EQ(release["state"], "PENDING");
  std::string id = release["id"];

  CommandResult got = Fdctl({"release", "get", id});
  ASSERT_EQ(got.exit_code, 0) << got.output;
  EXPECT_NE(got.output.find("v3.1.0"), std::string::npos) << got.output;
  EXPECT_NE(got.output.find("PENDING"), std::string::npos) << got.output;

  CommandResult listed = Fdctl({"release", "list", "--service", "search"});
  ASSERT_EQ(listed.exit_code, 0) << listed.output;
  EXPECT_NE(listed.output.find(id.substr(0, 8)), std::string::npos) << listed.output;
  EXPECT_NE(listed.output.find("SERVICE"), std::string::npos) << "prints a table with a header";
}

TEST_F(FdctlTest, ReleaseActionsAndDeployCommands) {
  ASSERT_EQ(Fdctl({"login", "--url", stack_->gateway_url(), "--token", stack_->admin_token()}).exit_code, 0);
  CommandResult created = Fdctl({"release", "create", "--service", "cart", "--env", "staging",
                                 "--version", "v1", "--commit", "abcdef1", "--step", "5:600s",
                                 "--interval", "60s", "--json"});
  ASSERT_EQ(created.exit_code, 0) << created.output;
  std::string id = json::parse(created.output)["id"];
  CommandResult status = Fdctl({"deploy", "status", "cart", "--env", "staging"});
  ASSERT_EQ(status.exit_code, 0) << status.output;
  EXPECT_NE(status.output.find(id.substr(0, 8)), std::string::npos) << status.output;
  CommandResult abort = Fdctl({"release", "abort", id, "--reason", "wrong build"});
  ASSERT_EQ(abort.exit_code, 0) << abort.output;
  CommandResult events = Fdctl({"release", "events", id});
  ASSERT_EQ(events.exit_code, 0) << events.output;
  EXPECT_NE(events.output.find("wrong build"), std::string::npos) << events.output;
  CommandResult rollback = Fdctl({"deploy", "rollback", "cart", "--env", "staging", "--to",
                                  "1234567", "--reason", "test"});
  EXPECT_EQ(rollback.exit_code, 1) << rollback.output;
  EXPECT_NE(rollback.output.find("NOT_FOUND"), std::string::npos) << rollback.output;
}

TEST_F(FdctlTest, ServerErrorsAreShownWithTheirCode) {
  ASSERT_EQ(Fdctl({"login", "--url", stack_->gateway_url(), "--token", stack_->admin_token()}).exit_code, 0);
  CommandResult bad = Fdctl({"release", "create", "--service", "search", "--env", "staging",
                             "--version", "v1", "--commit", "xyz"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.output.find("INVALID_ARGUMENT"), std::string::npos) << bad.output;
  EXPECT_NE(bad.output.find("commit_sha"), std::string::npos) << bad.output;

  CommandResult unauthorised = Fdctl({"release", "list", "--token", "fd_wrong"});
  EXPECT_EQ(unauthorised.exit_code, 1);
  EXPECT_NE(unauthorised.output.find("UNAUTHENTICATED"), std::string::npos) << unauthorised.output;

  CommandResult usage = Fdctl({"release", "frobnicate"});
  EXPECT_EQ(usage.exit_code, 2) << usage.output;
}

TEST_F(FdctlTest, TokenLifecycleAndLoginSavesOnlyAnAcceptedToken) {
  ASSERT_EQ(Fdctl({"login", "--url", stack_->gateway_url(), "--token", stack_->admin_token()}).exit_code, 0);
  CommandResult created = Fdctl({"token", "create", "e2e-deployer", "--role", "deployer"});
  ASSERT_EQ(created.exit_code, 0) << created.output;
  EXPECT_NE(created.output.find("cannot be shown again"), std::string::npos) << created.output;
  const size_t at = created.output.find("\n    ");
  ASSERT_NE(at, std::string::npos) << created.output;
  const std::string secret =
      created.output.substr(at + 5, created.output.find('\n', at + 5) - (at + 5));
  ASSERT_GE(secret.size(), 16u) << created.output;

  CommandResult listed = Fdctl({"token", "list"});
  ASSERT_EQ(listed.exit_code, 0) << listed.output;
  EXPECT_TRUE(std::regex_search(listed.output, std::regex("\ne2e-deployer +DEPLOYER +")))
      << listed.output;
  EXPECT_EQ(listed.output.find(secret), std::string::npos) << "the secret is shown once";

  // A refused token changes nothing: the admin login still works.
  CommandResult refused = Fdctl({"login", "--url", stack_->gateway_url(), "--token", "fd_not_a_real_token_1234"});
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_NE(refused.output.find("refused the token"), std::string::npos) << refused.output;
  EXPECT_EQ(Fdctl({"token", "list"}).exit_code, 0) << "the admin config was kept";

  // The new token logs in and has the deployer's rights, not the admin's.
  CommandResult deployer = Fdctl({"login", "--url", stack_->gateway_url(), "--token", secret});
  ASSERT_EQ(deployer.exit_code, 0) << deployer.output;
  EXPECT_EQ(deployer.output.find(secret), std::string::npos) << "never prints the token";
  EXPECT_EQ(Fdctl({"release", "list"}).exit_code, 0);
  CommandResult denied = Fdctl({"token", "list"});
  EXPECT_EQ(denied.exit_code, 1);
  EXPECT_NE(denied.output.find("PERMISSION_DENIED"), std::string::npos) << denied.output;

  ASSERT_EQ(Fdctl({"login", "--url", stack_->gateway_url(), "--token", stack_->admin_token()}).exit_code, 0);
  CommandResult revoked = Fdctl({"token", "revoke", "e2e-deployer"});
  ASSERT_EQ(revoked.exit_code, 0) << revoked.output;
  CommandResult after = Fdctl({"login", "--url", stack_->gateway_url(), "--token", secret});
  EXPECT_EQ(after.exit_code, 1) << "a revoked token is refused: " << after.output;
}

TEST_F(FdctlTest, VersionAndTheEnvironmentAliasWorkInTheBinary) {
  CommandResult version = Fdctl({"--version"});
  EXPECT_EQ(version.exit_code, 0) << version.output;
  EXPECT_EQ(version.output.rfind("fdctl 0.1.0", 0), 0u) << version.output;
  ASSERT_EQ(Fdctl({"login", "--url", stack_->gateway_url(), "--token", stack_->admin_token()}).exit_code, 0);
  CommandResult created = Fdctl({"release", "create", "--service", "alias", "--environment", "staging",
                                 "--version", "v1", "--commit", "abcdef1", "--json"});
  ASSERT_EQ(created.exit_code, 0) << created.output;
  EXPECT_EQ(json::parse(created.output)["environment"], "staging");
}


// `release events --watch` through the real gateway: one streaming request (NDJSON over
// WatchRelease), events printed as the canary runs, and a clean stop where the release waits
// for the caller's verification.
TEST_F(FdctlTest, WatchFollowsTheReleaseThroughOneStream) {
  ASSERT_EQ(Fdctl({"login", "--url", stack_->gateway_url(), "--token", stack_->admin_token()}).exit_code, 0);
  CommandResult created = Fdctl({"release", "create", "--service", "watched", "--env", "staging", "--version",
                                 "v1.0.0", "--commit", "0badc0de", "--step", "50:2s", "--interval", "1s", "--json"});
  ASSERT_EQ(created.exit_code, 0) << created.output;
  const std::string id = json::parse(created.output)["id"];
  const std::map<std::string, std::string> auth = {{"Authorization", "Bearer " + stack_->admin_token()},
                                                   {"Content-Type", "application/json"}};
  auto events_requests = [&] {
    HttpResponse metrics = HttpRequest("GET", stack_->gateway_url() + "/metrics", "", {});
    std::smatch m;
    std::regex counter(R"re(flightdeck_http_requests_total\{[^}]*route="/v1/releases/\{id\}/events"[^}]*\} (\d+))re");
    long total = 0;
    std::string text = metrics.body;
    for (auto it = std::sregex_iterator(text.begin(), text.end(), counter); it != std::sregex_iterator(); ++it) {
      total += std::stol((*it)[1]);
    }
    return total;
  };
  const long before = events_requests();

  // The pipeline's numbers, pushed while fdctl watches.
  std::atomic<bool> stop{false};
  std::thread pusher([&] {
    for (int i = 0; i < 200 && !stop; ++i) {
      HttpRequest("POST", stack_->gateway_url() + "/v1/releases/" + id + "/observations",
                  R"({"requests":200,"errors":1,"p99_latency_ms":120,"window":"1s"})", auth);
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    }
  });
  CommandResult watched = RunCommand({"/usr/bin/timeout", "90", FD_BIN_FDCTL, "release", "events", id.substr(0, 8), "--watch"}, env_);
  stop = true;
  pusher.join();
  ASSERT_EQ(watched.exit_code, 0) << watched.output;
  EXPECT_NE(watched.output.find("ANALYSIS"), std::string::npos) << watched.output;
  EXPECT_NE(watched.output.find("waiting for your verification"), std::string::npos) << watched.output;
  EXPECT_LE(events_requests() - before, 2) << "fdctl polled instead of streaming";
}

}  // namespace
}  // namespace flightdeck::test
