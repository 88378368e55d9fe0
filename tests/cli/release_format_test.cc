#include "cli/release_format.h"

#include <gtest/gtest.h>

namespace flightdeck::cli {
namespace {

TEST(FormatReleaseTableTest, ShortCommitShortTimeAndBothJsonNamings) {
  const Json releases = Json::parse(R"([
    {"id":"r-1","service":"api","environment":"production","version":"1.4.2",
     "commit_sha":"0123456789abcdef0123","state":"PENDING","created_at":"2026-03-01T12:00:00.123456Z"},
    {"id":"r-22","service":"billing","environment":"staging","version":"10.0.0","kind":"DEPLOY",
     "commitSha":"fedcba9876543210","state":"CANARY","createdAt":"2026-03-02T08:30:00Z"}
  ])");
  EXPECT_EQ(FormatReleaseTable(releases),
            "ID    SERVICE  ENV         KIND    VERSION  COMMIT        STATE    CREATED\n"
            "r-1   api      production  -       1.4.2    0123456789ab  PENDING  "
            "2026-03-01T12:00:00Z\n"
            "r-22  billing  staging     DEPLOY  10.0.0   fedcba987654  CANARY   "
            "2026-03-02T08:30:00Z\n");
}

TEST(FormatReleaseTableTest, MissingFieldsShowADash) {
  EXPECT_EQ(FormatReleaseTable(Json::parse(R"([{"id":"r-1"}])")),
            "ID   SERVICE  ENV  KIND  VERSION  COMMIT  STATE  CREATED\n"
            "r-1  -        -    -     -        -       -      -\n");
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

// A release in its second canary step, as the gateway prints it: proto field names, every
// primitive field present even when it holds its default.
const char* kCanaryRelease = R"({
  "id":"r-42","service":"api","environment":"production","version":"1.4.2",
  "commit_sha":"0123456789abcdef","image":"registry/api:1.4.2","state":"CANARY",
  "created_by":"ci-bot","created_at":"2026-03-01T12:00:00Z","updated_at":"2026-03-01T12:11:00Z",
  "trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","kind":"DEPLOY","require_approval":true,
  "driver":{"kind":"external"},
  "canary":{"steps":[{"weight":5,"duration":"600s"},{"weight":25,"duration":"600s"}],
            "analysis":{"interval":"60s","max_error_rate":0.05,"max_p99_latency_ms":800,
                        "min_requests":"100","failure_limit":1,"inconclusive_limit":3,
                        "source":"pushed"}},
  "queued":false,"current_step":1,"current_weight":25,
  "step_started_at":"2026-03-01T12:10:00.250Z","paused":false,
  "next_action":{"action":"canary","weight":25,"image":"registry/api:1.4.2","action_id":"r-42/1"},
  "rollback_target_id":"","previous_image":"registry/api:1.4.1","outcome_reason":"",
  "approved_by":"alice","fail_streak":0,"inconclusive_streak":2,"revision":"7",
  "promote_requested":false,"abort_requested":false,"next_analysis_at":"2026-03-01T12:12:00Z",
  "last_analysis_at":"2026-03-01T12:11:00Z"})";

TEST(FormatReleaseDetailsTest, CanaryReleaseShowsProgressNextActionAndPlan) {
  EXPECT_EQ(FormatReleaseDetails(Json::parse(kCanaryRelease)),
            "id: r-42\n"
            "kind: DEPLOY\n"
            "service: api\n"
            "environment: production\n"
            "version: 1.4.2\n"
            "commit_sha: 0123456789abcdef\n"
            "image: registry/api:1.4.2\n"
            "previous_image: registry/api:1.4.1\n"
            "state: CANARY\n"
            "step: 2 of 2 at 25% since 2026-03-01T12:10:00Z\n"
            "paused: false\n"
            "analysis_streak: 0 fail, 2 inconclusive\n"
            "next_analysis: 2026-03-01T12:12:00Z\n"
            "next_action: canary 25% registry/api:1.4.2 (action_id r-42/1)\n"
            "require_approval: true\n"
            "approved_by: alice\n"
            "driver: external\n"
            "canary: 5% for 600s, 25% for 600s\n"
            "analysis: interval=60s max_error_rate=0.05 max_p99_latency_ms=800 min_requests=100 "
            "failure_limit=1 inconclusive_limit=3 source=pushed\n"
            "created_by: ci-bot\n"
            "created_at: 2026-03-01T12:00:00Z\n"
            "updated_at: 2026-03-01T12:11:00Z\n"
            "trace_id: 4bf92f3577b34da6a3ce929d0e0e4736\n");
}

TEST(FormatReleaseDetailsTest, PausedCanarySaysWhatAHumanMustDo) {
  Json release = Json::parse(kCanaryRelease);
  release["paused"] = true;
  EXPECT_NE(FormatReleaseDetails(release).find(
                "paused: true (the analysis hit its inconclusive limit: promote or abort)\n"),
            std::string::npos);
}

TEST(FormatReleaseDetailsTest, EndedReleaseShowsWhyAndDropsCanaryProgress) {
  Json release = Json::parse(kCanaryRelease);
  release["state"] = "ROLLED_BACK";
  release["outcome_reason"] = "analysis FAIL: error rate 0.080 > 0.050";
  release["finished_at"] = "2026-03-01T12:12:00Z";
  release["next_action"] = {{"action", "rollback"},
                            {"weight", 0},
                            {"image", "registry/api:1.4.1"},
                            {"action_id", "r-42/rb"}};
  const std::string out = FormatReleaseDetails(release);
  EXPECT_NE(out.find("state: ROLLED_BACK\n"), std::string::npos) << out;
  EXPECT_NE(out.find("outcome_reason: analysis FAIL: error rate 0.080 > 0.050\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("next_action: rollback registry/api:1.4.1 (action_id r-42/rb)\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("finished_at: 2026-03-01T12:12:00Z\n"), std::string::npos) << out;
  for (const char* gone : {"step:", "paused:", "analysis_streak:", "current_step", "fail_streak",
                           "rollback_target_id", "queued"}) {
    EXPECT_EQ(out.find(gone), std::string::npos) << gone << " in\n" << out;
  }
}

TEST(FormatReleaseDetailsTest, VerifyingShowsItsDeadlineAndPendingRequests) {
  Json release = Json::parse(kCanaryRelease);
  release["state"] = "VERIFYING";
  release["verify_deadline"] = "2026-03-01T12:30:00.5Z";
  release["abort_requested"] = true;
  const std::string out = FormatReleaseDetails(release);
  EXPECT_NE(out.find("state: VERIFYING\nverify_deadline: 2026-03-01T12:30:00Z\n"
                     "abort_requested: true\n"),
            std::string::npos)
      << out;
  for (const char* gone : {"next_analysis", "promote_requested", "revision"}) {
    EXPECT_EQ(out.find(gone), std::string::npos) << gone << " in\n" << out;
  }
}

TEST(FormatReleaseDetailsTest, NoActionAndQueued) {
  Json release = Json::parse(kCanaryRelease);
  release["state"] = "PENDING";
  release["queued"] = true;
  release["next_action"] = {{"action", "none"}, {"weight", 0}, {"image", ""}, {"action_id", ""}};
  const std::string out = FormatReleaseDetails(release);
  EXPECT_NE(out.find("next_action: none\n"), std::string::npos) << out;
  EXPECT_NE(out.find("queued: true (waiting for the release in flight)\n"), std::string::npos)
      << out;
}

const char* kEvent = R"({"id":"12","release_id":"r-42","at":"2026-03-01T12:05:00.123Z",
  "type":"ANALYSIS","actor":"flightdeck","message":"FAIL: error rate 0.080 > 0.050",
  "data":{"verdict":"FAIL","error_rate":0.08},"trace_id":"abc"})";

TEST(FormatEventLineTest, TimeTypeActorMessage) {
  EXPECT_EQ(FormatEventLine(Json::parse(kEvent)),
            "2026-03-01T12:05:00Z  ANALYSIS       flightdeck  FAIL: error rate 0.080 > 0.050\n");
}

TEST(FormatEventLineTest, DataStandsInForAMissingMessageAndOutputStaysOnOneLine) {
  Json event = Json::parse(kEvent);
  event["message"] = "";
  EXPECT_EQ(FormatEventLine(event),
            "2026-03-01T12:05:00Z  ANALYSIS       flightdeck  {\"verdict\":\"FAIL\","
            "\"error_rate\":0.08}\n");
  event["type"] = "DRIVER";
  event["actor"] = "";
  event["message"] = "kubectl said:\nline 2\n";
  EXPECT_EQ(FormatEventLine(event),
            "2026-03-01T12:05:00Z  DRIVER         -           kubectl said: line 2\n");
}

// A reason as the health service writes it when a smoke suite fails.
const char* kLongReason =
    "smoke suite checkout-smoke FAILED: GET /v1/cart answered 503 after 2.1s (want 200), "
    "POST /v1/orders answered 500 (want 201)";

TEST(FormatEventLineTest, ALongMessageIsWholeAndWrapsUnderItsColumnOnATerminal) {
  Json event = Json::parse(kEvent);
  event["type"] = "STATE_CHANGED";
  event["message"] = std::string("VERIFYING -> ROLLING_BACK: ") + kLongReason;
  EXPECT_EQ(FormatEventLine(event),
            "2026-03-01T12:05:00Z  STATE_CHANGED  flightdeck  VERIFYING -> ROLLING_BACK: " +
                std::string(kLongReason) + "\n");
  EXPECT_EQ(FormatEventLine(event, 100),
            "2026-03-01T12:05:00Z  STATE_CHANGED  flightdeck  VERIFYING -> ROLLING_BACK: smoke suite\n"
            "                                                 checkout-smoke FAILED: GET /v1/cart answered 503\n"
            "                                                 after 2.1s (want 200), POST /v1/orders answered 500\n"
            "                                                 (want 201)\n");
  // Too narrow for a column beside the prefix: the text wraps under a short indent.
  EXPECT_EQ(FormatEventLine(event, 60),
            "2026-03-01T12:05:00Z  STATE_CHANGED  flightdeck  VERIFYING\n"
            "    -> ROLLING_BACK: smoke suite checkout-smoke FAILED: GET\n"
            "    /v1/cart answered 503 after 2.1s (want 200), POST\n"
            "    /v1/orders answered 500 (want 201)\n");
}

TEST(WrapTextTest, WordsLongerThanALineAreSplitAndUtf8IsCountedByCharacter) {
  EXPECT_EQ(WrapText("data: ", "{\"a\":\"0123456789012345678901234567890123456789\"}", "  ", 20),
            "data: {\"a\":\"01234567\n"
            "  890123456789012345\n"
            "  67890123456789\"}\n");
  // Nine characters of two bytes each fit in ten columns.
  EXPECT_EQ(WrapText("", "ééééééééé", "", 10), "ééééééééé\n");
  EXPECT_EQ(WrapText("> ", "short", "  ", 0), "> short\n");
}

TEST(FormatReleaseDetailsTest, ALongReasonWrapsUnderItsValue) {
  Json release = Json::parse(kCanaryRelease);
  release["state"] = "ROLLED_BACK";
  release["outcome_reason"] = kLongReason;
  EXPECT_NE(FormatReleaseDetails(release, 80)
                .find("outcome_reason: smoke suite checkout-smoke FAILED: GET /v1/cart answered 503\n"
                      "                after 2.1s (want 200), POST /v1/orders answered 500 (want 201)\n"),
            std::string::npos)
      << FormatReleaseDetails(release, 80);
  EXPECT_NE(FormatReleaseDetails(release).find("outcome_reason: " + std::string(kLongReason) + "\n"),
            std::string::npos);
}

TEST(FormatEventsSectionTest, AllShortTimelineOrTheLastFewWithAHint) {
  const Json events = Json::array({Json::parse(kEvent), Json::parse(kEvent)});
  const std::string line = "  " + FormatEventLine(Json::parse(kEvent));
  EXPECT_EQ(FormatEventsSection(Json::array(), "r-42", 0), "events: none\n");
  EXPECT_EQ(FormatEventsSection(events, "r-42", 2), "events:\n" + line + line);
  EXPECT_EQ(FormatEventsSection(events, "r-42", 25),
            "events (last 2 of 25; all: fdctl release events r-42):\n" + line + line);
  EXPECT_EQ(FormatEventsSection(events, "r-42", -1),
            "events (last 2; all: fdctl release events r-42):\n" + line + line);
}

TEST(FormatServiceEnvironmentTest, CurrentAndInFlight) {
  Json se = {{"service", "api"}, {"environment", "production"}, {"queued", 1}};
  se["current"] = Json::parse(R"({"id":"r-40","version":"1.4.1","commit_sha":"fedcba9876543210",
    "state":"SUCCEEDED","current_weight":100,"updated_at":"2026-02-28T09:00:00.5Z"})");
  se["in_flight"] = Json::parse(kCanaryRelease);
  EXPECT_EQ(FormatServiceEnvironment(se),
            "service: api\n"
            "environment: production\n"
            "\n"
            "ROLE       ID    VERSION  COMMIT        STATE      WEIGHT  UPDATED\n"
            "current    r-40  1.4.1    fedcba987654  SUCCEEDED  -       2026-02-28T09:00:00Z\n"
            "in flight  r-42  1.4.2    0123456789ab  CANARY     25%     2026-03-01T12:11:00Z\n"
            "\n"
            "queued: 1\n");
}

TEST(FormatServiceEnvironmentTest, NothingDeployedYet) {
  const Json se =
      Json::parse(R"({"service":"api","environment":"staging","current":null,"queued":0})");
  EXPECT_EQ(FormatServiceEnvironment(se),
            "service: api\n"
            "environment: staging\n"
            "\n"
            "ROLE       ID  VERSION  COMMIT  STATE  WEIGHT  UPDATED\n"
            "current    -   -        -       -      -       -\n"
            "in flight  -   -        -       -      -       -\n"
            "\n"
            "queued: 0\n");
}

}  // namespace
}  // namespace flightdeck::cli
