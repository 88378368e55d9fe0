// The scheduler against real endpoints: a hanging target never delays a healthy one's probes.
#include <gtest/gtest.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "services/health/probe/scheduler.h"
#include "tests/services/health/probe_support/http_test_server.h"

namespace flightdeck::health {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

struct Result {
  std::string name;
  Clock::TimePoint due;
  Clock::TimePoint started;
  ProbeOutcome outcome;
};

// Collects what the scheduler reports and lets a test wait for a condition on it.
class Recorder {
 public:
  Scheduler::ResultSink Sink() {
    return [this](const std::string& name, Clock::TimePoint due, Clock::TimePoint started,
                  const ProbeOutcome& outcome) {
      std::lock_guard<std::mutex> lock(mu_);
      results_.push_back({name, due, started, outcome});
      cv_.notify_all();
    };
  }
  template <typename Pred>
  bool WaitFor(std::chrono::milliseconds deadline, Pred pred) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, deadline, [&] { return pred(results_); });
  }
  std::vector<Result> Of(const std::string& name) {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<Result> out;
    for (const auto& r : results_) {
      if (r.name == name) out.push_back(r);
    }
    return out;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Result> results_;
};

size_t CountOf(const std::vector<Result>& results, const std::string& name) {
  size_t n = 0;
  for (const auto& r : results) n += r.name == name;
  return n;
}

ScheduledTarget HttpTarget(const std::string& name, const std::string& url,
                           milliseconds period, milliseconds timeout) {
  ScheduledTarget t;
  t.name = name;
  t.spec.kind = ProbeKind::kHttp;
  t.spec.url = url;
  t.spec.timeout = timeout;
  t.period = period;
  t.not_before = std::chrono::system_clock::now();
  return t;
}

TEST(ProbeSchedulerTest, AHangingTargetTimesOutWithoutDelayingAHealthyOne) {
  test::HttpTestServer server;
  Prober prober;
  prober.Start();
  Recorder recorder;
  Scheduler scheduler(prober, recorder.Sink());
  scheduler.Upsert(HttpTarget("hanging", server.Url("/hang"), seconds(5), milliseconds(1000)));
  scheduler.Upsert(HttpTarget("healthy", server.Url("/ok"), milliseconds(200), milliseconds(1000)));
  scheduler.Start();

  ASSERT_TRUE(recorder.WaitFor(seconds(15), [](const std::vector<Result>& r) {
    return CountOf(r, "hanging") >= 1 && CountOf(r, "healthy") >= 20;
  })) << "the scheduler did not deliver a hanging and 20 healthy results in 15 s";
  scheduler.Stop();
  prober.Stop();

  Result hang = recorder.Of("hanging").front();
  EXPECT_FALSE(hang.outcome.ok);
  EXPECT_EQ(hang.outcome.error, "timeout after 1000 ms");
  EXPECT_GE(hang.outcome.latency_ms, 990);
  EXPECT_LT(hang.outcome.latency_ms, 2500);

  std::vector<Result> healthy = recorder.Of("healthy");
  int during_hang = 0;
  auto hang_end = hang.started + milliseconds(static_cast<long long>(hang.outcome.latency_ms));
  for (size_t i = 0; i < healthy.size(); ++i) {
    EXPECT_TRUE(healthy[i].outcome.ok) << healthy[i].outcome.error;
    if (i > 0) {
      EXPECT_EQ(healthy[i].due - healthy[i - 1].due, milliseconds(200));
    }
    // Generous: a loaded 2-core machine, but nowhere near the hanging probe's second.
    EXPECT_LT(healthy[i].started - healthy[i].due, milliseconds(150));
    if (healthy[i].started > hang.started && healthy[i].started < hang_end) ++during_hang;
  }
  EXPECT_GE(during_hang, 4) << "healthy probes started while the hanging one was in flight";

  LatenessSummary lateness = scheduler.Lateness();
  EXPECT_GE(lateness.probes, 21);
  EXPECT_LT(lateness.p99_ms, 150);
}

TEST(ProbeSchedulerTest, EveryTargetIsProbedOncePerPeriodAndRemovedOnesStop) {
  test::HttpTestServer server;
  Prober prober;
  prober.Start();
  Recorder recorder;
  Scheduler scheduler(prober, recorder.Sink());
  const int kTargets = 200;
  for (int i = 0; i < kTargets; ++i) {
    scheduler.Upsert(HttpTarget("t" + std::to_string(i), server.Url("/ok"), milliseconds(500),
                                milliseconds(1000)));
  }
  // Upserting the same settings again changes nothing.
  scheduler.Upsert(HttpTarget("t0", server.Url("/ok"), milliseconds(500), milliseconds(1000)));
  EXPECT_EQ(scheduler.size(), static_cast<size_t>(kTargets));
  scheduler.Start();

  ASSERT_TRUE(recorder.WaitFor(seconds(15), [&](const std::vector<Result>& r) {
    for (int i = 0; i < kTargets; ++i) {
      if (CountOf(r, "t" + std::to_string(i)) < 3) return false;
    }
    return true;
  })) << "not every target was probed three times in 15 s";
  scheduler.Remove("t7");
  EXPECT_EQ(scheduler.size(), static_cast<size_t>(kTargets - 1));
  size_t removed_count = recorder.Of("t7").size();
  ASSERT_TRUE(recorder.WaitFor(seconds(15), [](const std::vector<Result>& r) {
    return CountOf(r, "t8") >= 6;
  }));
  scheduler.Stop();
  prober.Stop();

  // At most one result may have been in flight when t7 was removed.
  EXPECT_LE(recorder.Of("t7").size(), removed_count + 1);
  for (int i = 0; i < kTargets; ++i) {
    std::vector<Result> results = recorder.Of("t" + std::to_string(i));
    for (size_t k = 1; k < results.size(); ++k) {
      EXPECT_EQ(results[k].due - results[k - 1].due, milliseconds(500)) << "t" << i;
    }
    for (const auto& r : results) {
      EXPECT_TRUE(r.outcome.ok) << r.outcome.error;
      auto phase = std::chrono::duration_cast<milliseconds>(r.due.time_since_epoch()).count() %
                   500;
      EXPECT_EQ(phase, Phase(r.name, milliseconds(500)).count());
    }
  }
}


// Clock jumps: due times are on the wall clock, which NTP or an operator may step. A
// FakeClock stands in for it. The scheduler re-reads it at least every 250 ms of real time, so
// each fake second below is followed by a bounded real wait for the probe it may bring.
class ProbeClockJumpTest : public ::testing::Test {
 protected:
  static constexpr milliseconds kPeriod{10000};

  void SetUp() override {
    prober_.Start();
    ScheduledTarget target = HttpTarget("jumpy", server_.Url("/ok"), kPeriod, milliseconds(1000));
    target.not_before = clock_.Now();
    scheduler_.Upsert(target);
    scheduler_.Start();
    clock_.Set(FirstDue("jumpy", kPeriod, target.not_before));
    ASSERT_TRUE(ProbesWithin(1, seconds(5))) << "no first probe at its due instant";
  }
  void TearDown() override {
    scheduler_.Stop();
    prober_.Stop();
  }

  bool ProbesWithin(size_t n, milliseconds wait) {
    return recorder_.WaitFor(wait, [n](const std::vector<Result>& r) { return CountOf(r, "jumpy") >= n; });
  }
  // Advances the fake clock a second at a time until the n-th probe has come: the fake seconds
  // that took, or -1 when it did not come within `limit` of them.
  int SecondsUntilProbe(size_t n, int limit) {
    for (int s = 1; s <= limit; ++s) {
      clock_.Advance(seconds(1));
      if (ProbesWithin(n, milliseconds(600))) return s;
    }
    return -1;
  }

  test::HttpTestServer server_;
  Prober prober_;
  FakeClock clock_;
  Recorder recorder_;
  Scheduler scheduler_{prober_, recorder_.Sink(), &clock_};
};

TEST_F(ProbeClockJumpTest, AStepBackOfAnHourKeepsTheProbesComing) {
  clock_.Advance(-std::chrono::hours(1));
  // Without the shift the next probe would wait for the clock to regain the hour.
  int waited = SecondsUntilProbe(2, 12);
  ASSERT_GT(waited, 0) << "no probe within 12 s of the fake clock after it stepped back an hour";
  EXPECT_LE(waited, 11);
  // One probe, not a burst, and the one after it a period later.
  EXPECT_FALSE(ProbesWithin(3, milliseconds(600)));
  EXPECT_EQ(recorder_.Of("jumpy").size(), 2u);
  int next = SecondsUntilProbe(3, 12);
  EXPECT_GE(next, 9);
  EXPECT_LE(next, 11);
}

TEST_F(ProbeClockJumpTest, AStepForwardOfAnHourRunsTheMissedProbeOnceAndKeepsThePeriod) {
  clock_.Advance(std::chrono::hours(1));
  ASSERT_TRUE(ProbesWithin(2, seconds(3))) << "no probe after the clock stepped forward an hour";
  // 360 periods were skipped: exactly one probe stands for them.
  EXPECT_FALSE(ProbesWithin(3, milliseconds(600)));
  EXPECT_EQ(recorder_.Of("jumpy").size(), 2u);
  int next = SecondsUntilProbe(3, 12);
  ASSERT_GT(next, 0) << "the schedule did not go on after the step forward";
  EXPECT_LE(next, 11);
  std::vector<Result> results = recorder_.Of("jumpy");
  EXPECT_EQ(std::chrono::duration_cast<milliseconds>(results[2].due.time_since_epoch()).count() %
                kPeriod.count(),
            Phase("jumpy", kPeriod).count())
      << "the probe after the step left the target's phase";
}

}  // namespace
}  // namespace flightdeck::health
