// Fault scenario 8: kill -9 of backups mid-restore. A half-restored database is never reported
// as a success: the restore ends FAILED with a reason naming the interruption within
// FLIGHTDECK_BACKUP_STALE_AFTER (plus a restart allowance), or SUCCEEDED only when every row is
// there; the restore job, taken again when its lease expires, does not restore a second time.
// Then a second replica on another host (its own UTS namespace, so another hostname) notices a
// restore whose runner died and was not restarted: FAILED within two of its stale windows.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
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
#include "tests/support/wait.h"

namespace flightdeck::test::chaos {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

constexpr auto kStaleAfter = 3s;  // FLIGHTDECK_BACKUP_STALE_AFTER below
constexpr auto kJobLease = 4s;    // FLIGHTDECK_BACKUP_JOB_LEASE below
constexpr auto kRestartAllowance = 5s;
constexpr int kRows = 100000;

long long CountRows(const std::string& url) {
  try {
    pqxx::connection c(url);
    pqxx::work w(c);
    return w.exec1("SELECT count(*) FROM rows")[0].as<long long>();
  } catch (const std::exception&) {
    return -1;  // no table (the restore never got to it) or no database
  }
}

class BackupsRestoreKillTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/fd-chaos-restore-XXXXXX";
    dir_ = mkdtemp(dir);
    // pg_restore waits a little first, so that a kill lands before it or during it at random.
    std::ofstream(dir_ + "/pg_restore") << "#!/bin/sh\nsleep 0.5\nexec /usr/lib/postgresql/15/bin/pg_restore \"$@\"\n";
    chmod((dir_ + "/pg_restore").c_str(), 0755);
    stack_ = std::make_unique<Stack>(std::map<std::string, std::string>{
        {"FLIGHTDECK_RATE_LIMIT_PER_MIN", "0"},
        {"FLIGHTDECK_JOBS_POLL_INTERVAL", "100ms"},
        {"FLIGHTDECK_PG_RESTORE", dir_ + "/pg_restore"},
        {"FLIGHTDECK_BACKUP_ROOT", dir_},
        {"FLIGHTDECK_BACKUP_JOB_LEASE", "4s"},
        {"FLIGHTDECK_BACKUP_STALE_AFTER", "3s"}});
    ASSERT_TRUE(stack_->WaitReady());
  }
  void TearDown() override {
    replica_.reset();
    stack_.reset();
    RunCommand({"/bin/rm", "-rf", dir_});
  }
  HttpResponse Call(const std::string& method, const std::string& path, const json& body = nullptr) {
    return HttpRequest(method, stack_->gateway_url() + path, body.is_null() ? "" : body.dump(),
                       {{"Authorization", "Bearer " + stack_->admin_token()}}, 5000);
  }
  json Backup(const std::string& id) {
    json b = json::parse(Call("GET", "/v1/backups/" + id).body, nullptr, false);
    return b.is_object() ? b : json::object();
  }
  std::string RestoreState(const std::string& id) {
    json b = Backup(id);
    return b.is_object() ? b.value("last_restore", json::object()).value("state", "") : "";
  }
  // The backup as stored (the gateway reaches only the first replica, dead in the replica part).
  json StoredBackup(const std::string& id) {
    try {
      pqxx::connection c(stack_->database_url());
      pqxx::work w(c);
      pqxx::result r = w.exec_params("SELECT detail::text FROM backups.backups WHERE id = $1::uuid", id);
      if (!r.empty()) return json::parse(r[0][0].as<std::string>(), nullptr, false);
    } catch (const std::exception&) {
    }
    return json::object();
  }
  // The backup once its last restore has ended, or as it is at `limit`.
  json WaitRestoreEnded(const std::string& id, SteadyClock::time_point limit, bool stored = false) {
    return PollUntil([&] { return stored ? StoredBackup(id) : Backup(id); },
                     [](const json& b) {
                       const std::string state =
                           b.is_object() ? b.value("last_restore", json::object()).value("state", "") : "";
                       return state == "FAILED" || state == "SUCCEEDED";
                     },
                     std::chrono::duration_cast<std::chrono::milliseconds>(limit - SteadyClock::now()), 100ms);
  }
  // A restore that ended: SUCCEEDED only with every row; FAILED with a reason that says it was
  // interrupted when the kill caught it running.
  void CheckEnded(Figures& figures, const json& b, const std::string& database_url, bool killed_running) {
    const json r = b.value("last_restore", json::object());
    const std::string state = r.value("state", "");
    if (state == "SUCCEEDED") {
      if (long long rows = CountRows(database_url); rows != kRows) {
        figures.Violation("a restore reported SUCCEEDED has " + std::to_string(rows) + " rows of " + std::to_string(kRows));
      }
    } else if (state == "FAILED") {
      if (killed_running && r.value("error", "").find("interrupted") == std::string::npos) {
        figures.Violation("a killed restore failed without saying it was interrupted: " + r.value("error", ""));
      }
    } else {
      figures.Violation("a killed restore is still " + state + ": " + b.dump());
    }
  }

  std::string dir_;
  std::unique_ptr<Stack> stack_;
  std::unique_ptr<Process> replica_;
};

TEST_F(BackupsRestoreKillTest, AKilledRestoreIsNeverASuccessAndEndsFailed) {
  Figures figures("kill -9 of backups mid-restore");
  TestDatabase source;
  {
    pqxx::connection c(source.url());
    pqxx::work w(c);
    w.exec("CREATE TABLE rows (id bigserial PRIMARY KEY, payload text)");
    w.exec("INSERT INTO rows (payload) SELECT repeat(md5(i::text), 20) FROM generate_series(1, " +
           std::to_string(kRows) + ") i");
    w.commit();
  }
  const std::string server = source.url().substr(0, source.url().rfind('/') + 1);
  ASSERT_EQ(Call("POST", "/v1/backup-targets",
                 {{"name", "chaos"}, {"database_url", source.url()}, {"schedule", "0 3 1 1 *"},
                  {"storage", {{"kind", "LOCAL"}, {"path", dir_ + "/chaos"}}}}).status, 200);
  HttpResponse started = Call("POST", "/v1/backups", {{"target", "chaos"}});
  ASSERT_EQ(started.status, 200) << started.body;
  const std::string id = json::parse(started.body).value("id", "");
  json b = PollUntil(
      [&] {
        json got = Backup(id);
        return got.is_object() ? got : json::object();
      },
      [](const json& got) { return got.value("state", "") == "SUCCEEDED" || got.value("state", "") == "FAILED"; },
      60s, 100ms);
  ASSERT_EQ(b.value("state", ""), "SUCCEEDED") << b.dump() << stack_->Logs();

  std::vector<std::string> databases;
  auto restore = [&](const std::string& database) {
    databases.push_back(database);
    HttpResponse r = Call("POST", "/v1/backups/" + id + "/restore", {{"target_database", database}, {"confirm", id}});
    EXPECT_EQ(r.status, 200) << r.body;
    return r.status == 200;
  };
  for (int round = 0; round < 2 * Scale(); ++round) {
    figures.Iteration();
    const std::string database = "fd_chaos_restore_" + std::to_string(getpid()) + "_" + std::to_string(round);
    if (!restore(database)) break;
    std::this_thread::sleep_for(UniformMs(300, 2500));
    const bool running = RestoreState(id) == "RUNNING";
    stack_->Kill("backups");
    figures.Fault();
    const auto killed = SteadyClock::now();
    std::this_thread::sleep_for(UniformMs(0, 1500));
    stack_->Start("backups");
    b = WaitRestoreEnded(id, killed + kStaleAfter + kRestartAllowance);
    figures.Recovery(std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - killed));
    CheckEnded(figures, b, server + database, running);
    // The killed restore's job is taken again once its lease expires: it must not restore again
    // (over a database someone may be using by now) nor change the recorded outcome.
    const std::string outcome = b.value("last_restore", json::object()).dump();
    std::this_thread::sleep_for(kJobLease + 2s);
    if (const std::string later = Backup(id).value("last_restore", json::object()).dump(); later != outcome) {
      figures.Violation("the killed restore's outcome changed after its job's lease expired: " + outcome + " -> " + later);
    }
  }

  // Another replica on another host notices a restore whose runner died and stays dead.
  if (RunCommand({"/usr/bin/unshare", "-u", "/bin/true"}).exit_code != 0) {
    std::printf("chaos: unshare -u is not permitted here: the second-replica part is skipped\n");
  } else {
    figures.Iteration();
    const std::string database = "fd_chaos_restore_" + std::to_string(getpid()) + "_replica";
    ASSERT_TRUE(restore(database));
    WaitUntil([&] { return CountRows(server + database) >= 0; }, 5s);
    const bool running = RestoreState(id) == "RUNNING";
    stack_->Kill("backups");
    figures.Fault();
    const auto killed = SteadyClock::now();
    replica_ = stack_->Replica("backups", "backups-replica",
                               {"/usr/bin/unshare", "-u", "/bin/sh", "-c", "hostname fd-chaos-replica && exec \"$0\""});
    b = WaitRestoreEnded(id, killed + 2 * kStaleAfter + kRestartAllowance, /*stored=*/true);
    figures.Recovery(std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - killed));
    CheckEnded(figures, b, server + database, running);
    if (running && b.value("last_restore", json::object()).value("state", "") == "RUNNING") {
      std::printf("%s\n", replica_->LogTail().c_str());
    }
    stack_->Start("backups");
  }
  for (const std::string& database : databases) {
    try {
      pqxx::connection c(source.url());
      pqxx::nontransaction n(c);
      n.exec("DROP DATABASE IF EXISTS " + c.quote_name(database) + " WITH (FORCE)");
    } catch (const std::exception&) {
    }
  }
  EXPECT_EQ(figures.violations(), 0) << stack_->Logs();
}

}  // namespace
}  // namespace flightdeck::test::chaos
