#include "cli/args.h"

#include <gtest/gtest.h>

namespace flightdeck::cli {
namespace {

const std::vector<FlagSpec> kKnown = {
    {"url", "URL", ""}, {"json", "", ""}, {"help", "", ""}, {"service", "S", ""}, {"env", "E", ""}};

ParsedArgs MustParse(const std::vector<std::string>& argv) {
  std::string error;
  std::optional<ParsedArgs> parsed = ParseArgs(argv, kKnown, &error);
  EXPECT_TRUE(parsed.has_value()) << error;
  return parsed.value_or(ParsedArgs{});
}

std::string ParseError(const std::vector<std::string>& argv) {
  std::string error;
  EXPECT_FALSE(ParseArgs(argv, kKnown, &error).has_value());
  return error;
}

TEST(ParseArgsTest, FlagsMayComeBeforeBetweenAndAfterCommandWords) {
  ParsedArgs a = MustParse({"--json", "release", "--service", "api", "list", "--env=staging"});
  EXPECT_EQ(a.positionals, (std::vector<std::string>{"release", "list"}));
  EXPECT_EQ(a.Get("service"), "api");
  EXPECT_EQ(a.Get("env"), "staging");
  EXPECT_TRUE(a.Has("json"));
  EXPECT_FALSE(a.Has("url"));
}

TEST(ParseArgsTest, EqualsFormKeepsEverythingAfterTheFirstEquals) {
  ParsedArgs a = MustParse({"--url=http://h/?a=b", "--service="});
  EXPECT_EQ(a.Get("url"), "http://h/?a=b");
  EXPECT_EQ(a.Get("service"), "");
}

TEST(ParseArgsTest, LastOccurrenceWins) {
  EXPECT_EQ(MustParse({"--env", "staging", "--env", "production"}).Get("env"), "production");
}

TEST(ParseArgsTest, GetAllKeepsEveryValueInOrder) {
  ParsedArgs a = MustParse({"--env", "a", "--service=x", "--env=b", "--json", "--env", "c"});
  EXPECT_EQ(a.GetAll("env"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(a.GetAll("json"), (std::vector<std::string>{"true"}));
  EXPECT_TRUE(a.GetAll("url").empty());
  EXPECT_EQ(a.Get("env"), "c");
}

TEST(ParseArgsTest, DoubleDashEndsFlagsAndDashHMeansHelp) {
  ParsedArgs a = MustParse({"-h", "release", "get", "--", "--weird-id"});
  EXPECT_TRUE(a.Has("help"));
  EXPECT_EQ(a.positionals, (std::vector<std::string>{"release", "get", "--weird-id"}));
}

TEST(ParseArgsTest, LoneDashIsAnOperandAndMayBeAValue) {
  ParsedArgs a = MustParse({"get", "-", "--url", "-"});
  EXPECT_EQ(a.positionals, (std::vector<std::string>{"get", "-"}));
  EXPECT_EQ(a.Get("url"), "-");
}

TEST(ParseArgsTest, ErrorsNameTheFlag) {
  EXPECT_NE(ParseError({"release", "--colour", "red"}).find("--colour"), std::string::npos);
  EXPECT_NE(ParseError({"release", "-x"}).find("-x"), std::string::npos);
  EXPECT_NE(ParseError({"--json=yes"}).find("--json takes no value"), std::string::npos);
  EXPECT_NE(ParseError({"release", "list", "--service"}).find("--service needs a value"),
            std::string::npos);
  // A forgotten value is not silently filled with the next flag.
  EXPECT_NE(ParseError({"--service", "--env", "prod"}).find("--service needs a value"),
            std::string::npos);
}

TEST(ParseArgsTest, EnvironmentIsEnvUnderItsOtherName) {
  ParsedArgs a = MustParse({"--environment", "production"});
  EXPECT_EQ(a.Get("env"), "production");
  EXPECT_EQ(a.Get("environment"), "production");
  EXPECT_TRUE(a.Has("environment"));
  ParsedArgs b = MustParse({"--env=staging", "--environment", "production"});
  EXPECT_EQ(b.GetAll("environment"), (std::vector<std::string>{"staging", "production"}));
  EXPECT_EQ(FlagNames("env"), (std::vector<std::string>{"env", "environment"}));
  EXPECT_EQ(FlagNames("environment"), (std::vector<std::string>{"environment", "env"}));
}

TEST(ParseArgsTest, AnUnknownFlagNearAKnownOneSaysDidYouMean) {
  EXPECT_NE(ParseError({"--servce", "api"}).find("unknown flag --servce (did you mean --service?)"),
            std::string::npos);
  EXPECT_EQ(ParseError({"--frobnicate"}), "unknown flag --frobnicate");
}

}  // namespace
}  // namespace flightdeck::cli
