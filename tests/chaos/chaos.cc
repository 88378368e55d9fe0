#include "tests/chaos/chaos.h"

#include <signal.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/e2e/stack.h"

namespace flightdeck::test::chaos {
namespace {

std::mutex random_mu;

unsigned SeedFromEnv() {
  const char* s = std::getenv("FD_CHAOS_SEED");
  unsigned seed = (s != nullptr && *s != '\0') ? static_cast<unsigned>(std::strtoul(s, nullptr, 10))
                                                : std::random_device{}();
  std::printf("chaos: FD_CHAOS_SEED=%u\n", seed);
  return seed;
}

std::string MakeTempDir(const char* prefix) {
  std::string pattern = std::string("/tmp/") + prefix + "-XXXXXX";
  char* made = mkdtemp(pattern.data());
  if (made == nullptr) return "";
  // PostgreSQL runs as the postgres user when the test runs as root: it must reach the dir.
  chmod(made, 0755);
  return made;
}

}  // namespace

int Scale() {
  const char* s = std::getenv("FD_CHAOS_ITERATIONS");
  int n = (s != nullptr && *s != '\0') ? std::atoi(s) : 1;
  return std::clamp(n, 1, 1000);
}

std::mt19937& Random() {
  static std::mt19937 rng(SeedFromEnv());
  return rng;
}

int Uniform(int lo, int hi) {
  std::lock_guard<std::mutex> lock(random_mu);
  return std::uniform_int_distribution<int>(lo, hi)(Random());
}

std::chrono::milliseconds UniformMs(int lo, int hi) { return std::chrono::milliseconds(Uniform(lo, hi)); }

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * double(values.size())));
  return values[std::clamp<size_t>(rank, 1, values.size()) - 1];
}

void Figures::Violation(const std::string& what) {
  ++violations_;
  ADD_FAILURE() << "[" << scenario_ << "] invariant violated: " << what;
}

void Figures::Sample(const std::string& name, double value) {
  for (auto& [n, v] : samples_) {
    if (n == name) {
      v.push_back(value);
      return;
    }
  }
  samples_.push_back({name, {value}});
}

Figures::~Figures() {
  std::printf("chaos | %-34s | iterations %4d | faults %4d | violations %d | recovery p50 %6.0f ms p99 %6.0f ms\n",
              scenario_.c_str(), iterations_, faults_, violations_, Percentile(recovery_ms_, 50),
              Percentile(recovery_ms_, 99));
  nlohmann::json row = {{"scenario", scenario_},          {"iterations", iterations_},
                        {"faults", faults_},              {"violations", violations_},
                        {"recovery_p50_ms", Percentile(recovery_ms_, 50)},
                        {"recovery_p99_ms", Percentile(recovery_ms_, 99)},
                        {"recoveries", recovery_ms_.size()}};
  for (const auto& [name, values] : samples_) {
    std::printf("chaos | %-34s |   %s: n %zu, p50 %.1f, p99 %.1f\n", scenario_.c_str(), name.c_str(),
                values.size(), Percentile(values, 50), Percentile(values, 99));
    row["samples"][name] = {{"n", values.size()}, {"p50", Percentile(values, 50)}, {"p99", Percentile(values, 99)}};
  }
  std::fflush(stdout);
  if (const char* report = std::getenv("FD_CHAOS_REPORT"); report != nullptr && *report != '\0') {
    std::ofstream(report, std::ios::app) << row.dump() << "\n";
  }
}

int RunDatastores(const std::string& script, const std::vector<std::string>& args, std::string* out) {
  // Output goes to a file and the child keeps no other descriptor: the servers it starts
  // daemonize with what they inherit, and a pipe held open by them would never reach EOF.
  char path[] = "/tmp/fd-chaos-datastores-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) return -1;
  std::vector<std::string> argv_strings = {"/bin/bash", "-c",
                                           "set -u; source \"$FD_DATASTORES\"; " + script, "datastores"};
  for (const std::string& a : args) argv_strings.push_back(a);
  std::vector<char*> argv;
  for (std::string& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, STDIN_FILENO);
    syscall(SYS_close_range, 3u, ~0u, 0u);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    setenv("FD_DATASTORES", FD_SOURCE_DIR "/scripts/lib/datastores.sh", 1);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(fd);
  int status = 0;
  if (pid > 0) waitpid(pid, &status, 0);
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  unlink(path);
  if (out != nullptr) *out = ss.str();
  return pid > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// --- PostgreSQL --------------------------------------------------------------------------

PrivatePostgres::PrivatePostgres() : dir_(MakeTempDir("fd-chaos-pg")) {
  // Durable settings (no "fast" mode): the scenario checks that acknowledged writes survive an
  // immediate shutdown, which synchronous_commit=off would not promise.
  for (int attempt = 0; attempt < 3 && url_.empty(); ++attempt) {
    port_ = FreePort();
    std::string out;
    if (RunDatastores("fd_pg_start \"$1/pg\" \"$2\" >&2 && fd_pg_url \"$1/pg\" \"$2\"",
                      {dir_, std::to_string(port_)}, &out) == 0) {
      url_ = out.substr(out.rfind("postgres://"));
      while (!url_.empty() && (url_.back() == '\n' || url_.back() == '\r')) url_.pop_back();
    }
  }
  if (url_.empty()) ADD_FAILURE() << "the private PostgreSQL did not start in " << dir_;
}

PrivatePostgres::~PrivatePostgres() {
  RunDatastores("fd_pg_stop \"$1/pg\"", {dir_});
  RunCommand({"/bin/rm", "-rf", dir_});
}

bool PrivatePostgres::Stop(const std::string& mode) {
  int rc = RunDatastores("fd_as_pg_owner \"$FD_PG_BIN/pg_ctl\" -D \"$1/pg/data\" -m \"$2\" -w -t 30 stop >/dev/null",
                         {dir_, mode});
  if (rc != 0) ADD_FAILURE() << "pg_ctl stop -m " << mode << " failed";
  return rc == 0;
}

bool PrivatePostgres::Start() {
  std::string out;
  int rc = RunDatastores("fd_pg_start \"$1/pg\" \"$2\"", {dir_, std::to_string(port_)}, &out);
  if (rc != 0) ADD_FAILURE() << "the private PostgreSQL did not start again: " << out;
  return rc == 0;
}

bool PrivatePostgres::Restart(const std::string& mode) { return Stop(mode) && Start(); }

// --- Redis -------------------------------------------------------------------------------

PrivateRedis::PrivateRedis() : dir_(MakeTempDir("fd-chaos-redis")) {
  for (int attempt = 0; attempt < 3 && url_.empty(); ++attempt) {
    port_ = FreePort();
    std::string out;
    if (RunDatastores("fd_redis_start \"$1/redis\" \"$2\" ephemeral >&2 && fd_redis_url \"$1/redis\" \"$2\"",
                      {dir_, std::to_string(port_)}, &out) == 0) {
      url_ = out.substr(out.rfind("redis://"));
      while (!url_.empty() && (url_.back() == '\n' || url_.back() == '\r')) url_.pop_back();
    }
  }
  if (url_.empty()) ADD_FAILURE() << "the private Redis did not start in " << dir_;
}

PrivateRedis::~PrivateRedis() {
  int p = pid();
  if (p > 0) kill(p, SIGCONT);  // a paused server would not stop
  RunDatastores("fd_redis_stop \"$1/redis\"", {dir_});
  RunCommand({"/bin/rm", "-rf", dir_});
}

bool PrivateRedis::Stop() { return RunDatastores("fd_redis_stop \"$1/redis\"", {dir_}) == 0; }

bool PrivateRedis::Start() {
  std::string out;
  int rc = RunDatastores("fd_redis_start \"$1/redis\" \"$2\" ephemeral", {dir_, std::to_string(port_)}, &out);
  if (rc != 0) ADD_FAILURE() << "the private Redis did not start again: " << out;
  return rc == 0;
}

int PrivateRedis::pid() const {
  std::string out;
  if (RunDatastores("fd_redis_pid \"$1/redis\"", {dir_}, &out) != 0) return -1;
  return std::atoi(out.c_str());
}

bool PrivateRedis::FlushAll() {
  return RunDatastores("REDISCLI_AUTH=$(fd_redis_password \"$1/redis\") redis-cli -h 127.0.0.1 -p \"$2\" FLUSHALL >/dev/null",
                       {dir_, std::to_string(port_)}) == 0;
}

}  // namespace flightdeck::test::chaos
