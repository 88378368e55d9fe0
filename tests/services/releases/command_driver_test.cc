#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "services/releases/driver.h"

namespace flightdeck::releases {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

class CommandDriverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/fd-driver-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr) << "mkdtemp: " << std::strerror(errno);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Written with O_CLOEXEC and closed before any exec: a write descriptor leaking into a
  // concurrently forked child would make exec fail with ETXTBSY.
  std::string WriteScript(const std::string& body, mode_t mode = 0755) {
    std::string path = dir_ + "/script-XXXXXX";
    int fd = mkostemp(path.data(), O_CLOEXEC);
    EXPECT_GE(fd, 0) << "mkostemp: " << std::strerror(errno);
    std::string text = "#!/bin/sh\n" + body + "\n";
    EXPECT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    close(fd);
    EXPECT_EQ(chmod(path.c_str(), mode), 0);
    return path;
  }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  static std::string ReadFile(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  static DriverAction SampleAction() {
    DriverAction action;
    action.action = "canary";
    action.weight = 5;
    action.action_id = "rel-42/step-0/canary";
    action.previous_image = "registry.example/checkout:1111111";
    action.release.set_id("rel-42");
    action.release.set_service("checkout");
    action.release.set_environment("production");
    action.release.set_version("v2.4.0");
    action.release.set_commit_sha("9fceb02d");
    action.release.set_image("registry.example/checkout:9fceb02d");
    return action;
  }

  std::string dir_;
};

// True once the process is gone or a zombie nobody reaps (PID 1 in a container may not).
bool ProcessIsDead(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return true;
  std::string line;
  std::getline(stat, line);
  auto close_paren = line.rfind(')');
  return close_paren != std::string::npos && close_paren + 2 < line.size() &&
         line[close_paren + 2] == 'Z';
}

bool WaitUntilDead(pid_t pid, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (ProcessIsDead(pid)) return true;
    std::this_thread::sleep_for(10ms);
  }
  return ProcessIsDead(pid);
}

TEST_F(CommandDriverTest, DocumentedVariablesArrive) {
  std::string out = Path("env.txt");
  CommandDriver driver({WriteScript("env > \"$1\""), out}, 10s);
  DriverResult result = driver.Run(SampleAction());
  ASSERT_TRUE(result.ok) << result.error;
  std::string env = ReadFile(out);
  for (const char* expected :
       {"FLIGHTDECK_SERVICE=checkout\n", "FLIGHTDECK_ENVIRONMENT=production\n",
        "FLIGHTDECK_VERSION=v2.4.0\n", "FLIGHTDECK_IMAGE=registry.example/checkout:9fceb02d\n",
        "FLIGHTDECK_COMMIT_SHA=9fceb02d\n", "FLIGHTDECK_ACTION=canary\n", "FLIGHTDECK_WEIGHT=5\n",
        "FLIGHTDECK_PREVIOUS_IMAGE=registry.example/checkout:1111111\n",
        "FLIGHTDECK_ACTION_ID=rel-42/step-0/canary\n", "FLIGHTDECK_RELEASE_ID=rel-42\n"}) {
    EXPECT_THAT(env, HasSubstr(expected));
  }
  // The parent's ordinary environment is passed on (PATH for kubectl/helm lookups).
  EXPECT_THAT(env, HasSubstr("PATH="));
}

TEST_F(CommandDriverTest, ReleaseValuesOverrideInheritedOnes) {
  setenv("FLIGHTDECK_SERVICE", "inherited-from-the-service", 1);
  std::string out = Path("env.txt");
  CommandDriver driver({WriteScript("env > \"$1\""), out}, 10s);
  DriverResult result = driver.Run(SampleAction());
  unsetenv("FLIGHTDECK_SERVICE");
  ASSERT_TRUE(result.ok) << result.error;
  std::string env = ReadFile(out);
  EXPECT_THAT(env, HasSubstr("FLIGHTDECK_SERVICE=checkout\n"));
  EXPECT_THAT(env, Not(HasSubstr("inherited-from-the-service")));
}

TEST_F(CommandDriverTest, SecretsAreRemovedFromTheEnvironment) {
  const std::vector<std::pair<const char*, const char*>> secrets = {
      {"DATABASE_URL", "postgres://fd:hunter2@db/fd"},
      {"REDIS_URL", "redis://:hunter3@cache:6379"},
      {"FLIGHTDECK_ADMIN_TOKEN", "admin-token-value"},
      {"FLIGHTDECK_BACKUP_KEY", "backup-key-value"},
      {"FLIGHTDECK_BACKUP_KEY_FILE", "/etc/flightdeck/backup-key"},
      {"FLIGHTDECK_MASTER_KEY", "master-key-value"},
      {"FLIGHTDECK_MASTER_KEY_FILE", "/etc/flightdeck/master-key"},
      {"PGPASSWORD", "pg-password-value"},
      {"MY_API_SECRET", "api-secret-value"},
      {"GITHUB_TOKEN", "github-token-value"},
      {"vault_token", "vault-token-value"},
  };
  for (const auto& [name, value] : secrets) setenv(name, value, 1);
  setenv("FD_DRIVER_TEST_KEEP_ME", "kept", 1);
  std::string out = Path("env.txt");
  CommandDriver driver({WriteScript("env > \"$1\""), out}, 10s);
  DriverResult result = driver.Run(SampleAction());
  for (const auto& [name, value] : secrets) unsetenv(name);
  unsetenv("FD_DRIVER_TEST_KEEP_ME");

  ASSERT_TRUE(result.ok) << result.error;
  std::string env = ReadFile(out);
  for (const auto& [name, value] : secrets) {
    EXPECT_THAT(env, Not(HasSubstr(std::string(name) + "="))) << name << " leaked";
    EXPECT_THAT(env, Not(HasSubstr(value))) << name << "'s value leaked";
  }
  EXPECT_THAT(env, HasSubstr("FD_DRIVER_TEST_KEEP_ME=kept\n"));
  EXPECT_THAT(env, HasSubstr("FLIGHTDECK_ACTION_ID=rel-42/step-0/canary\n"));
}

TEST_F(CommandDriverTest, ArgumentsArePassedWithoutAShell) {
  std::string out = Path("args.txt");
  std::string marker = Path("injected");
  std::vector<std::string> args = {"two words", "$(touch " + marker + ")", "*", "a;b", "`id`",
                                   "'quoted'"};
  std::vector<std::string> argv = {WriteScript("out=$1; shift; printf '%s\\n' \"$@\" > \"$out\""),
                                   out};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandDriver driver(argv, 10s);
  DriverResult result = driver.Run(SampleAction());
  ASSERT_TRUE(result.ok) << result.error;

  std::string expected;
  for (const auto& a : args) expected += a + "\n";
  EXPECT_EQ(ReadFile(out), expected);
  EXPECT_FALSE(std::filesystem::exists(marker)) << "an argument was interpreted by a shell";
}

TEST_F(CommandDriverTest, BareNameIsFoundOnPath) {
  CommandDriver driver({"echo", "hello from PATH"}, 10s);
  DriverResult result = driver.Run(SampleAction());
  ASSERT_TRUE(result.ok) << result.error;
  EXPECT_EQ(result.output, "hello from PATH\n");
}

TEST_F(CommandDriverTest, NonZeroExitFailsWithTheStatus) {
  CommandDriver driver({WriteScript("echo 'helm: release checkout failed' >&2; exit 3")}, 10s);
  DriverResult result = driver.Run(SampleAction());
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_EQ(result.error, "exit status 3");
  EXPECT_THAT(result.output, HasSubstr("helm: release checkout failed"));
}

TEST_F(CommandDriverTest, DeathBySignalIsAFailure) {
  CommandDriver driver({WriteScript("kill -KILL $$")}, 10s);
  DriverResult result = driver.Run(SampleAction());
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.exit_code, 128 + SIGKILL);
  EXPECT_EQ(result.error, "killed by signal 9 (SIGKILL)");
}

TEST_F(CommandDriverTest, StdoutAndStderrAreCapturedTogetherAndStdinIsEmpty) {
  // `cat` would hang if stdin were inherited from a terminal or a pipe that stays open.
  CommandDriver driver({WriteScript("echo to-stdout; echo to-stderr >&2; cat; echo done")}, 10s);
  DriverResult result = driver.Run(SampleAction());
  ASSERT_TRUE(result.ok) << result.error;
  EXPECT_EQ(result.output, "to-stdout\nto-stderr\ndone\n");
}

TEST_F(CommandDriverTest, OutputIsTruncatedButTheCommandRunsToTheEnd) {
  // 1 MB, far past both the cap and a pipe buffer: the command only finishes if the driver
  // keeps reading after the cap.
  std::string done = Path("finished");
  CommandDriver driver(
      {WriteScript("head -c 1048576 /dev/zero | tr '\\0' x; echo; touch \"$1\""), done}, 10s, 1000);
  DriverResult result = driver.Run(SampleAction());
  ASSERT_TRUE(result.ok) << result.error;
  EXPECT_TRUE(std::filesystem::exists(done));
  EXPECT_EQ(result.output, std::string(1000, 'x') + "\n[truncated after 1000 bytes]");
}

TEST_F(CommandDriverTest, InvalidUtf8InOutputIsReplaced) {
  CommandDriver driver({WriteScript("printf 'ok \\377\\000 end'")}, 10s);
  DriverResult result = driver.Run(SampleAction());
  ASSERT_TRUE(result.ok) << result.error;
  EXPECT_EQ(result.output, "ok \xEF\xBF\xBD\xEF\xBF\xBD end");
}

TEST_F(CommandDriverTest, TimeoutKillsTheScriptAndItsChildren) {
  // The services block SIGTERM in every thread; the command must still be killable by it.
  sigset_t term, old;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &term, &old);

  std::string pidfile = Path("child.pid");
  CommandDriver driver(
      {WriteScript("sleep 60 & echo $! > \"$1\"; echo started; sleep 60"), pidfile}, 500ms);
  auto start = std::chrono::steady_clock::now();
  DriverResult result = driver.Run(SampleAction());
  auto elapsed = std::chrono::steady_clock::now() - start;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);

  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.error, "timed out after 500ms");
  EXPECT_THAT(result.output, HasSubstr("started"));
  // SIGTERM works at once; needing the SIGKILL 5 s later would mean it was blocked or missed.
  EXPECT_LT(elapsed, 2500ms);
  pid_t background = std::atoi(ReadFile(pidfile).c_str());
  ASSERT_GT(background, 0);
  EXPECT_TRUE(WaitUntilDead(background, 2s)) << "background child " << background << " survived";
}

TEST_F(CommandDriverTest, ACommandIgnoringSigtermIsKilled) {
  CommandDriver driver({WriteScript("trap '' TERM; echo stubborn; sleep 60")}, 300ms);
  auto start = std::chrono::steady_clock::now();
  DriverResult result = driver.Run(SampleAction());
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.error, "timed out after 300ms");
  EXPECT_THAT(result.output, HasSubstr("stubborn"));
  // Timeout, then the 5 s SIGTERM grace, then SIGKILL.
  EXPECT_GE(elapsed, 5s);
  EXPECT_LT(elapsed, 8s);
}

TEST_F(CommandDriverTest, MissingExecutableGivesAClearError) {
  CommandDriver driver({Path("no-such-deploy.sh")}, 10s);
  DriverResult result = driver.Run(SampleAction());
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.error,
            "cannot run " + Path("no-such-deploy.sh") + ": No such file or directory");
}

TEST_F(CommandDriverTest, NonExecutableFileGivesAClearError) {
  std::string script = WriteScript("echo never", 0644);
  CommandDriver driver({script}, 10s);
  DriverResult result = driver.Run(SampleAction());
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.error, "cannot run " + script + ": Permission denied");
}

TEST_F(CommandDriverTest, ParentDescriptorsAreNotInherited) {
  int leaky = open("/dev/null", O_RDONLY);  // deliberately without O_CLOEXEC
  ASSERT_GE(leaky, 0);
  CommandDriver driver(
      {WriteScript("if [ -e /proc/$$/fd/$1 ]; then echo open; else echo closed; fi"),
       std::to_string(leaky)},
      10s);
  DriverResult result = driver.Run(SampleAction());
  close(leaky);
  ASSERT_TRUE(result.ok) << result.error;
  EXPECT_EQ(result.output, "closed\n");
}

TEST_F(CommandDriverTest, TwoDriversRunConcurrently) {
  // Each run announces itself and waits (bounded) for the other: both only see each other if
  // they overlap, and each must get only its own output and variables.
  std::string script = WriteScript(
      "touch \"$3/$1\"; i=0\n"
      "while [ ! -e \"$3/$2\" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done\n"
      "[ -e \"$3/$2\" ] && echo \"$FLIGHTDECK_ACTION $FLIGHTDECK_WEIGHT $1 saw $2\"");
  CommandDriver first({script, "first", "second", dir_}, 30s);
  CommandDriver second({script, "second", "first", dir_}, 30s);
  DriverAction canary = SampleAction();
  DriverAction promote = SampleAction();
  promote.action = "promote";
  promote.weight = 100;

  DriverResult a, b;
  std::thread ta([&] { a = first.Run(canary); });
  std::thread tb([&] { b = second.Run(promote); });
  ta.join();
  tb.join();

  ASSERT_TRUE(a.ok) << a.error << " " << a.output;
  ASSERT_TRUE(b.ok) << b.error << " " << b.output;
  EXPECT_EQ(a.output, "canary 5 first saw second\n");
  EXPECT_EQ(b.output, "promote 100 second saw first\n");
}

TEST(ExternalDriverTest, RecordsTheDecisionForThePipeline) {
  ExternalDriver driver;
  DriverAction action;
  action.action = "canary";
  action.weight = 25;
  DriverResult result = driver.Run(action);
  EXPECT_TRUE(result.ok);
  EXPECT_EQ(result.output, "recorded for the pipeline: canary 25%");
}

}  // namespace
}  // namespace flightdeck::releases
