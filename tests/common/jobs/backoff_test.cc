#include <gtest/gtest.h>

#include "common/jobs/jobs.h"

namespace flightdeck::jobs {
namespace {

using std::chrono::milliseconds;

TEST(BackoffAfterTest, DoublesFromTheInitialBackoffUpToTheCap) {
  RetryPolicy policy;
  policy.initial_backoff = milliseconds(1000);
  policy.max_backoff = milliseconds(5000);
  EXPECT_EQ(BackoffAfter(policy, 1), milliseconds(1000));
  EXPECT_EQ(BackoffAfter(policy, 2), milliseconds(2000));
  EXPECT_EQ(BackoffAfter(policy, 3), milliseconds(4000));
  EXPECT_EQ(BackoffAfter(policy, 4), milliseconds(5000));
  EXPECT_EQ(BackoffAfter(policy, 1000), milliseconds(5000));  // no overflow
}

TEST(BackoffAfterTest, NoFailuresMeansNoWait) {
  EXPECT_EQ(BackoffAfter(RetryPolicy{}, 0), milliseconds(0));
}

}  // namespace
}  // namespace flightdeck::jobs
