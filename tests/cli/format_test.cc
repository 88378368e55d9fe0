#include "cli/format.h"

#include <gtest/gtest.h>

namespace flightdeck::cli {
namespace {

TEST(FormatTableTest, ColumnsAlignOnTheWidestCellWithoutTrailingBlanks) {
  EXPECT_EQ(FormatTable({"ID", "NAME", "X"}, {{"1", "api", ""}, {"1234", "a", "y"}}),
            "ID    NAME  X\n"
            "1     api\n"
            "1234  a     y\n");
}

TEST(FormatTableTest, HeaderOnlyWhenNoRows) { EXPECT_EQ(FormatTable({"A", "B"}, {}), "A  B\n"); }

TEST(FormatErrorTest, GatewayErrorShape) {
  EXPECT_EQ(FormatError(404, R"({"error":{"code":"NOT_FOUND","message":"release r-9 not found"}})"),
            "error: NOT_FOUND: release r-9 not found\n");
}

TEST(FormatErrorTest, FieldViolationsFromDetailsAreListed) {
  const std::string body = R"({"error":{"code":"INVALID_ARGUMENT","message":"bad release",
    "details":[{"@type":"type.googleapis.com/google.rpc.BadRequest","fieldViolations":[
      {"field":"commit_sha","description":"must be 7 to 40 hex digits"},
      {"field":"environment","description":"unknown environment \"prod\""}]},
      {"@type":"type.googleapis.com/google.rpc.RequestInfo","requestId":"req-1"}]}})";
  EXPECT_EQ(FormatError(400, body),
            "error: INVALID_ARGUMENT: bad release\n"
            "  commit_sha: must be 7 to 40 hex digits\n"
            "  environment: unknown environment \"prod\"\n");
}

TEST(FormatErrorTest, NumericCodeIsNamed) {
  EXPECT_EQ(FormatError(409, R"({"error":{"code":6,"message":"exists"}})"),
            "error: ALREADY_EXISTS: exists\n");
}

TEST(FormatErrorTest, BodiesThatAreNotTheErrorShapeStillNameTheStatus) {
  EXPECT_EQ(FormatError(502, "<html>\n<body>Bad Gateway</body>\n</html>\n"),
            "error: HTTP 502: <html> <body>Bad Gateway</body> </html>\n");
  EXPECT_EQ(FormatError(503, ""), "error: HTTP 503 with an empty body\n");
  EXPECT_EQ(FormatError(500, R"({"message":"oops"})"), "error: HTTP 500: {\"message\":\"oops\"}\n");
}

TEST(ColorTest, PaintColoursKnownWordsOnlyInsideAnEnabledScope) {
  EXPECT_EQ(Paint("FAILED"), "FAILED") << "off unless a run turned it on";
  {
    const ColorScope color(true);
    EXPECT_EQ(Paint("SUCCEEDED"), "\033[32mSUCCEEDED\033[0m");
    EXPECT_EQ(Paint("FAILED"), "\033[31mFAILED\033[0m");
    EXPECT_EQ(Paint("ROLLED_BACK"), "\033[31mROLLED_BACK\033[0m");
    EXPECT_EQ(Paint("CANARY"), "\033[33mCANARY\033[0m");
    EXPECT_EQ(Paint("SEV1"), "\033[31mSEV1\033[0m");
    EXPECT_EQ(Paint("SEV2"), "\033[31mSEV2\033[0m");
    EXPECT_EQ(Paint("HEALTHY"), "\033[32mHEALTHY\033[0m");
    EXPECT_EQ(Paint("UNHEALTHY"), "\033[31mUNHEALTHY\033[0m");
    EXPECT_EQ(Paint("PENDING"), "PENDING");
    EXPECT_EQ(Paint("canary rollout"), "canary rollout") << "whole words only";
    EXPECT_EQ(Tint("MISSED", Tone::kBad), "\033[31mMISSED\033[0m");
    {
      const ColorScope nested(false);
      EXPECT_EQ(Paint("FAILED"), "FAILED");
    }
    EXPECT_EQ(Paint("FAILED"), "\033[31mFAILED\033[0m") << "a scope restores the setting";
  }
  EXPECT_EQ(Paint("FAILED"), "FAILED");
}

TEST(FormatTableTest, ColouredAndNonAsciiCellsLineUp) {
  const ColorScope color(true);
  EXPECT_EQ(VisibleWidth(Paint("FAILED")), 6u);
  EXPECT_EQ(VisibleWidth("caf\xc3\xa9"), 4u);
  EXPECT_EQ(FormatTable({"STATE", "ID"}, {{Paint("FAILED"), "1"}, {"caf\xc3\xa9", "2"}}),
            "STATE   ID\n"
            "\033[31mFAILED\033[0m  1\n"
            "caf\xc3\xa9    2\n");
}

}  // namespace
}  // namespace flightdeck::cli
