// Integration: the backups service's jobs against the real PostgreSQL, on a fake clock: a
// schedule every minute shared by two replicas, verification, and retention.
#include <sys/stat.h>

#include <set>

#include "tests/services/backups/runner_fixture.h"

namespace flightdeck::backups {
namespace {

using namespace std::chrono_literals;

TEST_F(RunnerTest, EveryMinuteScheduleRunsOncePerDueTimeAndRetentionKeepsTheNewest) {
  v1::BackupTarget target;
  target.set_name("shop");
  target.set_database_url(source_.url());
  target.set_schedule("* * * * *");
  target.mutable_retention()->mutable_keep_last()->set_value(2);
  target.mutable_retention()->mutable_keep_days()->set_value(0);
  target.mutable_storage()->set_kind(v1::BackupStorage::LOCAL);
  target.mutable_storage()->set_path(dir_);
  v1::BackupTarget created;
  grpc::ServerContext context;
  grpc::Status s = service_.CreateBackupTarget(&context, &target, &created);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(created.status().has_next_run_at());

  for (int minute = 0; minute < 4; ++minute) {
    clock_.Advance(60s);
    RunDue();
    RunDue();  // a second pass of both replicas finds nothing new to start
  }
  std::vector<v1::Backup> backups = Backups();
  ASSERT_EQ(backups.size(), 4u) << "one run per due minute, whatever the replicas\n" << Jobs();
  std::set<long long> due_minutes;
  int deleted = 0;
  for (const v1::Backup& b : backups) {
    EXPECT_EQ(b.trigger(), v1::Backup::SCHEDULED);
    EXPECT_NE(b.state(), v1::Backup::FAILED) << b.failure_reason();
    deleted += b.state() == v1::Backup::DELETED;
    due_minutes.insert(b.created_at().seconds() / 60);
  }
  EXPECT_EQ(due_minutes.size(), 4u);
  // Newest two verified backups kept; the older ones deleted with the policy as the reason.
  EXPECT_EQ(deleted, 2) << [&] {
    std::string out;
    for (const auto& b : backups) {
      out += b.id() + " " + v1::Backup::State_Name(b.state()) + " verified=" +
             v1::BackupVerification::Result_Name(b.verification().result()) + " finished=" +
             std::to_string(b.finished_at().seconds()) + " snapshot=" +
             std::to_string(b.snapshot_time().seconds()) + " " + b.deletion_reason() + "\n";
    }
    return out + "now=" + std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                             clock_.Now().time_since_epoch()).count());
  }();
  EXPECT_EQ(backups[0].state(), v1::Backup::SUCCEEDED);
  EXPECT_EQ(backups[0].verification().result(), v1::BackupVerification::PASSED);
  EXPECT_EQ(backups[1].state(), v1::Backup::SUCCEEDED);
  EXPECT_EQ(backups[3].state(), v1::Backup::DELETED);
  EXPECT_NE(backups[3].deletion_reason().find("2 verified"), std::string::npos) << backups[3].deletion_reason();
  struct stat st {};
  EXPECT_NE(stat((dir_ + "/" + Runner::FileName(backups[3].id())).c_str(), &st), 0) << "its file is gone";
  EXPECT_EQ(stat((dir_ + "/" + Runner::FileName(backups[0].id())).c_str(), &st), 0);

  v1::GetBackupTargetRequest get;
  get.set_name("shop");
  v1::BackupTarget status;
  ASSERT_TRUE(service_.GetBackupTarget(&context, &get, &status).ok());
  EXPECT_EQ(status.status().last_success_id(), backups[0].id());
  EXPECT_TRUE(status.status().last_backup_verified());
  EXPECT_TRUE(status.status().rpo_met());
}

TEST_F(RunnerTest, ARunInterruptedByACrashIsFailedOnRestartAndItsPartialFileRemoved) {
  v1::BackupTarget target;
  target.set_name("shop");
  target.set_database_url(source_.url());
  target.mutable_storage()->set_kind(v1::BackupStorage::LOCAL);
  target.mutable_storage()->set_path(dir_);
  v1::BackupTarget created;
  grpc::ServerContext context;
  ASSERT_TRUE(service_.CreateBackupTarget(&context, &target, &created).ok());
  v1::CreateBackupRequest req;
  req.set_target("shop");
  v1::Backup b;
  ASSERT_TRUE(service_.CreateBackup(&context, &req, &b).ok());
  // Replica A (pid 1 on host-a) started the run and died: its partial file is on disk.
  ASSERT_TRUE(store_.MarkRunning(b.id(), "host-a:1", clock_.Now()).ok());
  std::string partial = dir_ + "/" + Runner::FileName(b.id()) + ".partial";
  { FILE* f = fopen(partial.c_str(), "w"); fputs("half a backup", f); fclose(f); }

  // The same host restarts with another pid.
  Runner restarted(store_, keys_, clock_, registry_, "host-a", "host-a:2");
  restarted.RecoverAbandoned(10min);
  v1::Backup after;
  ASSERT_TRUE(store_.GetBackup(b.id(), &after).ok());
  EXPECT_EQ(after.state(), v1::Backup::FAILED);
  EXPECT_NE(after.failure_reason().find("interrupted"), std::string::npos);
  struct stat st {};
  EXPECT_NE(stat(partial.c_str(), &st), 0) << "the partial file was removed";
  // Its queued run job finds it failed and does nothing.
  RunDue();
  ASSERT_TRUE(store_.GetBackup(b.id(), &after).ok());
  EXPECT_EQ(after.state(), v1::Backup::FAILED);
}

// A corrupted newest backup, its verification FAILED, and keep_last 0: retention must keep the
// older backup that verified, and let the corrupt one go, not the other way round.
TEST_F(RunnerTest, RetentionKeepsTheNewestVerifiedBackupWhenTheNewestOneFailedVerification) {
  v1::BackupTarget target;
  target.set_name("shop");
  target.set_database_url(source_.url());
  target.mutable_retention()->mutable_keep_last()->set_value(0);
  target.mutable_retention()->mutable_keep_days()->set_value(0);
  target.mutable_storage()->set_kind(v1::BackupStorage::LOCAL);
  target.mutable_storage()->set_path(dir_);
  v1::BackupTarget created;
  grpc::ServerContext context;
  ASSERT_TRUE(service_.CreateBackupTarget(&context, &target, &created).ok());

  auto back_up_now = [&] {
    v1::CreateBackupRequest req;
    req.set_target("shop");
    v1::Backup b;
    grpc::Status s = service_.CreateBackup(&context, &req, &b);
    EXPECT_TRUE(s.ok()) << s.error_message();
    RunDue();
    v1::Backup after;
    EXPECT_TRUE(store_.GetBackup(b.id(), &after).ok());
    EXPECT_EQ(after.state(), v1::Backup::SUCCEEDED) << after.failure_reason();
    return after;
  };
  auto verify = [&](const std::string& id) {
    grpc::Status s = replica_a_.Verify(id);
    EXPECT_TRUE(s.ok()) << s.error_message();
    clock_.Advance(1s);  // keep_days 0: everything finished before now is "older"
    RunDue();           // the retention the verification queued
    v1::Backup after;
    EXPECT_TRUE(store_.GetBackup(id, &after).ok());
    return after;
  };

  const v1::Backup good = back_up_now();
  clock_.Advance(60s);
  ASSERT_EQ(verify(good.id()).verification().result(), v1::BackupVerification::PASSED);

  clock_.Advance(60s);
  const v1::Backup corrupt = back_up_now();
  const std::string corrupt_file = dir_ + "/" + Runner::FileName(corrupt.id());
  {
    // One flipped byte in the middle of the stored file.
    FILE* f = fopen(corrupt_file.c_str(), "r+b");
    ASSERT_NE(f, nullptr);
    fseek(f, 0, SEEK_END);
    const long size = ftell(f);
    fseek(f, size / 2, SEEK_SET);
    const int c = fgetc(f);
    fseek(f, size / 2, SEEK_SET);
    fputc(c ^ 0x5a, f);
    fclose(f);
  }
  const v1::Backup judged = verify(corrupt.id());
  EXPECT_EQ(judged.verification().result(), v1::BackupVerification::FAILED);
  // The reader's reason, not pg_restore's (stopped mid-stream, it has nothing useful to say).
  ASSERT_EQ(judged.verification().differences_size(), 1) << judged.DebugString();
  EXPECT_NE(judged.verification().differences(0).find("failed authentication"), std::string::npos)
      << judged.DebugString();

  v1::Backup kept;
  ASSERT_TRUE(store_.GetBackup(good.id(), &kept).ok());
  EXPECT_EQ(kept.state(), v1::Backup::SUCCEEDED) << "deleted: " << kept.deletion_reason();
  struct stat st {};
  EXPECT_EQ(stat((dir_ + "/" + Runner::FileName(good.id())).c_str(), &st), 0) << "its file is still there";
  EXPECT_EQ(judged.state(), v1::Backup::DELETED);
  EXPECT_NE(judged.deletion_reason().find("verification failed"), std::string::npos) << judged.deletion_reason();
  EXPECT_NE(stat(corrupt_file.c_str(), &st), 0) << "the corrupt file is gone";
}

TEST_F(RunnerTest, ARestoreGoesToTheServerTheBackupWasTakenFromNotWhereTheTargetPointsNow) {
  v1::BackupTarget target;
  target.set_name("shop");
  target.set_database_url(source_.url());
  target.mutable_storage()->set_kind(v1::BackupStorage::LOCAL);
  target.mutable_storage()->set_path(dir_);
  v1::BackupTarget created;
  grpc::ServerContext context;
  ASSERT_TRUE(service_.CreateBackupTarget(&context, &target, &created).ok());
  v1::CreateBackupRequest create;
  create.set_target("shop");
  v1::Backup b;
  ASSERT_TRUE(service_.CreateBackup(&context, &create, &b).ok());
  RunDue();
  ASSERT_TRUE(store_.GetBackup(b.id(), &b).ok());
  ASSERT_EQ(b.state(), v1::Backup::SUCCEEDED) << b.failure_reason();
  EXPECT_EQ(b.server(), ServerOf(source_.url()));

  // The target now points at another server (nothing listens on port 1).
  TargetRecord moved;
  ASSERT_TRUE(store_.GetTarget("shop", &moved).ok());
  const std::string elsewhere = "postgres://fd:pw@127.0.0.1:1/shop";
  ASSERT_TRUE(secrets::Seal(keys_, elsewhere, TargetUrlBinding("shop"), &moved.sealed_url).ok());
  moved.target.set_database_url(elsewhere);
  ASSERT_TRUE(store_.UpdateTarget(moved, clock_.Now()).ok());

  const std::string database = "fd_restored_" + b.id().substr(0, 8);
  v1::RestoreBackupRequest restore;
  restore.set_id(b.id());
  restore.set_confirm(b.id());
  restore.set_target_database(database);
  grpc::Status s = service_.RestoreBackup(&context, &restore, &b);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(b.last_restore().server(), ServerOf(source_.url()));
  s = replica_a_.Restore(b.id(), database, false);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_TRUE(store_.GetBackup(b.id(), &b).ok());
  EXPECT_EQ(b.last_restore().state(), "SUCCEEDED") << b.last_restore().error();
  EXPECT_EQ(b.last_restore().server(), ServerOf(source_.url()));
  std::map<std::string, long long> counts;
  ASSERT_TRUE(CountRows(db::WithDatabase(source_.url(), database), &counts).ok());
  EXPECT_EQ(counts["public.items"], 2000);
  EXPECT_TRUE(DropDatabase(source_.url(), database).ok());
}

TEST_F(RunnerTest, ADatabaseUrlCopiedIntoAnotherTargetsRowDoesNotOpen) {
  // Whoever holds a dump (or write access to the table) copies one target's sealed URL into
  // another target's row, hoping to back the first database up to storage they read.
  grpc::ServerContext context;
  for (const char* name : {"shop", "decoy"}) {
    v1::BackupTarget target;
    target.set_name(name);
    target.set_database_url(std::string(name) == "shop" ? source_.url() : "postgres://fd:pw@127.0.0.1:1/decoy");
    target.mutable_storage()->set_kind(v1::BackupStorage::LOCAL);
    target.mutable_storage()->set_path(dir_);
    v1::BackupTarget created;
    ASSERT_TRUE(service_.CreateBackupTarget(&context, &target, &created).ok());
  }
  {
    pqxx::connection c(meta_.url());
    pqxx::work w(c);
    w.exec("UPDATE backups.targets SET database_url_sealed = "
           "(SELECT database_url_sealed FROM backups.targets WHERE name = 'shop') WHERE name = 'decoy'");
    w.commit();
  }
  v1::CreateBackupRequest create;
  create.set_target("decoy");
  v1::Backup b;
  ASSERT_TRUE(service_.CreateBackup(&context, &create, &b).ok());
  RunDue();
  ASSERT_TRUE(store_.GetBackup(b.id(), &b).ok());
  EXPECT_EQ(b.state(), v1::Backup::FAILED);
  EXPECT_NE(b.failure_reason().find("sealed for another place"), std::string::npos) << b.failure_reason();
}

}  // namespace
}  // namespace flightdeck::backups
