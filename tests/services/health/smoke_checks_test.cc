// Unit tests of smoke checks: what a valid check is, JSON paths, grouping, and the verdict on
// one answer.
#include <gtest/gtest.h>

#include "services/health/smoke/access.h"
#include "services/health/smoke/checks.h"

namespace flightdeck::health::smoke {
namespace {

using Checks = google::protobuf::RepeatedPtrField<v1::SmokeCheck>;

v1::SmokeCheck Check(const std::string& name, const std::string& url) {
  v1::SmokeCheck c;
  c.set_name(name);
  c.set_url(url);
  return c;
}

std::string Validate(const std::string& base_url, std::vector<v1::SmokeCheck> list) {
  Checks checks;
  for (auto& c : list) *checks.Add() = c;
  grpc::Status s = NormalizeChecks(base_url, &checks);
  return s.ok() ? "" : s.error_message();
}

TEST(SmokeJsonPathTest, AcceptsDollarAndBareFormsAndRejectsBadSyntaxSayingWhere) {
  std::vector<PathStep> steps;
  ASSERT_TRUE(ParseJsonPath("$.data.items[0].state", &steps).ok());
  ASSERT_EQ(steps.size(), 4u);
  EXPECT_EQ(std::get<std::string>(steps[1]), "items");
  EXPECT_EQ(std::get<size_t>(steps[2]), 0u);
  ASSERT_TRUE(ParseJsonPath("data.items[0].state", &steps).ok());
  EXPECT_EQ(steps.size(), 4u);
  ASSERT_TRUE(ParseJsonPath("$", &steps).ok());
  EXPECT_TRUE(steps.empty());
  ASSERT_TRUE(ParseJsonPath("$[1][2]", &steps).ok());
  EXPECT_EQ(steps.size(), 2u);

  for (const char* bad : {"", "$.", "a..b", "a.", "a[x]", "a[0", "a[0]b", "$a", "a]", ".a"}) {
    EXPECT_FALSE(ParseJsonPath(bad, &steps).ok()) << bad;
  }
  EXPECT_EQ(ParseJsonPath("a..b", &steps).error_message(), "empty member name at position 2 in \"a..b\"");
}

TEST(SmokeJsonPathTest, ComparesStringsAsStringsAndOthersAsCompactJson) {
  const nlohmann::json doc = nlohmann::json::parse(
      R"({"status":"up","count":3,"ok":true,"data":{"items":[{"state":"ready"}]},"none":null,"obj":{"a":1}})");
  EXPECT_EQ(CheckJsonPath(doc, "$.status", "up"), "");
  EXPECT_EQ(CheckJsonPath(doc, "count", "3"), "");
  EXPECT_EQ(CheckJsonPath(doc, "$.ok", "true"), "");
  EXPECT_EQ(CheckJsonPath(doc, "$.none", "null"), "");
  EXPECT_EQ(CheckJsonPath(doc, "$.obj", "{\"a\":1}"), "");
  EXPECT_EQ(CheckJsonPath(doc, "data.items[0].state", "ready"), "");
  EXPECT_EQ(CheckJsonPath(doc, "$.status", "down"), "json path $.status: got \"up\", want \"down\"");
  EXPECT_EQ(CheckJsonPath(doc, "$.count", "4"), "json path $.count: got 3, want 4");
  EXPECT_EQ(CheckJsonPath(doc, "$.a.b", "x"), "json path $.a.b: not found");
  EXPECT_EQ(CheckJsonPath(doc, "data.items[1].state", "x"), "json path $.data.items[1].state: not found");
  EXPECT_EQ(CheckJsonPath(doc, "$.status[0]", "u"), "json path $.status[0]: not found");
}

TEST(SmokeValidationTest, ListsEveryProblemOfEveryCheckAtOnce) {
  v1::SmokeCheck method = Check("", "http://x/");
  method.set_method("trace");
  method.set_timeout_ms(-5);
  EXPECT_EQ(Validate("ftp://base", {Check("a", "/relative"), method, Check("c", "")}),
            "base_url: scheme must be http or https; checks[1].name: is required; checks[1].method: unknown "
            "value \"trace\" (one of GET, HEAD, POST, PUT, PATCH, DELETE); checks[1].timeout_ms: must be "
            "between 1 and 60000; checks[2].url: is required");
}

TEST(SmokeValidationTest, NamesTheFieldOfEachBadCheck) {
  EXPECT_EQ(Validate("", {}), "checks: at least one check is required");
  EXPECT_EQ(Validate("", {Check("a", "http://x/ok"), Check("b", "http://x/ok"), Check("c", "")}),
            "checks[2].url: is required");
  EXPECT_EQ(Validate("", {Check("a", "/health")}),
            "checks[0].url: \"/health\" is relative and the run has no base_url");
  EXPECT_EQ(Validate("", {Check("a", "ftp://x/file")}), "checks[0].url: scheme must be http or https");
  EXPECT_EQ(Validate("", {Check("a", "http:///nohost")}), "checks[0].url: has no host");
  EXPECT_EQ(Validate("", {Check("", "http://x/")}), "checks[0].name: is required");
  EXPECT_EQ(Validate("ftp://base", {Check("a", "/x")}), "base_url: scheme must be http or https");

  v1::SmokeCheck method = Check("m", "http://x/");
  method.set_method("TRACE");
  EXPECT_EQ(Validate("", {method}),
            "checks[0].method: unknown value \"TRACE\" (one of GET, HEAD, POST, PUT, PATCH, DELETE)");
  v1::SmokeCheck status = Check("s", "http://x/");
  status.set_expect_status(700);
  EXPECT_EQ(Validate("", {status}), "checks[0].expect_status: must be an HTTP status between 100 and 599");
  v1::SmokeCheck path = Check("p", "http://x/");
  (*path.mutable_json_path_equals())["$.a..b"] = "1";
  EXPECT_EQ(Validate("", {path}),
            "checks[0].json_path_equals[\"$.a..b\"]: empty member name at position 4 in \"$.a..b\"");
  v1::SmokeCheck head = Check("h", "http://x/");
  head.set_method("head");
  head.set_body_contains("ok");
  EXPECT_EQ(Validate("", {head}), "checks[0].body_contains: a HEAD answer has no body to check");
  v1::SmokeCheck timeout = Check("t", "http://x/");
  timeout.set_timeout_ms(600000);
  EXPECT_EQ(Validate("", {timeout}), "checks[0].timeout_ms: must be between 1 and 60000");
  v1::SmokeCheck header = Check("hd", "http://x/");
  (*header.mutable_headers())["X-Bad\nName"] = "v";
  EXPECT_EQ(Validate("", {header}), "checks[0].headers[\"X-Bad\nName\"]: not a valid header name");
}

TEST(SmokeValidationTest, FillsDefaults) {
  Checks checks;
  v1::SmokeCheck c = Check("a", "/health");
  c.set_method("post");
  *checks.Add() = c;
  ASSERT_TRUE(NormalizeChecks("https://api.example.com/", &checks).ok());
  EXPECT_EQ(checks[0].method(), "POST");
  EXPECT_EQ(checks[0].expect_status(), 200);
  EXPECT_EQ(checks[0].timeout_ms(), kDefaultTimeoutMs);
}

TEST(SmokeUrlTest, JoinsRelativeUrlsWithOneSlash) {
  EXPECT_EQ(JoinUrl("http://h:1/", "/a"), "http://h:1/a");
  EXPECT_EQ(JoinUrl("http://h:1/api", "v1/x"), "http://h:1/api/v1/x");
  EXPECT_EQ(JoinUrl("http://h:1", "https://other/x"), "https://other/x");
}

TEST(SmokeGroupsTest, AdjacentConcurrentChecksRunTogether) {
  Checks checks;
  for (bool concurrent : {false, true, true, true, false, true, false, true}) {
    v1::SmokeCheck* c = checks.Add();
    c->set_concurrent(concurrent);
  }
  const std::vector<std::pair<int, int>> want = {{0, 1}, {1, 4}, {4, 5}, {5, 6}, {6, 7}, {7, 8}};
  EXPECT_EQ(Groups(checks), want);
}

TEST(SmokeSecretsTest, CredentialHeadersAreRedactedInAnswers) {
  EXPECT_TRUE(IsSecretHeader("Authorization"));
  EXPECT_TRUE(IsSecretHeader("X-Api-Key"));
  EXPECT_TRUE(IsSecretHeader("X-Auth-Token"));
  EXPECT_TRUE(IsSecretHeader("client_secret"));
  EXPECT_FALSE(IsSecretHeader("Accept"));
  Checks checks;
  v1::SmokeCheck* c = checks.Add();
  (*c->mutable_headers())["Authorization"] = "Bearer abc";
  (*c->mutable_headers())["Accept"] = "application/json";
  RedactHeaders(&checks);
  EXPECT_EQ(c->headers().at("Authorization"), "***");
  EXPECT_EQ(c->headers().at("Accept"), "application/json");
}

TEST(SmokeVerdictTest, ReportsTheFirstUnmetExpectationInOrder) {
  v1::SmokeCheck c = Check("a", "http://x/");
  c.set_expect_status(200);
  c.set_max_latency_ms(100);
  c.set_body_contains("ready");
  (*c.mutable_json_path_equals())["$.b"] = "2";
  (*c.mutable_json_path_equals())["$.a"] = "1";

  HttpOutcome o;
  o.transport_error = "Failed to connect to 127.0.0.1 port 1: Connection refused";
  EXPECT_EQ(FirstUnmetExpectation(c, o), o.transport_error);
  o.reached = true;
  o.status = 503;
  o.latency_ms = 250;
  EXPECT_EQ(FirstUnmetExpectation(c, o), "status 503, want 200");
  o.status = 200;
  EXPECT_EQ(FirstUnmetExpectation(c, o), "latency 250 ms over the limit of 100 ms");
  o.latency_ms = 20;
  o.body = R"({"a":5,"b":7})";
  EXPECT_EQ(FirstUnmetExpectation(c, o), "body does not contain \"ready\"");
  o.body = R"({"a":5,"b":7,"s":"ready"})";
  EXPECT_EQ(FirstUnmetExpectation(c, o), "json path $.a: got 5, want 1");
  o.body = "ready but not json";
  EXPECT_EQ(FirstUnmetExpectation(c, o), "json path $.a: the body is not JSON");
  o.body = R"({"a":1,"b":2,"s":"ready"})";
  EXPECT_EQ(FirstUnmetExpectation(c, o), "");
}

TEST(SmokeAccess, BodyExcerptsAreForOperatorsAndAdminsOnly) {
  EXPECT_FALSE(MayReadBodyExcerpts("VIEWER"));
  EXPECT_FALSE(MayReadBodyExcerpts("DEPLOYER"));
  EXPECT_FALSE(MayReadBodyExcerpts("INGEST"));
  EXPECT_TRUE(MayReadBodyExcerpts("OPERATOR"));
  EXPECT_TRUE(MayReadBodyExcerpts("ADMIN"));
  EXPECT_TRUE(MayReadBodyExcerpts(""));  // another service, not a user behind the gateway
}

TEST(SmokeAccess, OnlyAnAdminMovesASuiteWithSecretHeadersToAnotherBaseUrl) {
  v1::SmokeSuite suite;
  suite.set_base_url("https://shop.example");
  v1::SmokeCheck* check = suite.add_checks();
  check->set_url("/status");
  (*check->mutable_headers())["Accept"] = "application/json";
  EXPECT_TRUE(MayOverrideBaseUrl(suite, "http://127.0.0.1:9101", "OPERATOR"));  // nothing secret
  (*check->mutable_headers())["Authorization"] = "Bearer s3cret";
  EXPECT_FALSE(MayOverrideBaseUrl(suite, "http://127.0.0.1:9101", "OPERATOR"));
  EXPECT_FALSE(MayOverrideBaseUrl(suite, "http://attacker.example", "DEPLOYER"));
  EXPECT_FALSE(MayOverrideBaseUrl(suite, "http://attacker.example", ""));
  EXPECT_TRUE(MayOverrideBaseUrl(suite, "http://staging.shop.example", "ADMIN"));
  EXPECT_TRUE(MayOverrideBaseUrl(suite, "", "VIEWER"));                      // its own base
  EXPECT_TRUE(MayOverrideBaseUrl(suite, "https://shop.example", "OPERATOR"));  // the same base
}

}  // namespace
}  // namespace flightdeck::health::smoke
