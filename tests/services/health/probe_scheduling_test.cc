// Scheduling math: where in its period each target's probes fall.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "services/health/probe/lateness_histogram.h"
#include "services/health/probe/scheduler.h"

namespace flightdeck::health {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(PhaseTest, IsStableAndWithinThePeriod) {
  EXPECT_EQ(Phase("checkout-live", seconds(10)), Phase("checkout-live", seconds(10)));
  for (int i = 0; i < 1000; ++i) {
    auto phase = Phase("target-" + std::to_string(i), seconds(10));
    EXPECT_GE(phase.count(), 0);
    EXPECT_LT(phase.count(), 10000);
  }
}

// 10k targets registered together, named alike, fall evenly over a 10 s period: no second of
// the period gets much more than its share (a thundering herd would put them all in one).
TEST(PhaseTest, SpreadsTargetsRegisteredTogetherOverThePeriod) {
  const int kTargets = 10000;
  std::vector<int> per_second(10, 0);
  std::vector<int> per_100ms(100, 0);
  for (int i = 0; i < kTargets; ++i) {
    auto phase = Phase("svc-" + std::to_string(i) + "-live", seconds(10)).count();
    per_second[phase / 1000]++;
    per_100ms[phase / 100]++;
  }
  for (int count : per_second) {
    EXPECT_GT(count, 900);
    EXPECT_LT(count, 1100);
  }
  EXPECT_LT(*std::max_element(per_100ms.begin(), per_100ms.end()), 100 * 2);
  EXPECT_GT(*std::min_element(per_100ms.begin(), per_100ms.end()), 100 / 2);
}

TEST(FirstDueTest, IsTheFirstPhaseInstantAtOrAfterNotBefore) {
  const Clock::TimePoint registered(seconds(1'800'000'000) + milliseconds(1234));
  for (int i = 0; i < 500; ++i) {
    std::string name = "t" + std::to_string(i);
    for (milliseconds period : {milliseconds(200), milliseconds(1000), milliseconds(10000), milliseconds(60000)}) {
      auto due = FirstDue(name, period, registered);
      EXPECT_GE(due, registered) << name;
      EXPECT_LT(due, registered + period) << name;
      auto since_epoch =
          std::chrono::duration_cast<milliseconds>(due.time_since_epoch()).count();
      EXPECT_EQ(since_epoch % period.count(), Phase(name, period).count()) << name;
    }
  }
}

TEST(FirstDueTest, AnInstantOnThePhaseIsItsOwnFirstDue) {
  auto period = seconds(10);
  auto first = FirstDue("db-ready", period, Clock::TimePoint(seconds(1'800'000'000)));
  EXPECT_EQ(FirstDue("db-ready", period, first), first);
  EXPECT_EQ(FirstDue("db-ready", period, first + std::chrono::microseconds(1)), first + period);
}

// An initial delay moves the first probe to the first phase instant after it, never before.
TEST(FirstDueTest, HonoursInitialDelay) {
  Clock::TimePoint registered(seconds(1'800'000'000));
  auto with_delay = FirstDue("api-live", seconds(10), registered + seconds(30));
  EXPECT_GE(with_delay, registered + seconds(30));
  EXPECT_LT(with_delay, registered + seconds(40));
}

TEST(LatenessHistogramTest, PercentilesAreWithinFivePercent) {
  internal::LatenessHistogram h;
  for (int i = 1; i <= 1000; ++i) h.Add(i * 0.1);  // 0.1 .. 100 ms
  EXPECT_EQ(h.count(), 1000);
  EXPECT_NEAR(h.Quantile(0.5), 50.0, 2.6);
  EXPECT_NEAR(h.Quantile(0.99), 99.0, 5.0);
  EXPECT_DOUBLE_EQ(h.max_ms(), 100.0);
  h.Reset();
  EXPECT_EQ(h.count(), 0);
  EXPECT_EQ(h.Quantile(0.5), 0);
}

}  // namespace
}  // namespace flightdeck::health
