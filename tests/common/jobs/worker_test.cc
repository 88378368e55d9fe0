#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <atomic>
#include <condition_variable>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "tests/common/jobs/jobs_fixture.h"

namespace flightdeck::jobs {
namespace {

using namespace std::chrono_literals;

Worker::Options WorkerOptions(const std::string& owner, int threads = 1) {
  Worker::Options options;
  options.owner = owner;
  options.threads = threads;
  options.poll_interval = 50ms;
  return options;
}

TEST_F(JobsTest, WorkerRunsHandlersAndRecordsFailures) {
  RetryPolicy once;
  once.max_attempts = 1;
  long long ok = 0, refused = 0, thrown = 0, unknown = 0, later = 0;
  ASSERT_TRUE(queue_.Enqueue("promote", "", R"({"step":2})", clock_.Now(), once, &ok).ok());
  ASSERT_TRUE(queue_.Enqueue("rollback", "", "{}", clock_.Now(), once, &refused).ok());
  ASSERT_TRUE(queue_.Enqueue("analyse", "", "{}", clock_.Now(), once, &thrown).ok());
  ASSERT_TRUE(queue_.Enqueue("mystery", "", "{}", clock_.Now(), once, &unknown).ok());
  ASSERT_TRUE(queue_.Enqueue("promote", "", "{}", clock_.Now() + 1h, once, &later).ok());

  Worker worker(queue_, WorkerOptions("worker-a"));
  std::vector<std::string> promoted;
  worker.Handle("promote", [&](const Job& job) {
    promoted.push_back(job.payload);
    return grpc::Status::OK;
  });
  worker.Handle("rollback", [](const Job&) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "driver unreachable");
  });
  worker.Handle("analyse", [](const Job&) -> grpc::Status {
    throw std::runtime_error("prometheus returned garbage");
  });

  EXPECT_EQ(worker.RunOnce(), 4);
  EXPECT_EQ(promoted, std::vector<std::string>{R"({"step": 2})"});
  std::string state;
  MustGet(ok, &state);
  EXPECT_EQ(state, "done");
  Job job = MustGet(refused, &state);
  EXPECT_EQ(state, "failed");
  EXPECT_EQ(job.last_error, "UNAVAILABLE: driver unreachable");
  job = MustGet(thrown, &state);
  EXPECT_EQ(state, "failed");
  EXPECT_EQ(job.last_error, "handler threw: prometheus returned garbage");
  job = MustGet(unknown, &state);
  EXPECT_EQ(state, "failed");
  EXPECT_EQ(job.last_error, "no handler for kind mystery");
  EXPECT_EQ(StateOf(later), "pending");
  EXPECT_EQ(worker.RunOnce(), 0);
}

TEST_F(JobsTest, FailingHandlerIsRetriedAfterBackoff) {
  RetryPolicy policy;
  policy.max_attempts = 2;
  policy.initial_backoff = 5s;
  long long id = 0;
  ASSERT_TRUE(queue_.Enqueue("flaky", "", "{}", clock_.Now(), policy, &id).ok());
  Worker worker(queue_, WorkerOptions("worker-a"));
  int calls = 0;
  worker.Handle("flaky", [&](const Job& job) {
    ++calls;
    return job.attempts == 1 ? grpc::Status(grpc::StatusCode::UNAVAILABLE, "try later")
                             : grpc::Status::OK;
  });
  EXPECT_EQ(worker.RunOnce(), 1);
  EXPECT_EQ(StateOf(id), "pending");
  EXPECT_EQ(worker.RunOnce(), 0);
  clock_.Advance(5s);
  EXPECT_EQ(worker.RunOnce(), 1);
  EXPECT_EQ(StateOf(id), "done");
  EXPECT_EQ(calls, 2);
}

// A started worker whose pollers only a nudge wakes in time, counting the "tick" jobs it runs;
// returned once every poller has found the queue empty and gone to sleep.
std::unique_ptr<Worker> StartSleepyWorker(Queue& queue, int threads, std::atomic<int>& runs) {
  Worker::Options options = WorkerOptions("worker-a", threads);
  options.poll_interval = 60s;
  auto worker = std::make_unique<Worker>(queue, options);
  worker->Handle("tick", [&runs](const Job&) {
    runs.fetch_add(1);
    return grpc::Status::OK;
  });
  worker->Start();
  std::this_thread::sleep_for(100ms);
  return worker;
}

TEST_F(JobsTest, StartedWorkerPicksUpANudgedJob) {
  std::atomic<int> runs{0};
  std::unique_ptr<Worker> started = StartSleepyWorker(queue_, 2, runs);
  Worker& worker = *started;
  long long id = 0;
  ASSERT_TRUE(queue_.Enqueue("tick", "", "{}", clock_.Now(), {}, &id).ok());
  worker.Nudge();
  EXPECT_TRUE(WaitFor([&] { return runs.load() == 1; }, 5s));
  EXPECT_TRUE(WaitFor([&] { return StateOf(id) == "done"; }, 5s));
  const auto stop_started = std::chrono::steady_clock::now();
  worker.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - stop_started, 5s);  // Stop does not wait a poll
}

// A nudge wakes one poller, not all of them; it goes on claiming while it finds work, so every
// job enqueued before the nudges still runs at once, whether each job had its own nudge or two
// jobs shared one.
TEST_F(JobsTest, NudgesWakeOnePollerEachAndEveryNudgedJobRunsPromptly) {
  std::atomic<int> runs{0};
  std::unique_ptr<Worker> started = StartSleepyWorker(queue_, 3, runs);
  Worker& worker = *started;
  for (int i = 0; i < 3; ++i) {
    long long id = 0;
    ASSERT_TRUE(queue_.Enqueue("tick", "", "{}", clock_.Now(), {}, &id).ok());
    worker.Nudge();
  }
  EXPECT_TRUE(WaitFor([&] { return runs.load() == 3; }, 5s));
  for (int i = 0; i < 2; ++i) {  // two jobs, one nudge
    long long id = 0;
    ASSERT_TRUE(queue_.Enqueue("tick", "", "{}", clock_.Now(), {}, &id).ok());
  }
  worker.Nudge();
  EXPECT_TRUE(WaitFor([&] { return runs.load() == 5; }, 5s));
  worker.Stop();
}

TEST_F(JobsTest, TwoWorkersRunEveryJobExactlyOnce) {
  constexpr int kJobs = 200;
  std::vector<long long> ids;
  for (int i = 0; i < kJobs; ++i) {
    long long id = 0;
    ASSERT_TRUE(queue_.Enqueue("sweep", "", "{}", clock_.Now() - std::chrono::seconds(i), {}, &id)
                    .ok());
    ids.push_back(id);
  }

  std::mutex mu;
  std::condition_variable b_ran;
  std::map<long long, int> runs;
  std::map<std::string, int> by_owner;
  auto handler_for = [&](const std::string& owner) {
    return [&, owner](const Job& job) {
      std::unique_lock lock(mu);
      ++runs[job.id];
      ++by_owner[owner];
      // Replica a, started first, holds its jobs until b has run one (or 10 s passed, well
      // inside the lease): under the sanitizers a's pollers once took all 200 before b's first
      // claim, and the test is about sharing the queue, not about which replica is faster.
      if (owner == "replica-a") {
        b_ran.wait_for(lock, 10s, [&] { return by_owner["replica-b"] > 0; });
      } else {
        b_ran.notify_all();
      }
      return grpc::Status::OK;
    };
  };

  // Two replicas: each its own pool and queue, as two processes would have.
  db::Pool pool_b(Options(db_.url()));
  Queue queue_b(pool_b, "releases", clock_);
  Worker a(queue_, WorkerOptions("replica-a", 3));
  Worker b(queue_b, WorkerOptions("replica-b", 3));
  a.Handle("sweep", handler_for("replica-a"));
  b.Handle("sweep", handler_for("replica-b"));
  a.Start();
  b.Start();
  auto total = [&] {
    std::lock_guard lock(mu);
    int sum = 0;
    for (const auto& [id, n] : runs) sum += n;
    return sum;
  };
  EXPECT_TRUE(WaitFor([&] { return total() >= kJobs; }, 60s)) << total();
  a.Stop();
  b.Stop();

  EXPECT_EQ(total(), kJobs);
  EXPECT_EQ(runs.size(), static_cast<size_t>(kJobs));
  for (const auto& [id, n] : runs) EXPECT_EQ(n, 1) << "job " << id;
  for (long long id : ids) EXPECT_EQ(StateOf(id), "done") << "job " << id;
  EXPECT_GT(by_owner["replica-a"], 0);
  EXPECT_GT(by_owner["replica-b"], 0);
}

TEST_F(JobsTest, AHandlerRunningLongerThanTheLeaseKeepsItsJob) {
  long long id = 0;
  ASSERT_TRUE(queue_.Enqueue("deploy", "", "{}", clock_.Now(), {}, &id).ok());
  Worker::Options options = WorkerOptions("replica-a");
  options.lease = 1500ms;  // beats every 500 ms of real time; expiry is on the test's clock
  Worker a(queue_, options);
  std::atomic<bool> started{false};
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> runs{0};
  a.Handle("deploy", [&](const Job&) {
    runs.fetch_add(1);
    started = true;
    // Until the test lets it go (bounded, so that a failing test cannot hang).
    released.wait_for(30s);
    return grpc::Status::OK;
  });
  a.Start();
  ASSERT_TRUE(WaitFor([&] { return started.load(); }, 5s));

  auto lease_end = [&] {
    pqxx::connection c(db_.url());
    pqxx::work w(c);
    return w.exec_params("SELECT (extract(epoch FROM lease_expires_at) * 1000000)::bigint FROM "
                         "releases.jobs WHERE id = $1", id)[0][0].as<long long>();
  };
  const long long first_end = lease_end();
  clock_.Advance(1s);
  EXPECT_TRUE(WaitFor([&] { return lease_end() > first_end; }, 10s)) << "the lease was not extended";
  clock_.Advance(1s);  // past the first lease's end: another replica must still find nothing
  std::vector<Job> taken;
  ASSERT_TRUE(queue_.Claim("replica-b", 10, 1500ms, &taken).ok());
  EXPECT_TRUE(taken.empty()) << "replica-b took job " << taken.front().id << " while it ran";

  release.set_value();
  EXPECT_TRUE(WaitFor([&] { return StateOf(id) == "done"; }, 5s)) << StateOf(id);
  a.Stop();
  EXPECT_EQ(runs.load(), 1);
  std::string state;
  EXPECT_EQ(MustGet(id, &state).attempts, 1);
}

TEST_F(JobsTest, OnlyTheLeaseHolderExtendsALease) {
  long long id = 0;
  ASSERT_TRUE(queue_.Enqueue("deploy", "", "{}", clock_.Now(), {}, &id).ok());
  std::vector<Job> taken;
  ASSERT_TRUE(queue_.Claim("replica-a", 1, 10s, &taken).ok());
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_TRUE(queue_.Extend(id, "replica-a", 10s).ok());
  grpc::Status other = queue_.Extend(id, "replica-b", 10s);
  EXPECT_EQ(other.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(other.error_message().find("replica-a"), std::string::npos) << other.error_message();
  ASSERT_TRUE(queue_.Complete(id, "replica-a").ok());
  EXPECT_EQ(queue_.Extend(id, "replica-a", 10s).error_code(), grpc::StatusCode::FAILED_PRECONDITION)
      << "a finished job has no lease to extend";
}

TEST_F(JobsTest, AStartedWorkerPrunesFinishedJobsPastTheirRetention) {
  long long old_done = 0, pending = 0;
  ASSERT_TRUE(queue_.Enqueue("k", "", "{}", clock_.Now(), {}, &old_done).ok());
  std::vector<Job> claimed;
  ASSERT_TRUE(queue_.Claim("earlier", 1, 30s, &claimed).ok());
  ASSERT_TRUE(queue_.Complete(old_done, "earlier").ok());
  ASSERT_TRUE(queue_.Enqueue("k", "", "{}", clock_.Now() + 100h, {}, &pending).ok());
  clock_.Advance(25h);

  Worker::Options options = WorkerOptions("worker-a");
  // A lease of an hour (as for backups) would put the lease keeper's beat 20 minutes apart:
  // it beats at least every prune_interval, and prunes at its first beat.
  options.lease = 1h;
  options.prune_interval = 100ms;
  Worker worker(queue_, options);
  worker.Start();
  Job job;
  EXPECT_TRUE(WaitFor([&] { return queue_.Get(old_done, &job).error_code() == grpc::StatusCode::NOT_FOUND; },
                      5s));
  worker.Stop();
  EXPECT_EQ(StateOf(pending), "pending");
}

}  // namespace
}  // namespace flightdeck::jobs
