// The bounded wait the integration and end-to-end tests poll with: it stops as soon as the
// condition holds, gives up once the time is up, and hands back the last value it saw.
#include "tests/support/wait.h"

#include <gtest/gtest.h>

#include <string>

namespace flightdeck::test {
namespace {

using namespace std::chrono_literals;

TEST(WaitUntilTest, StopsAtTheFirstCallThatHolds) {
  int calls = 0;
  EXPECT_TRUE(WaitUntil([&] { return ++calls == 3; }, 60s, 1ms));
  EXPECT_EQ(calls, 3);
}

TEST(WaitUntilTest, ChecksOnceWhenThereIsNoTimeAndReportsFalse) {
  int calls = 0;
  EXPECT_FALSE(WaitUntil([&] { return ++calls > 1; }, 0ms));
  EXPECT_EQ(calls, 1);
}

TEST(WaitUntilTest, GivesUpWhenTheConditionNeverHolds) {
  int calls = 0;
  EXPECT_FALSE(WaitUntil([&] { ++calls; return false; }, 20ms, 1ms));
  EXPECT_GE(calls, 2);  // the first check, and one more when the time is up
}

TEST(PollUntilTest, ReturnsTheValueThatSatisfiedTheCondition) {
  int n = 0;
  const std::string got = PollUntil([&] { return std::to_string(++n); },
                                    [](const std::string& s) { return s == "4"; }, 60s, 1ms);
  EXPECT_EQ(got, "4");
  EXPECT_EQ(n, 4);
}

TEST(PollUntilTest, ReturnsTheLastValueWhenTheTimeIsUp) {
  int n = 0;
  const int got = PollUntil([&] { return ++n; }, [](int) { return false; }, 0ms);
  EXPECT_EQ(got, 1);
}

}  // namespace
}  // namespace flightdeck::test
