#include "common/cache/circuit_breaker.h"

#include <gtest/gtest.h>

#include <vector>

namespace flightdeck::cache {
namespace {

using std::chrono::milliseconds;

class CircuitBreakerTest : public ::testing::Test {
 protected:
  CircuitBreaker Make(int threshold, milliseconds open_for) {
    return CircuitBreaker(
        threshold, open_for, [this](bool open) { published_.push_back(open); },
        [this] { return now_; });
  }
  void Advance(milliseconds d) { now_ += d; }

  CircuitBreaker::TimePoint now_{std::chrono::seconds(1000)};
  std::vector<bool> published_;
};

TEST_F(CircuitBreakerTest, OpensOnlyAfterThresholdConsecutiveFailures) {
  CircuitBreaker b = Make(3, milliseconds(5000));
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(b.Allow());
    b.OnFailure();
  }
  ASSERT_TRUE(b.Allow());
  b.OnSuccess();  // resets the count: failures must be consecutive
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(b.Allow());
    b.OnFailure();
  }
  EXPECT_FALSE(b.open());
  ASSERT_TRUE(b.Allow());
  b.OnFailure();
  EXPECT_TRUE(b.open());
  EXPECT_FALSE(b.Allow());
  EXPECT_EQ(published_, std::vector<bool>{true});
}

TEST_F(CircuitBreakerTest, RefusesWhileOpenThenLetsExactlyOneTrialThrough) {
  CircuitBreaker b = Make(1, milliseconds(5000));
  ASSERT_TRUE(b.Allow());
  b.OnFailure();
  Advance(milliseconds(4999));
  EXPECT_FALSE(b.Allow());
  Advance(milliseconds(1));
  EXPECT_TRUE(b.Allow());   // the trial
  EXPECT_FALSE(b.Allow());  // everyone else while it runs
  EXPECT_EQ(b.state(), CircuitBreaker::State::kHalfOpen);
  EXPECT_TRUE(b.open());
}

TEST_F(CircuitBreakerTest, SuccessfulTrialCloses) {
  CircuitBreaker b = Make(2, milliseconds(100));
  for (int i = 0; i < 2; ++i) {
    b.Allow();
    b.OnFailure();
  }
  Advance(milliseconds(100));
  ASSERT_TRUE(b.Allow());
  b.OnSuccess();
  EXPECT_EQ(b.state(), CircuitBreaker::State::kClosed);
  EXPECT_TRUE(b.Allow());
  EXPECT_TRUE(b.Allow());
  EXPECT_EQ(published_, (std::vector<bool>{true, false}));
}

TEST_F(CircuitBreakerTest, FailedTrialReopensForAnotherFullPeriod) {
  CircuitBreaker b = Make(1, milliseconds(100));
  b.Allow();
  b.OnFailure();
  Advance(milliseconds(150));
  ASSERT_TRUE(b.Allow());
  b.OnFailure();
  EXPECT_EQ(b.state(), CircuitBreaker::State::kOpen);
  Advance(milliseconds(99));
  EXPECT_FALSE(b.Allow());
  Advance(milliseconds(1));
  EXPECT_TRUE(b.Allow());
  // It never closed in between, so nothing new was published.
  EXPECT_EQ(published_, std::vector<bool>{true});
}

TEST_F(CircuitBreakerTest, LateFailureOfACommandAdmittedBeforeOpeningChangesNothing) {
  CircuitBreaker b = Make(1, milliseconds(100));
  ASSERT_TRUE(b.Allow());
  ASSERT_TRUE(b.Allow());
  b.OnFailure();
  Advance(milliseconds(60));
  b.OnFailure();  // the second, slower command
  Advance(milliseconds(40));
  EXPECT_TRUE(b.Allow()) << "the late failure must not extend the open period";
}

}  // namespace
}  // namespace flightdeck::cache
