// Fault scenario 5: kill -9 of backups at a random moment of a run (before or during pg_dump),
// left dead for a random while, then started again. The run ends FAILED with a reason naming
// the interruption within FLIGHTDECK_BACKUP_STALE_AFTER (plus a restart allowance), its partial
// file is gone and no good-looking file remains, a new run succeeds, and the target's schedule
// still fires: a SCHEDULED run starts in the next due minute.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <map>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "tests/chaos/chaos.h"
#include "tests/support/http_client.h"
#include "tests/e2e/stack.h"
#include "tests/support/test_database.h"

namespace flightdeck::test::chaos {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

constexpr auto kStaleAfter = 3s;  // FLIGHTDECK_BACKUP_STALE_AFTER below
constexpr auto kRestartAllowance = 5s;

bool Exists(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0;
}

class BackupsKillTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/fd-chaos-backups-XXXXXX";
    dir_ = mkdtemp(dir);
    // pg_dump waits a little first, so that a kill lands before it or during it at random.
    std::ofstream(dir_ + "/pg_dump") << "#!/bin/sh\nsleep 1\nexec /usr/lib/postgresql/15/bin/pg_dump \"$@\"\n";
    chmod((dir_ + "/pg_dump").c_str(), 0755);
    stack_ = std::make_unique<Stack>(std::map<std::string, std::string>{
        {"FLIGHTDECK_RATE_LIMIT_PER_MIN", "0"},  // the load is the point here, not the limits
        {"FLIGHTDECK_JOBS_POLL_INTERVAL", "100ms"},
        {"FLIGHTDECK_PG_DUMP", dir_ + "/pg_dump"},
        {"FLIGHTDECK_BACKUP_ROOT", dir_},
        {"FLIGHTDECK_BACKUP_STALE_AFTER", "3s"}});
    ASSERT_TRUE(stack_->WaitReady());
  }
  void TearDown() override {
    stack_.reset();
    RunCommand({"/bin/rm", "-rf", dir_});
  }
  HttpResponse Call(const std::string& method, const std::string& path, const json& body = nullptr) {
    return HttpRequest(method, stack_->gateway_url() + path, body.is_null() ? "" : body.dump(),
                       {{"Authorization", "Bearer " + stack_->admin_token()}}, 5000);
  }
  json Backup(const std::string& id) { return json::parse(Call("GET", "/v1/backups/" + id).body, nullptr, false); }

  std::string dir_;
  std::unique_ptr<Stack> stack_;
};

TEST_F(BackupsKillTest, AKilledRunFailsCleanlyAndTheScheduleGoesOn) {
  Figures figures("kill -9 of backups mid-run");
  TestDatabase source;
  {
    pqxx::connection c(source.url());
    pqxx::work w(c);
    w.exec("CREATE TABLE rows (id bigserial PRIMARY KEY, payload text)");
    w.exec("INSERT INTO rows (payload) SELECT repeat(md5(i::text), 20) FROM generate_series(1, 200000) i");
    w.commit();
  }
  ASSERT_EQ(Call("POST", "/v1/backup-targets",
                 {{"name", "chaos"}, {"database_url", source.url()}, {"schedule", "* * * * *"},
                  {"storage", {{"kind", "LOCAL"}, {"path", dir_ + "/chaos"}}}}).status, 200);
  for (int round = 0; round < 2 * Scale(); ++round) {
    figures.Iteration();
    HttpResponse started = Call("POST", "/v1/backups", {{"target", "chaos"}});
    if (started.status == 409) {  // the scheduled run holds the target: wait for it
      std::this_thread::sleep_for(1s);
      continue;
    }
    ASSERT_EQ(started.status, 200) << started.body;
    const std::string id = json::parse(started.body).value("id", "");
    for (int i = 0; i < 100 && Backup(id).value("state", "") != "RUNNING"; ++i) std::this_thread::sleep_for(50ms);
    std::this_thread::sleep_for(UniformMs(0, 2500));
    const std::string state_at_kill = Backup(id).value("state", "");
    stack_->Kill("backups");
    figures.Fault();
    const auto killed = SteadyClock::now();
    std::this_thread::sleep_for(UniformMs(0, 1500));
    stack_->Start("backups");
    // The gateway answers 503 until its channel reconnects (up to a second of backoff): the next
    // call must find the service back, whatever this round checks.
    ASSERT_TRUE(stack_->WaitReady());
    if (state_at_kill != "RUNNING") continue;  // it ended before the kill: nothing to check
    json b;
    while (SteadyClock::now() < killed + kStaleAfter + kRestartAllowance) {
      b = Backup(id);
      if (b.value("state", "") == "FAILED" || b.value("state", "") == "SUCCEEDED") break;
      std::this_thread::sleep_for(100ms);
    }
    figures.Recovery(std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - killed));
    if (b.value("state", "") != "FAILED") {
      figures.Violation("run " + id + " killed while RUNNING is " + b.value("state", "?") + " " +
                        std::to_string(std::chrono::duration_cast<std::chrono::seconds>(kStaleAfter + kRestartAllowance).count()) +
                        " s later: " + b.dump());
    } else if (b.value("failure_reason", "").find("interrupted") == std::string::npos) {
      figures.Violation("run " + id + " failed without saying it was interrupted: " + b.value("failure_reason", ""));
    }
    if (Exists(dir_ + "/chaos/" + id + ".fdbk.partial")) figures.Violation("the partial file of " + id + " is still there");
    if (Exists(dir_ + "/chaos/" + id + ".fdbk")) figures.Violation("a file of the killed run " + id + " looks complete");
  }
  // A new run succeeds.
  for (int i = 0; i < 100; ++i) {
    HttpResponse again = Call("POST", "/v1/backups", {{"target", "chaos"}});
    if (again.status == 409) {
      std::this_thread::sleep_for(500ms);
      continue;
    }
    ASSERT_EQ(again.status, 200) << again.body;
    const std::string id = json::parse(again.body).value("id", "");
    json b;
    for (int j = 0; j < 300; ++j) {
      b = Backup(id);
      if (b.value("state", "") == "SUCCEEDED" || b.value("state", "") == "FAILED") break;
      std::this_thread::sleep_for(100ms);
    }
    if (b.value("state", "") != "SUCCEEDED") figures.Violation("the run after the kills is " + b.dump());
    break;
  }
  // The schedule goes on: a SCHEDULED run created after the kills, within the next due minute.
  char after_kills[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(after_kills, sizeof after_kills, "%Y-%m-%dT%H:%M:%S", std::gmtime(&now));
  bool scheduled = false;
  const auto limit = SteadyClock::now() + 75s;
  while (!scheduled && SteadyClock::now() < limit) {
    json list = json::parse(Call("GET", "/v1/backups?target=chaos&page_size=50").body, nullptr, false);
    for (const json& b : list.value("backups", json::array())) {
      if (b.value("trigger", "") == "SCHEDULED" && b.value("created_at", "").substr(0, 19) >= after_kills) {
        scheduled = true;
      }
    }
    if (!scheduled) std::this_thread::sleep_for(1s);
  }
  if (!scheduled) figures.Violation("no scheduled run within 75 s after the kills");
  EXPECT_EQ(figures.violations(), 0) << stack_->Logs();
}

}  // namespace
}  // namespace flightdeck::test::chaos
