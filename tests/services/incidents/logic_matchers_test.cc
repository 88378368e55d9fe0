#include <gtest/gtest.h>

#include "services/incidents/fingerprint.h"
#include "services/incidents/matchers.h"

namespace flightdeck::incidents {
namespace {

v1::Matcher M(const std::string& name, const std::string& op, const std::string& value) {
  v1::Matcher m;
  m.set_name(name);
  m.set_op(op);
  m.set_value(value);
  return m;
}

Matcher Parsed(const std::string& name, const std::string& op, const std::string& value) {
  Matcher m;
  grpc::Status s = Matcher::Parse(M(name, op, value), "m", &m);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return m;
}

InhibitRule Rule(std::vector<v1::Matcher> source, std::vector<v1::Matcher> target,
                 std::vector<std::string> equal) {
  v1::InhibitionRule r;
  for (auto& m : source) *r.add_source_matchers() = m;
  for (auto& m : target) *r.add_target_matchers() = m;
  for (auto& e : equal) r.add_equal(e);
  InhibitRule out;
  grpc::Status s = ParseInhibitRule(r, &out);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return out;
}

bool RuleInhibits(const InhibitRule& rule, const Labels& source, const Labels& target) {
  return Inhibits(rule, source, FingerprintHex(source), target, FingerprintHex(target));
}

TEST(MatcherTest, Operators) {
  const Labels labels = {{"service", "api"}, {"env", "prod"}};
  EXPECT_TRUE(Parsed("service", "=", "api").Matches(labels));
  EXPECT_TRUE(Parsed("service", "", "api").Matches(labels));  // default op is =
  EXPECT_FALSE(Parsed("service", "=", "web").Matches(labels));
  EXPECT_TRUE(Parsed("service", "!=", "web").Matches(labels));
  EXPECT_FALSE(Parsed("service", "!=", "api").Matches(labels));
  EXPECT_TRUE(Parsed("service", "=~", "a.i|web").Matches(labels));
  EXPECT_FALSE(Parsed("service", "!~", "a.i|web").Matches(labels));
  EXPECT_TRUE(Parsed("env", "!~", "stag.*").Matches(labels));
}

TEST(MatcherTest, RegexIsFullyAnchored) {
  const Labels labels = {{"service", "api-gateway"}};
  EXPECT_FALSE(Parsed("service", "=~", "api").Matches(labels));
  EXPECT_FALSE(Parsed("service", "=~", "gateway").Matches(labels));
  EXPECT_TRUE(Parsed("service", "=~", "api.*").Matches(labels));
  // Anchoring wraps the whole alternation, not only its ends.
  EXPECT_FALSE(Parsed("service", "=~", "web|api").Matches(labels));
  EXPECT_TRUE(Parsed("service", "!~", "web|api").Matches(labels));
}

TEST(MatcherTest, RegexesAreRe2SyntaxLikeAlertmanagers) {
  const Labels labels = {{"service", "Checkout-API"}};
  EXPECT_TRUE(Parsed("service", "=~", "(?i)checkout-api").Matches(labels));
  EXPECT_FALSE(Parsed("service", "=~", "checkout-api").Matches(labels));
  EXPECT_TRUE(Parsed("service", "=~", "\\pL+-\\pL+").Matches(labels));
  // Backreferences and lookarounds are not RE2: refused when the matcher is saved.
  Matcher m;
  EXPECT_EQ(Matcher::Parse(M("service", "=~", "(a)\\1"), "m", &m).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Matcher::Parse(M("service", "=~", "a(?=b)"), "m", &m).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST(MatcherTest, APathologicalPatternOnALongValueStillAnswers) {
  // (a+)+$ over many a's and a final b backtracks exponentially in a backtracking engine (and
  // overflows std::regex's stack); RE2 answers in linear time.
  const Labels labels = {{"instance", std::string(100000, 'a') + "b"}};
  EXPECT_FALSE(Parsed("instance", "=~", "(a+)+").Matches(labels));
  EXPECT_TRUE(Parsed("instance", "=~", "(a|aa)+b").Matches(labels));
}

TEST(MatcherTest, MissingLabelEqualsEmpty) {
  const Labels labels = {{"alertname", "X"}};
  EXPECT_TRUE(Parsed("team", "=", "").Matches(labels));
  EXPECT_FALSE(Parsed("team", "!=", "").Matches(labels));
  EXPECT_TRUE(Parsed("team", "=~", ".*").Matches(labels));
  EXPECT_FALSE(Parsed("team", "=~", ".+").Matches(labels));
  EXPECT_TRUE(Parsed("team", "!~", ".+").Matches(labels));
  EXPECT_TRUE(Parsed("team", "!=", "ops").Matches(labels));
}

TEST(MatcherTest, ParseErrorsNameTheField) {
  Matcher m;
  grpc::Status s = Matcher::Parse(M("", "=", "x"), "matchers[2]", &m);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("matchers[2].name"), std::string::npos);
  s = Matcher::Parse(M("a", "==", "x"), "matchers[0]", &m);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("matchers[0].op"), std::string::npos);
  s = Matcher::Parse(M("a", "=~", "(unclosed"), "matchers[1]", &m);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("matchers[1].value"), std::string::npos);

  google::protobuf::RepeatedPtrField<v1::Matcher> list;
  *list.Add() = M("a", "=", "1");
  *list.Add() = M("b", "~", "1");
  Matchers parsed;
  s = ParseMatchers(list, "matchers", &parsed);
  EXPECT_NE(s.error_message().find("matchers[1].op"), std::string::npos);
}

TEST(MatcherTest, EmptyListMatchesEverything) {
  EXPECT_TRUE(MatchesAll({}, {{"a", "b"}}));
  Matchers two = {Parsed("a", "=", "b"), Parsed("c", "=", "d")};
  EXPECT_FALSE(MatchesAll(two, {{"a", "b"}}));
  EXPECT_TRUE(MatchesAll(two, {{"a", "b"}, {"c", "d"}}));
}

TEST(InhibitionTest, DefaultRuleServiceDownSilencesLatencyOfSameService) {
  InhibitRule rule;
  ASSERT_TRUE(ParseInhibitRule(DefaultInhibitionRule(), &rule).ok());
  const Labels down = {{"alertname", "ServiceDown"}, {"service", "api"}, {"environment", "prod"}};
  const Labels slow = {{"alertname", "HighResponseTime"}, {"service", "api"}, {"environment", "prod"}};
  const Labels errors = {{"alertname", "HighErrorRate"}, {"service", "api"}, {"environment", "prod"}};
  const Labels other_service = {{"alertname", "HighResponseTime"}, {"service", "web"},
                                {"environment", "prod"}};
  const Labels other_env = {{"alertname", "HighErrorRate"}, {"service", "api"},
                            {"environment", "staging"}};
  const Labels disk = {{"alertname", "DiskFull"}, {"service", "api"}, {"environment", "prod"}};
  EXPECT_TRUE(RuleInhibits(rule, down, slow));
  EXPECT_TRUE(RuleInhibits(rule, down, errors));
  EXPECT_FALSE(RuleInhibits(rule, down, other_service));
  EXPECT_FALSE(RuleInhibits(rule, down, other_env));
  EXPECT_FALSE(RuleInhibits(rule, down, disk));
  EXPECT_FALSE(RuleInhibits(rule, slow, down));  // direction matters
}

TEST(InhibitionTest, EqualLabelMissingOnBothSidesInhibits) {
  auto rule = Rule({M("alertname", "=", "ServiceDown")}, {M("alertname", "=", "HighResponseTime")},
                   {"service", "cluster"});
  const Labels source = {{"alertname", "ServiceDown"}, {"service", "api"}};
  const Labels target = {{"alertname", "HighResponseTime"}, {"service", "api"}};
  EXPECT_TRUE(RuleInhibits(rule, source, target));
}

TEST(InhibitionTest, EqualLabelMissingOnOneSideDoesNotInhibit) {
  auto rule = Rule({M("alertname", "=", "ServiceDown")}, {M("alertname", "=", "HighResponseTime")},
                   {"service", "cluster"});
  const Labels source = {{"alertname", "ServiceDown"}, {"service", "api"}};
  const Labels target = {{"alertname", "HighResponseTime"}, {"service", "api"}, {"cluster", "eu1"}};
  EXPECT_FALSE(RuleInhibits(rule, source, target));
  EXPECT_FALSE(RuleInhibits(rule, Labels{{"alertname", "ServiceDown"}, {"service", "api"},
                                         {"cluster", "eu1"}},
                            Labels{{"alertname", "HighResponseTime"}, {"service", "api"}}));
  // An empty value on the other side is the same as missing.
  EXPECT_TRUE(RuleInhibits(rule, source,
                           Labels{{"alertname", "HighResponseTime"}, {"service", "api"},
                                  {"cluster", ""}}));
}

TEST(InhibitionTest, SourceMatcherOnMissingLabelWithEmptyValue) {
  // source_matchers: maintenance="" selects sources that have no maintenance label.
  auto rule = Rule({M("alertname", "=", "ServiceDown"), M("maintenance", "=", "")},
                   {M("alertname", "=", "HighErrorRate")}, {"service"});
  const Labels target = {{"alertname", "HighErrorRate"}, {"service", "api"}};
  EXPECT_TRUE(RuleInhibits(rule, {{"alertname", "ServiceDown"}, {"service", "api"}}, target));
  EXPECT_FALSE(RuleInhibits(
      rule, {{"alertname", "ServiceDown"}, {"service", "api"}, {"maintenance", "yes"}}, target));
}

TEST(InhibitionTest, NegativeMatchers) {
  auto rule = Rule({M("alertname", "=", "ClusterDown"), M("env", "!=", "dev")},
                   {M("alertname", "!~", "ClusterDown|Watchdog")}, {"cluster"});
  const Labels source = {{"alertname", "ClusterDown"}, {"env", "prod"}, {"cluster", "eu1"}};
  EXPECT_TRUE(RuleInhibits(rule, source, {{"alertname", "PodCrash"}, {"cluster", "eu1"}}));
  EXPECT_FALSE(RuleInhibits(rule, source, {{"alertname", "Watchdog"}, {"cluster", "eu1"}}));
  EXPECT_FALSE(RuleInhibits(rule, {{"alertname", "ClusterDown"}, {"env", "dev"}, {"cluster", "eu1"}},
                            {{"alertname", "PodCrash"}, {"cluster", "eu1"}}));
}

TEST(InhibitionTest, AnAlertCannotInhibitItself) {
  // The alert matches both sides of this rule; only another alert may inhibit it.
  auto rule = Rule({M("severity", "=", "critical")}, {M("severity", "=~", "critical|warning")},
                   {"service"});
  const Labels a = {{"alertname", "Disk"}, {"severity", "critical"}, {"service", "db"}};
  const Labels b = {{"alertname", "Memory"}, {"severity", "critical"}, {"service", "db"}};
  EXPECT_FALSE(Inhibits(rule, a, FingerprintHex(a), a, FingerprintHex(a)));
  EXPECT_TRUE(Inhibits(rule, b, FingerprintHex(b), a, FingerprintHex(a)));
  // Same fingerprint (e.g. a PagerDuty dedup_key) counts as the same alert whatever the labels.
  EXPECT_FALSE(Inhibits(rule, b, "dedup-1", a, "dedup-1"));
}

TEST(InhibitionTest, RuleValidation) {
  v1::InhibitionRule r;
  InhibitRule out;
  *r.add_target_matchers() = M("alertname", "=", "X");
  EXPECT_EQ(ParseInhibitRule(r, &out).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  *r.add_source_matchers() = M("alertname", "=~", "[");
  grpc::Status s = ParseInhibitRule(r, &out);
  EXPECT_NE(s.error_message().find("source_matchers[0].value"), std::string::npos);
  r.mutable_source_matchers(0)->set_value("Y");
  r.add_equal("");
  s = ParseInhibitRule(r, &out);
  EXPECT_NE(s.error_message().find("equal[0]"), std::string::npos);
}

}  // namespace
}  // namespace flightdeck::incidents
