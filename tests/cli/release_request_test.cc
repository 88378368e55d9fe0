#include "cli/release_request.h"

#include <gtest/gtest.h>

namespace flightdeck::cli {
namespace {

ParsedArgs Args(const std::vector<std::pair<std::string, std::string>>& flags) {
  ParsedArgs args;
  for (const auto& [name, value] : flags) args.Set(name, value);
  return args;
}

const std::vector<std::pair<std::string, std::string>> kRequired = {
    {"service", "checkout"}, {"env", "production"}, {"version", "v2.4.0"}, {"commit", "9fceb02d"}};

ParsedArgs CreateArgs(std::vector<std::pair<std::string, std::string>> extra) {
  std::vector<std::pair<std::string, std::string>> flags = kRequired;
  flags.insert(flags.end(), extra.begin(), extra.end());
  return Args(flags);
}

std::string CreateError(std::vector<std::pair<std::string, std::string>> extra) {
  std::string error;
  EXPECT_FALSE(CreateReleaseBody(CreateArgs(std::move(extra)), &error).has_value());
  return error;
}

TEST(ParseDurationTest, UnitsAndCombinationsBecomeProtoJsonSeconds) {
  const std::vector<std::pair<std::string, std::string>> good = {{"600s", "600s"},
                                                                 {"10m", "600s"},
                                                                 {"1h30m", "5400s"},
                                                                 {"1.5s", "1.500s"},
                                                                 {"250ms", "0.250s"},
                                                                 {"0", "0s"},
                                                                 {"0s", "0s"},
                                                                 {"1m0.000001s", "60.000001s"},
                                                                 {"2h", "7200s"},
                                                                 {"1.5m", "90s"},
                                                                 {"0.000000001s", "0.000000001s"}};
  for (const auto& [in, want] : good) EXPECT_EQ(ParseDuration(in), want) << in;
  for (const char* bad : {"", "600", "10x", "-5s", "s", "1.s", ".5", "1h 30m", "5m-", "1e3s",
                          "99999999999999999h", "0.0000000001s"}) {
    EXPECT_EQ(ParseDuration(bad), std::nullopt) << bad;
  }
}

TEST(ParseNumbersTest, CountsAndNonNegativeNumbers) {
  EXPECT_EQ(ParseCount("0"), 0);
  EXPECT_EQ(ParseCount("1000"), 1000);
  EXPECT_EQ(ParseCount("100", 100), 100);
  EXPECT_EQ(ParseCount("101", 100), std::nullopt);
  for (const char* bad : {"", "-1", "1.5", "1e3", " 1", "0x10", "9999999999999999999"}) {
    EXPECT_EQ(ParseCount(bad), std::nullopt) << bad;
  }
  EXPECT_EQ(ParseNonNegativeNumber("0.05"), 0.05);
  EXPECT_EQ(ParseNonNegativeNumber("800"), 800);
  EXPECT_EQ(ParseNonNegativeNumber("1e3"), 1000);
  for (const char* bad : {"", "-0.1", "nan", "inf", "1e999", "0.05x", "5%"}) {
    EXPECT_EQ(ParseNonNegativeNumber(bad), std::nullopt) << bad;
  }
}

TEST(ParseReleaseStateTest, AnyCaseAndDashesButOnlyRealStates) {
  EXPECT_EQ(ParseReleaseState("canary"), "CANARY");
  EXPECT_EQ(ParseReleaseState("rolled-back"), "ROLLED_BACK");
  EXPECT_EQ(ParseReleaseState("AWAITING_APPROVAL"), "AWAITING_APPROVAL");
  EXPECT_EQ(ParseReleaseState("running"), std::nullopt);
  EXPECT_EQ(ParseReleaseState(""), std::nullopt);
  EXPECT_TRUE(IsTerminalState("SUCCEEDED"));
  EXPECT_TRUE(IsTerminalState("ROLLED_BACK"));
  EXPECT_TRUE(IsTerminalState("ABORTED"));
  EXPECT_TRUE(IsTerminalState("FAILED"));
  EXPECT_FALSE(IsTerminalState("ROLLING_BACK"));
  EXPECT_FALSE(IsTerminalState("CANARY"));
}

TEST(CreateReleaseBodyTest, OnlyTheRequiredFieldsWhenNothingElseIsGiven) {
  std::string error;
  const std::optional<Json> body = CreateReleaseBody(CreateArgs({}), &error);
  ASSERT_TRUE(body) << error;
  EXPECT_EQ(*body, Json::parse(R"({"service":"checkout","environment":"production",
    "version":"v2.4.0","commit_sha":"9fceb02d"})"));
}

TEST(CreateReleaseBodyTest, EveryOptionGivesTheIssuesExampleBody) {
  std::string error;
  const std::optional<Json> body =
      CreateReleaseBody(CreateArgs({{"image", "registry.example/checkout:9fceb02d"},
                                    {"require-approval", "true"},
                                    {"driver", "external"},
                                    {"step", "5:10m"},
                                    {"step", "25:600s"},
                                    {"step", "100:0"},
                                    {"interval", "1m"},
                                    {"max-error-rate", "5%"},
                                    {"max-p99-ms", "800"},
                                    {"min-requests", "100"},
                                    {"failure-limit", "1"},
                                    {"inconclusive-limit", "3"},
                                    {"queue", "true"}}),
                        &error);
  ASSERT_TRUE(body) << error;
  EXPECT_EQ(*body, Json::parse(R"({"service":"checkout","environment":"production",
    "version":"v2.4.0","commit_sha":"9fceb02d","image":"registry.example/checkout:9fceb02d",
    "require_approval":true,"driver":{"kind":"external"},
    "canary":{"steps":[{"weight":5,"duration":"600s"},{"weight":25,"duration":"600s"},
                       {"weight":100,"duration":"0s"}],
              "analysis":{"interval":"60s","max_error_rate":0.05,"max_p99_latency_ms":800.0,
                          "min_requests":100,"failure_limit":1,"inconclusive_limit":3}},
    "queue":true})"));
}

TEST(CreateReleaseBodyTest, HealthTargetAndSmokeSuite) {
  std::string error;
  const std::optional<Json> body = CreateReleaseBody(
      CreateArgs({{"health-target", "checkout-canary"}, {"smoke-suite", "checkout-smoke"}}), &error);
  ASSERT_TRUE(body) << error;
  EXPECT_EQ((*body)["canary"], Json::parse(R"({"analysis":{"source":"health",
    "health":{"target":"checkout-canary"}}})"));
  EXPECT_EQ((*body)["smoke_suite"], "checkout-smoke");
}

TEST(CreateReleaseBodyTest, NoApprovalAndAnalysisWithoutSteps) {
  std::string error;
  const std::optional<Json> body =
      CreateReleaseBody(CreateArgs({{"no-approval", "true"}, {"max-error-rate", "0.1"}}), &error);
  ASSERT_TRUE(body) << error;
  EXPECT_EQ((*body)["require_approval"], false);
  EXPECT_EQ((*body)["canary"], Json::parse(R"({"analysis":{"max_error_rate":0.1}})"));
}

TEST(CreateReleaseBodyTest, BadValuesNameTheFlag) {
  EXPECT_NE(CreateError({{"require-approval", "true"}, {"no-approval", "true"}})
                .find("--require-approval and --no-approval"),
            std::string::npos);
  EXPECT_NE(CreateError({{"driver", "kubernetes"}}).find("--driver must be external or command"),
            std::string::npos);
  for (const char* step : {"5", "0:10m", "101:10m", "5:10", "5:", ":10m", "five:10m", "5:10m:1"}) {
    EXPECT_NE(CreateError({{"step", step}}).find(std::string("--step '") + step + "'"),
              std::string::npos)
        << step;
  }
  EXPECT_NE(CreateError({{"interval", "0s"}}).find("--interval"), std::string::npos);
  EXPECT_NE(CreateError({{"max-error-rate", "1.5"}}).find("--max-error-rate"), std::string::npos);
  EXPECT_NE(CreateError({{"max-error-rate", "150%"}}).find("--max-error-rate"), std::string::npos);
  EXPECT_NE(CreateError({{"max-p99-ms", "0"}}).find("--max-p99-ms"), std::string::npos);
  EXPECT_NE(CreateError({{"min-requests", "-1"}}).find("--min-requests"), std::string::npos);
  EXPECT_NE(CreateError({{"failure-limit", "0"}}).find("--failure-limit"), std::string::npos);
  EXPECT_NE(CreateError({{"inconclusive-limit", "x"}}).find("--inconclusive-limit"),
            std::string::npos);
}

TEST(ObservationsBodyTest, NumbersAndWindow) {
  std::string error;
  const std::optional<Json> body = ObservationsBody(
      Args({{"requests", "1000"}, {"errors", "80"}, {"p99-ms", "420"}, {"window", "1m"}}), &error);
  ASSERT_TRUE(body) << error;
  EXPECT_EQ(*body,
            Json::parse(R"({"requests":1000,"errors":80,"p99_latency_ms":420.0,"window":"60s"})"));
  const std::optional<Json> minimal =
      ObservationsBody(Args({{"requests", "0"}, {"errors", "0"}}), &error);
  ASSERT_TRUE(minimal) << error;
  EXPECT_EQ(*minimal, Json::parse(R"({"requests":0,"errors":0})"));
}

TEST(ObservationsBodyTest, MoreErrorsThanRequestsIsRefused) {
  std::string error;
  EXPECT_FALSE(ObservationsBody(Args({{"requests", "10"}, {"errors", "11"}}), &error));
  EXPECT_EQ(error, "--errors (11) cannot exceed --requests (10)");
  EXPECT_FALSE(ObservationsBody(Args({{"requests", "ten"}, {"errors", "1"}}), &error));
  EXPECT_NE(error.find("--requests"), std::string::npos);
  EXPECT_FALSE(
      ObservationsBody(Args({{"requests", "10"}, {"errors", "1"}, {"window", "60"}}), &error));
  EXPECT_NE(error.find("--window"), std::string::npos);
}

TEST(VerificationBodyTest, ExactlyOneOutcome) {
  std::string error;
  EXPECT_EQ(VerificationBody(Args({{"passed", "true"}, {"details", "smoke ok"}}), &error),
            Json::parse(R"({"passed":true,"details":"smoke ok"})"));
  EXPECT_EQ(VerificationBody(Args({{"failed", "true"}}), &error),
            Json::parse(R"({"passed":false})"));
  EXPECT_FALSE(VerificationBody(Args({}), &error));
  EXPECT_EQ(error, "give exactly one of --passed or --failed");
  EXPECT_FALSE(VerificationBody(Args({{"passed", "true"}, {"failed", "true"}}), &error));
}

}  // namespace
}  // namespace flightdeck::cli
