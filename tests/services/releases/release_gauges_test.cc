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

R InState(R::State state) {
  R r;
  r.set_state(state);
  return r;
}

TEST(StateGaugesTest, EveryNonTerminalStateIsThereAndNoTerminalOne) {
  std::map<State, StateGauge> g = StateGauges({}, kNow);
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
  std::map<State, StateGauge> g = StateGauges({late, later, on_time}, kNow);
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
  std::map<State, StateGauge> g = StateGauges({paused, approval, queued}, kNow);
  EXPECT_EQ(g[R::CANARY].releases, 1);
  EXPECT_EQ(g[R::CANARY].overdue_seconds, 0);
  EXPECT_EQ(g[R::AWAITING_APPROVAL].overdue_seconds, 0);
  EXPECT_EQ(g[R::PENDING].releases, 1);
  EXPECT_FALSE(StateDeadline(queued).has_value());
}

TEST(StateGaugesTest, VerificationAndBakeHaveTheirOwnDeadlines) {
  R verifying = InState(R::VERIFYING);
  SetTimestamp(verifying.mutable_verify_deadline(), kNow - 90s);
  R baking = InState(R::BAKING);
  SetTimestamp(baking.mutable_next_analysis_at(), kNow + 60s);
  SetTimestamp(baking.mutable_bake_until(), kNow - 10s);  // should have ended already
  std::map<State, StateGauge> g = StateGauges({verifying, baking}, kNow);
  EXPECT_DOUBLE_EQ(g[R::VERIFYING].overdue_seconds, 90);
  EXPECT_DOUBLE_EQ(g[R::BAKING].overdue_seconds, 10);
  EXPECT_FALSE(StateDeadline(InState(R::PROMOTING)).has_value());
}

}  // namespace
}  // namespace flightdeck::releases
