// Integration: the durable queue when the wall clock jumps forward and back (NTP step, a VM
// resumed, an operator's `date -s`). Due times and leases are absolute instants in the table, so
// a jump back must not run a job early or again, and a jump forward runs what became due once.
#include <gtest/gtest.h>

#include <map>

#include "tests/common/jobs/jobs_fixture.h"

namespace flightdeck::jobs {
namespace {

using namespace std::chrono_literals;

Worker::Options Replica(const std::string& owner) {
  Worker::Options options;
  options.owner = owner;
  options.threads = 1;
  return options;
}

// Two replicas sharing one queue and one (jumping) clock; each handler run is counted per job.
class ClockJumpTest : public JobsTest {
 protected:
  void SetUp() override {
    JobsTest::SetUp();
    for (Worker* w : {&a_, &b_}) {
      w->Handle("tick", [this](const Job& job) {
        ++runs_[job.id];
        return grpc::Status::OK;
      });
      w->Handle("flaky", [this](const Job& job) {
        // The first attempt fails, the later ones succeed.
        return ++runs_[job.id] == 1 ? grpc::Status(grpc::StatusCode::UNAVAILABLE, "first try")
                                    : grpc::Status::OK;
      });
    }
  }

  // Both replicas poll, a bounded number of rounds; returns how many handler runs happened.
  int RunDue() {
    int ran = 0;
    for (int round = 0; round < 10; ++round) {
      const int now = a_.RunOnce() + b_.RunOnce();
      if (now == 0) break;
      ran += now;
    }
    return ran;
  }

  Worker a_{queue_, Replica("replica-a")};
  Worker b_{queue_, Replica("replica-b")};
  std::map<long long, int> runs_;
};

TEST_F(ClockJumpTest, AJobRunsOnceWhateverTheClockJumpsAroundItsDueTime) {
  const Clock::TimePoint start = clock_.Now();
  long long id = 0;
  ASSERT_TRUE(queue_.Enqueue("tick", "", "{}", start + 10min, {}, &id).ok());

  clock_.Advance(-1h);  // back: the job is now 70 minutes away
  EXPECT_EQ(RunDue(), 0);
  clock_.Set(start + 9min);  // forward again, still short of the due time
  EXPECT_EQ(RunDue(), 0);
  EXPECT_EQ(StateOf(id), "pending");

  clock_.Set(start + 3h);  // forward far past the due time: runs, once
  EXPECT_EQ(RunDue(), 1);
  EXPECT_EQ(runs_[id], 1);
  EXPECT_EQ(StateOf(id), "done");

  clock_.Set(start - 1h);  // back before the due time: nothing runs again
  EXPECT_EQ(RunDue(), 0);
  clock_.Set(start + 10min);  // and forward onto the due time once more
  EXPECT_EQ(RunDue(), 0);
  EXPECT_EQ(runs_[id], 1) << "a finished job never runs again, whatever the clock says";
  std::string state;
  EXPECT_EQ(MustGet(id, &state).attempts, 1);
}

TEST_F(ClockJumpTest, ARetryWaitsForItsBackoffAcrossJumpsAndRunsOnce) {
  RetryPolicy policy;
  policy.max_attempts = 3;
  policy.initial_backoff = 5min;
  const Clock::TimePoint start = clock_.Now();
  long long id = 0;
  ASSERT_TRUE(queue_.Enqueue("flaky", "", "{}", start, policy, &id).ok());

  EXPECT_EQ(RunDue(), 1);  // the first attempt fails: retried at start + 5 min
  std::string state;
  Job job = MustGet(id, &state);
  ASSERT_EQ(state, "pending");
  EXPECT_EQ(job.due_at, start + 5min) << "backoff counts from the failure";

  clock_.Advance(-1h);  // back: the backoff is not restarted or shortened
  EXPECT_EQ(RunDue(), 0);
  EXPECT_EQ(MustGet(id, &state).due_at, start + 5min);
  clock_.Set(start + 4min);
  EXPECT_EQ(RunDue(), 0);

  clock_.Set(start + 2h);  // forward past the retry: the second attempt runs once and succeeds
  EXPECT_EQ(RunDue(), 1);
  EXPECT_EQ(runs_[id], 2);
  EXPECT_EQ(StateOf(id), "done");

  clock_.Set(start);  // back to the first due time: nothing runs again
  EXPECT_EQ(RunDue(), 0);
  clock_.Set(start + 5min);
  EXPECT_EQ(RunDue(), 0);
  EXPECT_EQ(runs_[id], 2);
  EXPECT_EQ(MustGet(id, &state).attempts, 2);
}

TEST_F(ClockJumpTest, AJumpBackNeitherFreesARunningJobNorLetsAnotherReplicaRunIt) {
  // A jump back while a job runs lengthens its lease as seen by the other replicas (they wait
  // longer for a dead holder), but never frees it: the holder completes it and no one else runs it.
  long long id = 0;
  ASSERT_TRUE(queue_.Enqueue("tick", "", "{}", clock_.Now(), {}, &id).ok());
  std::vector<Job> held;
  ASSERT_TRUE(queue_.Claim("replica-a", 1, 30s, &held).ok());
  ASSERT_EQ(held.size(), 1u);
  clock_.Advance(-1h);
  EXPECT_EQ(RunDue(), 0) << "the other replica does not take a leased job";
  clock_.Advance(1h + 10s);  // back where it was, plus less than the lease
  EXPECT_EQ(RunDue(), 0);
  ASSERT_TRUE(queue_.Complete(id, "replica-a").ok());
  clock_.Advance(1h);
  EXPECT_EQ(RunDue(), 0);
  EXPECT_EQ(runs_[id], 0) << "only the holder ran it";
  EXPECT_EQ(StateOf(id), "done");
}

TEST_F(ClockJumpTest, AJumpForwardPastALeaseHandsTheJobToOneReplicaAndTheOldHolderCannotFinishIt) {
  // The known limit of wall-clock leases: a forward jump longer than the lease looks like a dead
  // holder, so one other replica takes the job (handlers are idempotent for this reason). The
  // queue still lets exactly one holder finish it: the old one gets FAILED_PRECONDITION.
  long long id = 0;
  ASSERT_TRUE(queue_.Enqueue("tick", "", "{}", clock_.Now(), {}, &id).ok());
  std::vector<Job> held;
  ASSERT_TRUE(queue_.Claim("old-holder", 1, 30s, &held).ok());
  ASSERT_EQ(held.size(), 1u);
  clock_.Advance(1h);
  EXPECT_EQ(RunDue(), 1);
  EXPECT_EQ(runs_[id], 1);
  EXPECT_EQ(queue_.Complete(id, "old-holder").error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(queue_.Fail(id, "old-holder", "late").error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(StateOf(id), "done");
  clock_.Advance(-2h);
  EXPECT_EQ(RunDue(), 0);
  clock_.Advance(4h);
  EXPECT_EQ(RunDue(), 0);
  EXPECT_EQ(runs_[id], 1);
}

}  // namespace
}  // namespace flightdeck::jobs
