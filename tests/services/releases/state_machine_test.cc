#include "services/releases/state_machine.h"

#include <set>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace flightdeck::releases {
namespace {

using R = v1::Release;

const std::vector<State> kAllStates = {
    R::PENDING,   R::AWAITING_APPROVAL, R::CANARY,      R::PROMOTING, R::VERIFYING, R::BAKING,
    R::SUCCEEDED, R::ROLLING_BACK,      R::ROLLED_BACK, R::ABORTED,   R::FAILED};

// The pipeline as state_machine.h documents it, written out independently of the code.
const std::set<std::pair<State, State>> kLegal = {
    {R::PENDING, R::AWAITING_APPROVAL},
    {R::PENDING, R::CANARY},
    {R::PENDING, R::PROMOTING},
    {R::PENDING, R::ABORTED},
    {R::PENDING, R::FAILED},
    {R::PENDING, R::ROLLING_BACK},
    {R::AWAITING_APPROVAL, R::PENDING},  // approved: the pipeline starts the deploy next
    {R::AWAITING_APPROVAL, R::CANARY},
    {R::AWAITING_APPROVAL, R::PROMOTING},
    {R::AWAITING_APPROVAL, R::ABORTED},
    {R::AWAITING_APPROVAL, R::FAILED},
    {R::AWAITING_APPROVAL, R::ROLLING_BACK},
    {R::CANARY, R::CANARY},
    {R::CANARY, R::PROMOTING},
    {R::CANARY, R::ROLLING_BACK},
    {R::CANARY, R::FAILED},
    {R::PROMOTING, R::VERIFYING},
    {R::PROMOTING, R::SUCCEEDED},
    {R::PROMOTING, R::ROLLING_BACK},
    {R::PROMOTING, R::FAILED},
    {R::VERIFYING, R::SUCCEEDED},
    {R::VERIFYING, R::ROLLING_BACK},
    {R::VERIFYING, R::FAILED},
    {R::VERIFYING, R::BAKING},
    {R::BAKING, R::SUCCEEDED},
    {R::BAKING, R::ROLLING_BACK},
    {R::BAKING, R::FAILED},
    {R::ROLLING_BACK, R::ROLLED_BACK},
    {R::ROLLING_BACK, R::ABORTED},
    {R::ROLLING_BACK, R::FAILED},
    {R::SUCCEEDED, R::ROLLED_BACK},
};

R InState(State state, bool paused = false) {
  R release;
  release.set_state(state);
  release.set_paused(paused);
  return release;
}

TEST(StateMachineTest, EveryDocumentedTransitionIsAllowed) {
  for (const auto& [from, to] : kLegal) {
    SCOPED_TRACE(StateName(from) + " -> " + StateName(to));
    EXPECT_TRUE(CanTransition(from, to));
    EXPECT_TRUE(CheckTransition(from, to).ok());
  }
}

TEST(StateMachineTest, EveryOtherTransitionIsRefusedNamingTheCurrentState) {
  int refused = 0;
  for (State from : kAllStates) {
    for (State to : kAllStates) {
      if (kLegal.count({from, to})) continue;
      SCOPED_TRACE(StateName(from) + " -> " + StateName(to));
      EXPECT_FALSE(CanTransition(from, to));
      grpc::Status s = CheckTransition(from, to);
      EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
      EXPECT_EQ(s.error_message(),
                "release is " + StateName(from) + ": cannot move to " + StateName(to));
      ++refused;
    }
  }
  EXPECT_EQ(refused, 11 * 11 - static_cast<int>(kLegal.size()));
}

TEST(StateMachineTest, IllegalMovesAnOperatorMightTryAreRefused) {
  struct Case {
    State from, to;
    const char* message;
  };
  const std::vector<Case> cases = {
      {R::SUCCEEDED, R::CANARY, "release is SUCCEEDED: cannot move to CANARY"},
      {R::AWAITING_APPROVAL, R::SUCCEEDED,
       "release is AWAITING_APPROVAL: cannot move to SUCCEEDED"},
      {R::PENDING, R::VERIFYING, "release is PENDING: cannot move to VERIFYING"},
      {R::CANARY, R::SUCCEEDED, "release is CANARY: cannot move to SUCCEEDED"},
      {R::CANARY, R::ABORTED, "release is CANARY: cannot move to ABORTED"},
      {R::VERIFYING, R::CANARY, "release is VERIFYING: cannot move to CANARY"},
      {R::ROLLED_BACK, R::SUCCEEDED, "release is ROLLED_BACK: cannot move to SUCCEEDED"},
      {R::ABORTED, R::PENDING, "release is ABORTED: cannot move to PENDING"},
      {R::FAILED, R::ROLLING_BACK, "release is FAILED: cannot move to ROLLING_BACK"},
      {R::SUCCEEDED, R::FAILED, "release is SUCCEEDED: cannot move to FAILED"},
      {R::ROLLED_BACK, R::ROLLED_BACK, "release is ROLLED_BACK: cannot move to ROLLED_BACK"},
  };
  for (const Case& c : cases) {
    grpc::Status s = CheckTransition(c.from, c.to);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << c.message;
    EXPECT_EQ(s.error_message(), c.message);
  }
}

TEST(StateMachineTest, TerminalAndInFlightSplitTheStates) {
  const std::set<State> terminal = {R::SUCCEEDED, R::ROLLED_BACK, R::ABORTED, R::FAILED};
  for (State s : kAllStates) {
    SCOPED_TRACE(StateName(s));
    EXPECT_EQ(IsTerminal(s), terminal.count(s) == 1);
    EXPECT_EQ(IsInFlight(s), terminal.count(s) == 0);
  }
  EXPECT_FALSE(IsInFlight(R::STATE_UNSPECIFIED));
  EXPECT_FALSE(IsTerminal(R::STATE_UNSPECIFIED));
}

TEST(StateMachineTest, ApproveNeedsAwaitingApproval) {
  EXPECT_TRUE(CheckCanApprove(InState(R::AWAITING_APPROVAL)).ok());
  grpc::Status s = CheckCanApprove(InState(R::CANARY));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(s.error_message(), "release is CANARY: approve needs AWAITING_APPROVAL");
  EXPECT_EQ(CheckCanApprove(InState(R::SUCCEEDED)).error_message(),
            "release is SUCCEEDED: approve needs AWAITING_APPROVAL");
}

TEST(StateMachineTest, PromoteWorksOnARunningOrPausedCanaryOrBakeOnly) {
  EXPECT_TRUE(CheckCanPromote(InState(R::CANARY)).ok());
  EXPECT_TRUE(CheckCanPromote(InState(R::CANARY, /*paused=*/true)).ok());
  EXPECT_TRUE(CheckCanPromote(InState(R::BAKING, /*paused=*/true)).ok());
  for (State s : kAllStates) {
    if (s == R::CANARY || s == R::BAKING) continue;
    grpc::Status status = CheckCanPromote(InState(s));
    EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << StateName(s);
    EXPECT_EQ(status.error_message(), "release is " + StateName(s) + ": promote needs CANARY or BAKING");
  }
}

TEST(StateMachineTest, AbortWorksWhileInFlightButNotTwiceOrAfterTheEnd) {
  for (State s : {R::PENDING, R::AWAITING_APPROVAL, R::CANARY, R::PROMOTING, R::VERIFYING, R::BAKING}) {
    EXPECT_TRUE(CheckCanAbort(InState(s)).ok()) << StateName(s);
  }
  grpc::Status rolling = CheckCanAbort(InState(R::ROLLING_BACK));
  EXPECT_EQ(rolling.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(rolling.error_message(), "release is ROLLING_BACK: already rolling back");
  for (State s : {R::SUCCEEDED, R::ROLLED_BACK, R::ABORTED, R::FAILED}) {
    grpc::Status status = CheckCanAbort(InState(s));
    EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << StateName(s);
    EXPECT_EQ(status.error_message().rfind("release is " + StateName(s) + ": ", 0), 0u)
        << status.error_message();
  }
}

TEST(StateMachineTest, RollbackNeedsASucceededRelease) {
  EXPECT_TRUE(CheckCanRollBack(InState(R::SUCCEEDED)).ok());
  EXPECT_EQ(CheckCanRollBack(InState(R::CANARY)).error_message(),
            "release is CANARY: rollback needs SUCCEEDED");
  EXPECT_EQ(CheckCanRollBack(InState(R::ROLLED_BACK)).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST(StateMachineTest, ObservationsAreTakenOnlyDuringTheCanaryAndTheBake) {
  EXPECT_TRUE(CheckCanObserve(InState(R::CANARY)).ok());
  EXPECT_TRUE(CheckCanObserve(InState(R::CANARY, /*paused=*/true)).ok());
  EXPECT_TRUE(CheckCanObserve(InState(R::BAKING)).ok());
  EXPECT_EQ(CheckCanObserve(InState(R::AWAITING_APPROVAL)).error_message(),
            "release is AWAITING_APPROVAL: observations need CANARY or BAKING");
  EXPECT_EQ(CheckCanObserve(InState(R::ROLLED_BACK)).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST(StateMachineTest, VerificationIsTakenOnlyWhileVerifying) {
  EXPECT_TRUE(CheckCanVerify(InState(R::VERIFYING)).ok());
  EXPECT_EQ(CheckCanVerify(InState(R::PROMOTING)).error_message(),
            "release is PROMOTING: verification needs VERIFYING");
  EXPECT_EQ(CheckCanVerify(InState(R::SUCCEEDED)).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST(StateMachineTest, StateNamesAreTheUpperCaseJsonNames) {
  EXPECT_EQ(StateName(R::AWAITING_APPROVAL), "AWAITING_APPROVAL");
  EXPECT_EQ(StateName(R::ROLLED_BACK), "ROLLED_BACK");
  EXPECT_EQ(StateName(static_cast<State>(42)), "STATE_42");
}

}  // namespace
}  // namespace flightdeck::releases
