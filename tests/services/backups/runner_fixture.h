#pragma once

// The backups runner against the real PostgreSQL on a fake clock: two replicas sharing the
// jobs of one queue, a source database to back up, and a local storage directory.
#include <grpcpp/server_context.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <set>
#include "common/clock/clock.h"
#include "common/db/db.h"
#include "common/db/migrate.h"
#include "common/jobs/jobs.h"
#include "common/metrics/metrics.h"
#include "common/secrets/secrets.h"
#include "services/backups/pg_connection.h"
#include "services/backups/pg_dump_runner.h"
#include "services/backups/runner.h"
#include "services/backups/service.h"
#include "services/backups/store.h"
#include "tests/support/test_database.h"


namespace flightdeck::backups {

using namespace std::chrono_literals;

class RunnerTest : public ::testing::Test {
 protected:
  RunnerTest()
      // Near the real time: snapshot times come from the database server's clock.
      : clock_(Clock::TimePoint(std::chrono::floor<std::chrono::minutes>(std::chrono::system_clock::now()) + 30s)),
        pool_({meta_.url(), 4, 5000ms, 4, "test"}),
        migrated_(Migrate()),
        queue_(pool_, "backups", clock_),
        store_(pool_, queue_),
        replica_a_(store_, keys_, clock_, registry_, "host-a", "host-a:1"),
        replica_b_(store_, keys_, clock_, registry_, "host-b", "host-b:1"),
        service_(store_, keys_, clock_, "/tmp", [] {}) {
    char dir[] = "/tmp/fd-runner-test-XXXXXX";
    dir_ = mkdtemp(dir);
    MasterKey key;
    key.id = "k1";
    for (size_t i = 0; i < key.key.size(); ++i) key.key[i] = static_cast<uint8_t>(i * 7 + 1);
    keys_.Add(key);
    pqxx::connection c(source_.url());
    pqxx::work w(c);
    w.exec("CREATE TABLE items (id serial PRIMARY KEY, body text)");
    w.exec("INSERT INTO items (body) SELECT md5(i::text) FROM generate_series(1, 2000) i");
    w.commit();
  }
  ~RunnerTest() override { (void)!system(("rm -rf " + dir_).c_str()); }

  bool Migrate() {
    grpc::Status s = db::Migrate(pool_, db::EmbeddedMigrations("backups"));
    EXPECT_TRUE(s.ok()) << s.error_message();
    return s.ok();
  }

  // Runs the due jobs, alternating replicas the way two processes would share them.
  void RunDue() {
    bool a = true;
    for (int round = 0; round < 100; ++round) {
      std::vector<jobs::Job> due;
      ASSERT_TRUE(queue_.Claim(a ? "a" : "b", 1, 1h, &due).ok());
      if (due.empty()) return;
      Runner& r = a ? replica_a_ : replica_b_;
      const jobs::Job& j = due.front();
      nlohmann::json p = nlohmann::json::parse(j.payload);
      grpc::Status s;
      if (j.kind == kRunJob) s = r.RunBackup(p["backup_id"]);
      if (j.kind == kVerifyJob) s = r.Verify(p["backup_id"]);
      if (j.kind == kRetentionJob) s = r.ApplyRetention(p["target"]);
      if (j.kind == kScheduleJob) s = r.RunSchedule(p["target"], p["due_us"].get<long long>());
      EXPECT_TRUE(s.ok()) << j.kind << ": " << s.error_message();
      ASSERT_TRUE(queue_.Complete(j.id, a ? "a" : "b").ok());
      a = !a;
    }
  }

  // For failure messages: the job table.
  std::string Jobs() {
    pqxx::connection c(meta_.url());
    pqxx::work w(c);
    std::string out;
    for (const auto& row : w.exec("SELECT kind, state, due_at::text, coalesce(last_error, ''), payload::text FROM backups.jobs ORDER BY id")) {
      for (const auto& f : row) out += f.as<std::string>() + " | ";
      out += "\n";
    }
    return out;
  }

  std::vector<v1::Backup> Backups() {
    std::vector<v1::Backup> out;
    EXPECT_TRUE(store_.RecentBackups("shop", 100, &out).ok());
    return out;
  }

  test::TestDatabase meta_;
  test::TestDatabase source_;
  FakeClock clock_;
  metrics::Registry registry_;
  KeyRing keys_;
  db::Pool pool_;
  bool migrated_;
  jobs::Queue queue_;
  BackupStore store_;
  Runner replica_a_;
  Runner replica_b_;
  BackupServiceImpl service_;
  std::string dir_;
};

}  // namespace flightdeck::backups
