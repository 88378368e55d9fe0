#include "cli/suggest.h"

#include <gtest/gtest.h>

namespace flightdeck::cli {
namespace {

TEST(EditDistanceTest, CountsInsertsDeletesReplacementsAndSwaps) {
  EXPECT_EQ(EditDistance("release", "release"), 0u);
  EXPECT_EQ(EditDistance("relase", "release"), 1u);   // a letter left out
  EXPECT_EQ(EditDistance("relaese", "release"), 1u);  // two letters swapped
  EXPECT_EQ(EditDistance("relexse", "release"), 1u);  // one wrong
  EXPECT_EQ(EditDistance("", "abc"), 3u);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
}

TEST(ClosestMatchTest, SuggestsANearMissOrAUniqueBeginningAndNothingElse) {
  const std::vector<std::string> commands = {"login", "release", "deploy", "backup",
                                             "health", "incident", "status", "token"};
  EXPECT_EQ(ClosestMatch("relase", commands), "release");
  EXPECT_EQ(ClosestMatch("helth", commands), "health");
  EXPECT_EQ(ClosestMatch("inc", commands), "incident");
  EXPECT_EQ(ClosestMatch("frobnicate", commands), "");
  EXPECT_EQ(ClosestMatch("x", commands), "") << "a one-letter beginning is no guess";
  EXPECT_EQ(ClosestMatch("lst", {"list", "lost"}), "") << "a tie is no guess";
  EXPECT_EQ(ClosestMatch("lsit", {"list", "get"}), "list");
}

}  // namespace
}  // namespace flightdeck::cli
