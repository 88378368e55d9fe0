#include <gtest/gtest.h>

#include "tests/common/jobs/jobs_fixture.h"

namespace flightdeck::jobs {
namespace {

using namespace std::chrono_literals;

constexpr auto kLease = std::chrono::milliseconds(30s);

TEST_F(JobsTest, JobDueLaterIsClaimedOnlyOnceItIsDue) {
  long long id = 0;
  const Clock::TimePoint due = clock_.Now() + 10min;
  ASSERT_TRUE(queue_.Enqueue("canary_tick", "", R"({"release":"r-1"})", due, {}, &id).ok());
  ASSERT_GT(id, 0);

  std::vector<Job> claimed;
  ASSERT_TRUE(queue_.Claim("worker-a", 10, kLease, &claimed).ok());
  EXPECT_TRUE(claimed.empty());
  clock_.Advance(10min - 1s);
  ASSERT_TRUE(queue_.Claim("worker-a", 10, kLease, &claimed).ok());
  EXPECT_TRUE(claimed.empty());

  clock_.Advance(1s);
  ASSERT_TRUE(queue_.Claim("worker-a", 10, kLease, &claimed).ok());
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].id, id);
  EXPECT_EQ(claimed[0].kind, "canary_tick");
  EXPECT_EQ(claimed[0].payload, R"({"release": "r-1"})");  // jsonb's canonical text
  EXPECT_EQ(claimed[0].due_at, due);
  EXPECT_EQ(claimed[0].attempts, 1);
  EXPECT_EQ(StateOf(id), "running");
}

TEST_F(JobsTest, ClaimTakesDueJobsInDueOrderUpToTheLimit) {
  long long late = 0, early = 0, middle = 0;
  ASSERT_TRUE(queue_.Enqueue("k", "", "{}", clock_.Now() - 1s, {}, &late).ok());
  ASSERT_TRUE(queue_.Enqueue("k", "", "{}", clock_.Now() - 3s, {}, &early).ok());
  ASSERT_TRUE(queue_.Enqueue("k", "", "{}", clock_.Now() - 2s, {}, &middle).ok());
  std::vector<Job> claimed;
  ASSERT_TRUE(queue_.Claim("worker-a", 2, kLease, &claimed).ok());
  ASSERT_EQ(claimed.size(), 2u);
  EXPECT_EQ(claimed[0].id, early);
  EXPECT_EQ(claimed[1].id, middle);
}

// Pending jobs and expired leases are found by two scans; one claim takes both in due order.
TEST_F(JobsTest, ClaimTakesPendingJobsAndExpiredLeasesTogetherInDueOrder) {
  long long lapsed = 0, early = 0, late = 0, last_try = 0;
  RetryPolicy once;
  once.max_attempts = 1;
  ASSERT_TRUE(queue_.Enqueue("k", "", "{}", clock_.Now() - 10s, {}, &lapsed).ok());
  ASSERT_TRUE(queue_.Enqueue("k", "", "{}", clock_.Now() - 9s, once, &last_try).ok());
  std::vector<Job> claimed;
  ASSERT_TRUE(queue_.Claim("worker-a", 2, kLease, &claimed).ok());
  ASSERT_EQ(claimed.size(), 2u);
  clock_.Advance(kLease);  // worker-a presumed dead
  ASSERT_TRUE(queue_.Enqueue("k", "", "{}", clock_.Now() - 20s, {}, &early).ok());
  ASSERT_TRUE(queue_.Enqueue("k", "", "{}", clock_.Now() - 1s, {}, &late).ok());

  ASSERT_TRUE(queue_.Claim("worker-b", 2, kLease, &claimed).ok());
  ASSERT_EQ(claimed.size(), 2u);
  EXPECT_EQ(claimed[0].id, lapsed);  // due 10 s before worker-a's claim, 40 s before now
  EXPECT_EQ(claimed[0].attempts, 2);
  EXPECT_EQ(claimed[1].id, early);
  EXPECT_EQ(StateOf(last_try), "failed");  // its lease expired on its last allowed attempt
  EXPECT_EQ(StateOf(late), "pending");

  ASSERT_TRUE(queue_.Claim("worker-b", 2, kLease, &claimed).ok());
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].id, late);
}

TEST_F(JobsTest, LeaseKeepsOthersOffUntilItExpires) {
  long long id = 0;
  ASSERT_TRUE(queue_.Enqueue("backup", "", "{}", clock_.Now(), {}, &id).ok());
  std::vector<Job> a, b;
  ASSERT_TRUE(queue_.Claim("worker-a", 1, kLease, &a).ok());
  ASSERT_EQ(a.size(), 1u);

  ASSERT_TRUE(queue_.Claim("worker-b", 1, kLease, &b).ok());
  EXPECT_TRUE(b.empty());
  clock_.Advance(kLease - 1ms);
  ASSERT_TRUE(queue_.Claim("worker-b", 1, kLease, &b).ok());
  EXPECT_TRUE(b.empty());

  clock_.Advance(1ms);  // worker-a presumed dead
  ASSERT_TRUE(queue_.Claim("worker-b", 1, kLease, &b).ok());
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].id, id);
  EXPECT_EQ(b[0].attempts, 2);

  grpc::Status stale = queue_.Complete(id, "worker-a");
  EXPECT_EQ(stale.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(stale.error_message().find("worker-b"), std::string::npos) << stale.error_message();
  EXPECT_EQ(queue_.Fail(id, "worker-a", "late").error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(StateOf(id), "running");

  ASSERT_TRUE(queue_.Complete(id, "worker-b").ok());
  EXPECT_EQ(StateOf(id), "done");
  EXPECT_EQ(queue_.Complete(id, "worker-b").error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(queue_.Complete(id + 1000, "worker-b").error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(JobsTest, FailureRetriesWithBackoffThenGivesUp) {
  RetryPolicy policy;
  policy.max_attempts = 3;
  policy.initial_backoff = 1s;
  policy.max_backoff = 10s;
  long long id = 0;
  ASSERT_TRUE(queue_.Enqueue("verify_backup", "", "{}", clock_.Now(), policy, &id).ok());

  std::vector<Job> claimed;
  ASSERT_TRUE(queue_.Claim("w", 1, kLease, &claimed).ok());
  ASSERT_EQ(claimed.size(), 1u);
  const Clock::TimePoint failed_at = clock_.Now();
  ASSERT_TRUE(queue_.Fail(id, "w", "restore check: checksum mismatch").ok());
  std::string state;
  Job job = MustGet(id, &state);
  EXPECT_EQ(state, "pending");
  EXPECT_EQ(job.due_at, failed_at + 1s);
  EXPECT_EQ(job.attempts, 1);
  EXPECT_EQ(job.last_error, "restore check: checksum mismatch");

  ASSERT_TRUE(queue_.Claim("w", 1, kLease, &claimed).ok());
  EXPECT_TRUE(claimed.empty()) << "claimed before the backoff passed";
  clock_.Advance(1s);
  ASSERT_TRUE(queue_.Claim("w", 1, kLease, &claimed).ok());
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].attempts, 2);
  EXPECT_EQ(claimed[0].last_error, "restore check: checksum mismatch");
  ASSERT_TRUE(queue_.Fail(id, "w", "second").ok());
  EXPECT_EQ(MustGet(id, &state).due_at, clock_.Now() + 2s);

  clock_.Advance(2s);
  ASSERT_TRUE(queue_.Claim("w", 1, kLease, &claimed).ok());
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].attempts, 3);
  ASSERT_TRUE(queue_.Fail(id, "w", "final: storage unreachable").ok());
  job = MustGet(id, &state);
  EXPECT_EQ(state, "failed");
  EXPECT_EQ(job.last_error, "final: storage unreachable");

  clock_.Advance(24h);
  ASSERT_TRUE(queue_.Claim("w", 1, kLease, &claimed).ok());
  EXPECT_TRUE(claimed.empty());
}

TEST_F(JobsTest, ExpiredLeaseOnTheLastAttemptFailsTheJob) {
  RetryPolicy once;
  once.max_attempts = 1;
  long long id = 0;
  ASSERT_TRUE(queue_.Enqueue("escalate", "", "{}", clock_.Now(), once, &id).ok());
  std::vector<Job> claimed;
  ASSERT_TRUE(queue_.Claim("worker-a", 1, kLease, &claimed).ok());
  ASSERT_EQ(claimed.size(), 1u);
  clock_.Advance(kLease);
  ASSERT_TRUE(queue_.Claim("worker-b", 1, kLease, &claimed).ok());
  EXPECT_TRUE(claimed.empty());
  std::string state;
  Job job = MustGet(id, &state);
  EXPECT_EQ(state, "failed");
  EXPECT_NE(job.last_error.find("worker-a"), std::string::npos) << job.last_error;
}

TEST_F(JobsTest, SameKeyIsRefusedWhileUnfinished) {
  long long first = 0, again = 0;
  ASSERT_TRUE(queue_.Enqueue("escalate", "incident-7/ack", "{}", clock_.Now(), {}, &first).ok());
  grpc::Status duplicate =
      queue_.Enqueue("escalate", "incident-7/ack", "{}", clock_.Now(), {}, &again);
  EXPECT_EQ(duplicate.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(again, first);

  std::vector<Job> claimed;
  ASSERT_TRUE(queue_.Claim("w", 5, kLease, &claimed).ok());
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].key, "incident-7/ack");
  EXPECT_EQ(queue_.Enqueue("escalate", "incident-7/ack", "{}", clock_.Now()).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);

  ASSERT_TRUE(queue_.Complete(first, "w").ok());
  long long next = 0;
  ASSERT_TRUE(queue_.Enqueue("escalate", "incident-7/ack", "{}", clock_.Now(), {}, &next).ok());
  EXPECT_NE(next, first);

  // Without a key, nothing is deduplicated.
  EXPECT_TRUE(queue_.Enqueue("escalate", "", "{}", clock_.Now()).ok());
  EXPECT_TRUE(queue_.Enqueue("escalate", "", "{}", clock_.Now()).ok());
}

TEST_F(JobsTest, BadInputIsRejectedWithTheField) {
  EXPECT_EQ(queue_.Enqueue("", "", "{}", clock_.Now()).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  grpc::Status bad_json = queue_.Enqueue("k", "", "{not json", clock_.Now());
  EXPECT_EQ(bad_json.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(bad_json.error_message().find("payload"), std::string::npos);
  RetryPolicy none;
  none.max_attempts = 0;
  EXPECT_EQ(queue_.Enqueue("k", "", "{}", clock_.Now(), none).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(JobsTest, PruneDeletesFinishedJobsOnlyOnceTheirRetentionIsOver) {
  RetryPolicy once;
  once.max_attempts = 1;
  long long done = 0, failed = 0, pending = 0, running = 0;
  ASSERT_TRUE(queue_.Enqueue("k", "", "{}", clock_.Now(), once, &done).ok());
  ASSERT_TRUE(queue_.Enqueue("k", "", "{}", clock_.Now(), once, &failed).ok());
  std::vector<Job> claimed;
  ASSERT_TRUE(queue_.Claim("worker-a", 2, kLease, &claimed).ok());
  ASSERT_EQ(claimed.size(), 2u);
  ASSERT_TRUE(queue_.Complete(done, "worker-a").ok());
  ASSERT_TRUE(queue_.Fail(failed, "worker-a", "gave up").ok());
  ASSERT_TRUE(queue_.Enqueue("k", "", "{}", clock_.Now() + 100h, {}, &pending).ok());
  ASSERT_TRUE(queue_.Enqueue("k", "", "{}", clock_.Now(), {}, &running).ok());
  ASSERT_TRUE(queue_.Claim("worker-b", 1, 1000h, &claimed).ok());
  ASSERT_EQ(claimed.size(), 1u);

  int deleted = -1;
  clock_.Advance(2h);
  ASSERT_TRUE(queue_.Prune(0ms, 0ms, 100, &deleted).ok());  // zero keeps them for good
  EXPECT_EQ(deleted, 0);
  ASSERT_TRUE(queue_.Prune(1h, 3h, 100, &deleted).ok());
  EXPECT_EQ(deleted, 1);
  Job job;
  EXPECT_EQ(queue_.Get(done, &job).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(StateOf(failed), "failed");

  clock_.Advance(2h);
  ASSERT_TRUE(queue_.Prune(1h, 3h, 100, &deleted).ok());
  EXPECT_EQ(deleted, 1);
  EXPECT_EQ(queue_.Get(failed, &job).error_code(), grpc::StatusCode::NOT_FOUND);
  // Unfinished jobs stay, however old.
  clock_.Advance(1000h);
  ASSERT_TRUE(queue_.Prune(1h, 1h, 100, &deleted).ok());
  EXPECT_EQ(deleted, 0);
  EXPECT_EQ(StateOf(pending), "pending");
  EXPECT_EQ(StateOf(running), "running");
}

TEST_F(JobsTest, PruneDeletesAtMostItsLimit) {
  for (int i = 0; i < 3; ++i) {
    long long id = 0;
    ASSERT_TRUE(queue_.Enqueue("k", "", "{}", clock_.Now(), {}, &id).ok());
    std::vector<Job> claimed;
    ASSERT_TRUE(queue_.Claim("worker-a", 1, kLease, &claimed).ok());
    ASSERT_TRUE(queue_.Complete(id, "worker-a").ok());
  }
  clock_.Advance(25h);
  int deleted = 0;
  ASSERT_TRUE(queue_.Prune(24h, 24h, 2, &deleted).ok());
  EXPECT_EQ(deleted, 2);
  ASSERT_TRUE(queue_.Prune(24h, 24h, 2, &deleted).ok());
  EXPECT_EQ(deleted, 1);
}

}  // namespace
}  // namespace flightdeck::jobs
