// The releases-by-state gauges: which deadline each state has, and that a release past it shows
// as overdue (StateGauges, pure), and what ReleaseGauges exposes from the real table.
#include <gtest/gtest.h>

#include "common/clock/timestamps.h"
#include "services/releases/release_gauges.h"

namespace flightdeck::releases {
namespace {

using namespace std::chrono_literals;
using R = v1::Release;

const Clock::TimePoint kNow = FromMicros(1'800'000'000'000'000);
const PolicySet kDefaults = PolicySet::Defaults();  // command_timeout 5 minutes everywhere
constexpr std::chrono::milliseconds kLease = 1min;

std::map<State, StateGauge> Gauges(const std::vector<R>& unfinished) {
  return StateGauges(unfinished, kNow, kDefaults, kLease);
}
std::optional<Clock::TimePoint> Deadline(const R& release) {
  return StateDeadline(release, kDefaults, kLease);
}

R InState(R::State state) {
  R r;
  r.set_state(state);
  return r;
}

TEST(StateGaugesTest, EveryNonTerminalStateIsThereAndNoTerminalOne) {
  std::map<State, StateGauge> g = Gauges({});
  EXPECT_EQ(g.size(), 7u);
  for (State s : {R::PENDING, R::AWAITING_APPROVAL, R::CANARY, R::PROMOTING, R::VERIFYING,
                  R::BAKING, R::ROLLING_BACK}) {
    ASSERT_TRUE(g.count(s)) << StateName(s);
    EXPECT_EQ(g[s].releases, 0);
    EXPECT_EQ(g[s].overdue_seconds, 0);
  }
  EXPECT_FALSE(g.count(R::SUCCEEDED));
  EXPECT_FALSE(g.count(R::ROLLED_BACK));
}

TEST(StateGaugesTest, ACanaryWhoseAnalysisIsLateIsOverdueByTheLatestOne) {
  R late = InState(R::CANARY);
  SetTimestamp(late.mutable_next_analysis_at(), kNow - 120s);
  R later = InState(R::CANARY);
  SetTimestamp(later.mutable_next_analysis_at(), kNow - 400s);
  R on_time = InState(R::CANARY);
  SetTimestamp(on_time.mutable_next_analysis_at(), kNow + 30s);
  std::map<State, StateGauge> g = Gauges({late, later, on_time});
  EXPECT_EQ(g[R::CANARY].releases, 3);
  EXPECT_DOUBLE_EQ(g[R::CANARY].overdue_seconds, 400);
}

TEST(StateGaugesTest, WaitingOnAPersonIsNeverOverdue) {
  R paused = InState(R::CANARY);
  paused.set_paused(true);
  SetTimestamp(paused.mutable_next_analysis_at(), kNow - 1h);
  R approval = InState(R::AWAITING_APPROVAL);
  SetTimestamp(approval.mutable_created_at(), kNow - 48h);
  R queued = InState(R::PENDING);
  queued.set_queued(true);
  std::map<State, StateGauge> g = Gauges({paused, approval, queued});
  EXPECT_EQ(g[R::CANARY].releases, 1);
  EXPECT_EQ(g[R::CANARY].overdue_seconds, 0);
  EXPECT_EQ(g[R::AWAITING_APPROVAL].overdue_seconds, 0);
  EXPECT_EQ(g[R::PENDING].releases, 1);
  EXPECT_FALSE(Deadline(queued).has_value());
}

TEST(StateGaugesTest, VerificationAndBakeHaveTheirOwnDeadlines) {
  R verifying = InState(R::VERIFYING);
  SetTimestamp(verifying.mutable_verify_deadline(), kNow - 90s);
  R baking = InState(R::BAKING);
  SetTimestamp(baking.mutable_next_analysis_at(), kNow + 60s);
  SetTimestamp(baking.mutable_bake_until(), kNow - 10s);  // should have ended already
  std::map<State, StateGauge> g = Gauges({verifying, baking});
  EXPECT_DOUBLE_EQ(g[R::VERIFYING].overdue_seconds, 90);
  EXPECT_DOUBLE_EQ(g[R::BAKING].overdue_seconds, 10);
}

// PROMOTING and ROLLING_BACK run the driver in one step due as the state begins: the driver has
// its environment's command_timeout, and a dead replica's step waits a lease for another worker.
TEST(StateGaugesTest, PromotingAndRollingBackAreDueWithinTheCommandTimeoutAndTheLease) {
  PolicySet policies;
  grpc::Status s = PolicySet::FromJson(
      R"({"production": {"driver": "command", "command": ["/bin/true"], "command_timeout": "10m"}})",
      &policies);
  ASSERT_TRUE(s.ok()) << s.error_message();
  R promoting = InState(R::PROMOTING);
  promoting.set_environment("production");
  SetTimestamp(promoting.mutable_updated_at(), kNow - 12min);
  R rolling_back = InState(R::ROLLING_BACK);
  rolling_back.set_environment("staging");  // the default entry: 5 minutes
  SetTimestamp(rolling_back.mutable_updated_at(), kNow - 7min);

  EXPECT_EQ(StateDeadline(promoting, policies, 90s), kNow - 12min + 10min + 90s);
  EXPECT_EQ(StateDeadline(rolling_back, policies, 90s), kNow - 7min + 5min + 90s);
  std::map<State, StateGauge> g = StateGauges({promoting, rolling_back}, kNow, policies, 90s);
  EXPECT_DOUBLE_EQ(g[R::PROMOTING].overdue_seconds, 30);
  EXPECT_DOUBLE_EQ(g[R::ROLLING_BACK].overdue_seconds, 30);

  // Within the bound: not overdue; a longer lease moves the deadline.
  std::map<State, StateGauge> patient = StateGauges({promoting, rolling_back}, kNow, policies, 5min);
  EXPECT_EQ(patient[R::PROMOTING].overdue_seconds, 0);
  EXPECT_EQ(patient[R::ROLLING_BACK].overdue_seconds, 0);
}

// An approval waits on a person: it has no deadline, but how long it has waited is exposed
// (the FlightdeckReleaseAwaitingApproval alert reads it), per state, for the longest waiter.
TEST(StateGaugesTest, HowLongTheLongestWaitingReleaseOfEachStateWentUnchanged) {
  R waited_long = InState(R::AWAITING_APPROVAL);
  SetTimestamp(waited_long.mutable_updated_at(), kNow - 30h);
  R waited_short = InState(R::AWAITING_APPROVAL);
  SetTimestamp(waited_short.mutable_updated_at(), kNow - 2h);
  R canary = InState(R::CANARY);
  SetTimestamp(canary.mutable_updated_at(), kNow - 45s);
  SetTimestamp(canary.mutable_next_analysis_at(), kNow + 15s);
  std::map<State, StateGauge> g = Gauges({waited_long, waited_short, canary});
  EXPECT_DOUBLE_EQ(g[R::AWAITING_APPROVAL].unchanged_seconds, 30 * 3600);
  EXPECT_EQ(g[R::AWAITING_APPROVAL].overdue_seconds, 0);
  EXPECT_FALSE(Deadline(waited_long).has_value());
  EXPECT_DOUBLE_EQ(g[R::CANARY].unchanged_seconds, 45);
  EXPECT_EQ(g[R::PENDING].unchanged_seconds, 0);
}

}  // namespace
}  // namespace flightdeck::releases
