// Integration: backups when the wall clock jumps forward and back. A restore requested after a
// jump back (or at the very instant its backup ran) runs once. A schedule: Each due time is
// backed up at most once (the unique index on (target, scheduled_for) and the schedule job's
// check of next_run_at); a jump forward over several due times runs one late backup, not one per
// missed time (RunSchedule counts the next due time from max(due, now - 1 min)).
#include "tests/services/backups/runner_fixture.h"

namespace flightdeck::backups {
namespace {

class ScheduleClockJumpTest : public RunnerTest {
 protected:
  void CreateHourlyTarget() {
    v1::BackupTarget target;
    target.set_name("shop");
    target.set_database_url(source_.url());
    target.set_schedule("0 * * * *");
    target.mutable_retention()->mutable_keep_last()->set_value(10);
    target.mutable_retention()->mutable_keep_days()->set_value(30);
    target.mutable_storage()->set_kind(v1::BackupStorage::LOCAL);
    target.mutable_storage()->set_path(dir_);
    v1::BackupTarget created;
    grpc::ServerContext context;
    grpc::Status s = service_.CreateBackupTarget(&context, &target, &created);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  Clock::TimePoint NextRunAt() {
    TargetRecord record;
    EXPECT_TRUE(store_.GetTarget("shop", &record).ok());
    EXPECT_TRUE(record.next_run_at.has_value());
    return record.next_run_at.value_or(Clock::TimePoint{});
  }

  // Scheduled runs so far, whatever their state; none of them may have failed.
  size_t ScheduledRuns() {
    size_t n = 0;
    for (const v1::Backup& b : Backups()) {
      if (b.trigger() != v1::Backup::SCHEDULED) continue;
      EXPECT_NE(b.state(), v1::Backup::FAILED) << b.failure_reason();
      ++n;
    }
    return n;
  }

  void RunDueTwice() {
    RunDue();
    RunDue();  // a second pass of both replicas finds nothing new to start
  }
};

TEST_F(ScheduleClockJumpTest, AJumpBackAcrossARunSlotDoesNotRunItAgain) {
  CreateHourlyTarget();
  const Clock::TimePoint slot = NextRunAt();
  clock_.Set(slot + 30s);
  RunDueTwice();
  ASSERT_EQ(ScheduledRuns(), 1u) << Jobs();
  EXPECT_EQ(NextRunAt(), slot + 1h);

  clock_.Set(slot - 30min);  // back across the slot that just ran
  RunDueTwice();
  clock_.Set(slot + 45s);  // and over it again
  RunDueTwice();
  EXPECT_EQ(ScheduledRuns(), 1u) << "the slot ran once\n" << Jobs();
  EXPECT_EQ(NextRunAt(), slot + 1h);

  // While the clock is back, an operator sets the schedule again: its next due time is the slot
  // that already ran. The slot's backup exists, so it is not taken twice.
  clock_.Set(slot - 10min);
  v1::UpdateBackupTargetRequest update;
  update.set_name("shop");
  update.mutable_schedule()->set_value("0 * * * *");
  v1::BackupTarget updated;
  grpc::ServerContext context;
  ASSERT_TRUE(service_.UpdateBackupTarget(&context, &update, &updated).ok());
  EXPECT_EQ(NextRunAt(), slot);
  clock_.Set(slot + 1min);
  RunDueTwice();
  EXPECT_EQ(ScheduledRuns(), 1u) << "one backup per due time, whatever the clock\n" << Jobs();
  EXPECT_EQ(NextRunAt(), slot + 1h);

  clock_.Set(slot + 1h + 30s);  // the next slot still runs, once
  RunDueTwice();
  EXPECT_EQ(ScheduledRuns(), 2u) << Jobs();
}

TEST_F(ScheduleClockJumpTest, AJumpForwardOverSeveralSlotsRunsOnceAndKeepsTheSchedule) {
  CreateHourlyTarget();
  const Clock::TimePoint slot = NextRunAt();
  clock_.Set(slot + 3h + 30min);  // slots slot, +1h, +2h and +3h all passed
  RunDueTwice();
  EXPECT_EQ(ScheduledRuns(), 1u) << "missed slots are not replayed one by one\n" << Jobs();
  EXPECT_EQ(NextRunAt(), slot + 4h) << "the schedule resumes at the next slot after now";

  clock_.Set(slot + 1h);  // back over the missed slots: none of them runs now
  RunDueTwice();
  EXPECT_EQ(ScheduledRuns(), 1u) << Jobs();

  clock_.Set(slot + 4h + 30s);
  RunDueTwice();
  EXPECT_EQ(ScheduledRuns(), 2u) << Jobs();
  EXPECT_EQ(NextRunAt(), slot + 5h);
}

TEST_F(ScheduleClockJumpTest, ARestoreRequestedAfterAJumpBackRunsOnce) {
  CreateHourlyTarget();
  grpc::ServerContext context;
  v1::CreateBackupRequest create;
  create.set_target("shop");
  v1::Backup b;
  ASSERT_TRUE(service_.CreateBackup(&context, &create, &b).ok());
  RunDue();
  ASSERT_TRUE(store_.GetBackup(b.id(), &b).ok());
  ASSERT_EQ(b.state(), v1::Backup::SUCCEEDED) << b.failure_reason();

  // Back an hour: the restore is requested "before" the backup's last heartbeat. It used to be
  // taken for a restore claimed earlier and failed as interrupted without running.
  clock_.Advance(-1h);
  const std::string database = "fd_restored_" + b.id().substr(0, 8);
  v1::RestoreBackupRequest restore;
  restore.set_id(b.id());
  restore.set_confirm(b.id());
  restore.set_target_database(database);
  ASSERT_TRUE(service_.RestoreBackup(&context, &restore, &b).ok());
  grpc::Status s = replica_a_.Restore(b.id(), database, false);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_TRUE(store_.GetBackup(b.id(), &b).ok());
  EXPECT_EQ(b.last_restore().state(), "SUCCEEDED") << b.last_restore().error();

  // The same job taken again by the other replica (its lease expired): no second restore.
  clock_.Advance(-1h);
  ASSERT_TRUE(replica_b_.Restore(b.id(), database, false).ok());
  ASSERT_TRUE(store_.GetBackup(b.id(), &b).ok());
  EXPECT_EQ(b.last_restore().state(), "SUCCEEDED") << b.last_restore().error();
  EXPECT_TRUE(DropDatabase(source_.url(), database).ok());
}

}  // namespace
}  // namespace flightdeck::backups
