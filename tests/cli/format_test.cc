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

TEST(FormatReleaseTableTest, ShortCommitShortTimeAndBothJsonNamings) {
  const Json releases = Json::parse(R"([
    {"id":"r-1","service":"api","environment":"production","version":"1.4.2",
     "commit_sha":"0123456789abcdef0123","state":"PENDING","created_at":"2026-03-01T12:00:00.123456Z"},
    {"id":"r-22","service":"billing","environment":"staging","version":"10.0.0",
     "commitSha":"fedcba9876543210","state":"CANARY","createdAt":"2026-03-02T08:30:00Z"}
  ])");
  EXPECT_EQ(FormatReleaseTable(releases),
            "ID    SERVICE  ENV         VERSION  COMMIT        STATE    CREATED\n"
            "r-1   api      production  1.4.2    0123456789ab  PENDING  2026-03-01T12:00:00Z\n"
            "r-22  billing  staging     10.0.0   fedcba987654  CANARY   2026-03-02T08:30:00Z\n");
}

TEST(FormatReleaseTableTest, MissingFieldsShowADash) {
  EXPECT_EQ(FormatReleaseTable(Json::parse(R"([{"id":"r-1"}])")),
            "ID   SERVICE  ENV  VERSION  COMMIT  STATE  CREATED\n"
            "r-1  -        -    -        -       -      -\n");
}

TEST(FormatReleaseDetailsTest, KnownFieldsInOrderThenTheRest) {
  const Json release = Json::parse(R"({
    "trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","state":"PENDING","id":"r-7",
    "service":"api","environment":"staging","version":"1.0.0","commitSha":"abc",
    "image":"registry/api:1.0.0","labels":{"team":"core"},"canary_weight":5})");
  EXPECT_EQ(FormatReleaseDetails(release),
            "id: r-7\n"
            "service: api\n"
            "environment: staging\n"
            "version: 1.0.0\n"
            "commit_sha: abc\n"
            "image: registry/api:1.0.0\n"
            "state: PENDING\n"
            "trace_id: 4bf92f3577b34da6a3ce929d0e0e4736\n"
            "labels: {\"team\":\"core\"}\n"
            "canary_weight: 5\n");
}

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

}  // namespace
}  // namespace flightdeck::cli
