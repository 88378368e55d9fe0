#include "common/log/log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "common/trace/trace.h"

namespace flightdeck::log {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

json Parse(const std::string& line) {
  EXPECT_EQ(line.find('\n'), std::string::npos) << "a log line must be a single line";
  return json::parse(line);  // throws (fails the test) on invalid JSON
}

TEST(FormatLineTest, HasTheStandardKeysThenFieldsInOrder) {
  Init("flightdeck-releases", "info");
  const std::string line =
      FormatLine("info", "release promoted",
                 {{"release_id", "r-42"}, {"weight", 50}, {"ratio", 0.25}, {"ok", true},
                  {"big", 9007199254740993LL}});
  const json j = Parse(line);
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["msg"], "release promoted");
  EXPECT_EQ(j["service"], "flightdeck-releases");
  EXPECT_EQ(j["release_id"], "r-42");
  EXPECT_EQ(j["weight"], 50);
  EXPECT_EQ(j["ratio"], 0.25);
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["big"].get<long long>(), 9007199254740993LL);
  // Order on the wire: standard keys first, then fields as given.
  std::vector<std::string> keys;
  const std::regex key_re("\"([a-z_]+)\":");
  for (auto it = std::sregex_iterator(line.begin(), line.end(), key_re);
       it != std::sregex_iterator(); ++it) {
    keys.push_back((*it)[1]);
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"ts", "level", "msg", "service", "trace_id", "span_id",
                                            "release_id", "weight", "ratio", "ok", "big"}));
}

TEST(FormatLineTest, TimestampIsRfc3339UtcWithMilliseconds) {
  const json j = Parse(FormatLine("info", "x", {}));
  const std::string ts = j["ts"];
  EXPECT_TRUE(std::regex_match(ts, std::regex(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)")))
      << ts;
  // Close to now: parse the seconds back and compare with time().
  std::tm tm{};
  ASSERT_NE(strptime(ts.c_str(), "%Y-%m-%dT%H:%M:%S", &tm), nullptr);
  const long long diff = static_cast<long long>(timegm(&tm)) - static_cast<long long>(time(nullptr));
  EXPECT_LE(std::llabs(diff), 2);
}

TEST(FormatLineTest, EscapesQuotesBackslashesAndControlCharacters) {
  const std::string nasty = std::string("say \"hi\"\\ \n\r\t\b\f end ") + '\x01' + '\x1f' + "\x7f";
  const json j = Parse(FormatLine("warn", nasty, {{"path", nasty}, {"multi\"key", "v"}}));
  EXPECT_EQ(j["msg"], nasty);
  EXPECT_EQ(j["path"], nasty);
  EXPECT_EQ(j["multi\"key"], "v");
}

TEST(FormatLineTest, InvalidUtf8StaysParseable) {
  const std::string text = std::string("ok é ") + "\xff\xfe" + " \xe2\x82" + " 漢字 🚀";
  const json j = Parse(FormatLine("info", text, {}));
  EXPECT_EQ(j["msg"], "ok é \xEF\xBF\xBD\xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD 漢字 🚀");
}

TEST(FormatLineTest, NonFiniteDoublesStayValidJson) {
  const json j = Parse(FormatLine("info", "x",
                                  {{"nan", std::numeric_limits<double>::quiet_NaN()},
                                   {"inf", std::numeric_limits<double>::infinity()},
                                   {"tiny", 1e-300}}));
  EXPECT_EQ(j["nan"], "NaN");
  EXPECT_EQ(j["inf"], "+Inf");
  EXPECT_EQ(j["tiny"], 1e-300);
}

TEST(FormatLineTest, FieldsCannotOverwriteStandardKeys) {
  const json j = Parse(FormatLine("info", "real", {{"msg", "fake"}, {"level", "debug"}}));
  EXPECT_EQ(j["msg"], "real");
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["field_msg"], "fake");
  EXPECT_EQ(j["field_level"], "debug");
}

TEST(FormatLineTest, TraceIdsAreEmptyWithoutASpan) {
  const json j = Parse(FormatLine("info", "x", {}));
  EXPECT_EQ(j["trace_id"], "");
  EXPECT_EQ(j["span_id"], "");
}

TEST(FormatLineTest, TraceIdsComeFromTheCurrentSpan) {
  std::string trace_id;
  std::string span_id;
  json inner;
  {
    trace::Span span("handle request", trace::SpanKind::kServer);
    ASSERT_TRUE(span.context().IsValid());
    trace_id = span.context().TraceIdHex();
    span_id = span.context().SpanIdHex();
    inner = Parse(FormatLine("info", "inside", {}));
  }
  EXPECT_EQ(inner["trace_id"], trace_id);
  EXPECT_EQ(inner["span_id"], span_id);
  EXPECT_EQ(trace_id.size(), 32u);
  EXPECT_EQ(span_id.size(), 16u);
  // Once the span ends the thread has no current span again.
  EXPECT_EQ(Parse(FormatLine("info", "after", {}))["trace_id"], "");
}

TEST(FormatLineTest, SecretFieldsAreMaskedWhole) {
  const json j = Parse(FormatLine(
      "info", "login",
      {{"password", "hunter2"}, {"DB_PASSWD", "x"}, {"client_secret", "s"}, {"access_token", "t"},
       {"Authorization", "Basic dXNlcjpwYXNz"}, {"api_key", "k"}, {"Key", "k2"}, {"pin_token", 1234},
       {"user", "alice"}, {"keyspace", "orders"}}));
  for (const char* key : {"password", "DB_PASSWD", "client_secret", "access_token",
                          "Authorization", "api_key", "Key", "pin_token"}) {
    EXPECT_EQ(j[key], "[REDACTED]") << key;
  }
  EXPECT_EQ(j["user"], "alice");
  EXPECT_EQ(j["keyspace"], "orders");
}

TEST(FormatLineTest, MessagesAndStringFieldsAreRedacted) {
  const std::string line = FormatLine("error", "connect postgres://fd:s3cret@db:5432/x failed",
                                      {{"dsn", "host=db user=fd password=s3cret dbname=x"},
                                       {"header", "Bearer abc.def.ghi"}});
  EXPECT_THAT(line, Not(HasSubstr("s3cret")));
  EXPECT_THAT(line, Not(HasSubstr("abc.def")));
  const json j = Parse(line);
  EXPECT_EQ(j["msg"], "connect postgres://fd:***@db:5432/x failed");
  EXPECT_EQ(j["dsn"], "host=db user=fd password=*** dbname=x");
  EXPECT_EQ(j["header"], "Bearer [REDACTED]");
}

TEST(RedactTest, UrlPasswords) {
  EXPECT_EQ(Redact("postgres://fd:s3cret@db/x"), "postgres://fd:***@db/x");
  EXPECT_EQ(Redact("redis://:pass@cache:6379/0"), "redis://:***@cache:6379/0");
  EXPECT_EQ(Redact("url=https://bot:tok@hooks.example.com/a b"),
            "url=https://bot:***@hooks.example.com/a b");
  EXPECT_EQ(Redact("from postgres://a:one@h1/x to postgresql://b:two@h2/y"),
            "from postgres://a:***@h1/x to postgresql://b:***@h2/y");
  EXPECT_EQ(Redact("postgres://a:one@h1/x,postgres://b:two@h2/y"),
            "postgres://a:***@h1/x,postgres://b:***@h2/y");
}

TEST(RedactTest, PasswordsContainingDelimiters) {
  EXPECT_EQ(Redact("postgres://fd:p@ss@db/x"), "postgres://fd:***@db/x");
  EXPECT_EQ(Redact("postgres://fd:a:b:c@db:5432/x"), "postgres://fd:***@db:5432/x");
  EXPECT_EQ(Redact("postgres://fd:p/a@s:s@db/x"), "postgres://fd:***@db/x");
  EXPECT_EQ(Redact("redis://:@:@cache"), "redis://:***@cache");
}

TEST(RedactTest, UrlsWithoutPasswordsAreUntouched) {
  for (const char* text :
       {"postgres://fd@db/x", "redis://cache:6379/0", "http://host:8080/v1/releases",
        "https://example.com/users/me?email=a@b.com", "see http://a.example/x and mail ops@corp",
        "grpc://localhost:50051", "plain text with a colon: and an @ sign"}) {
    EXPECT_EQ(Redact(text), text);
  }
}

TEST(RedactTest, BearerTokens) {
  EXPECT_EQ(Redact("Authorization: Bearer eyJhbGciOi.J9.x"), "Authorization: Bearer [REDACTED]");
  EXPECT_EQ(Redact("bearer abc123 next"), "bearer [REDACTED] next");
  EXPECT_EQ(Redact("{\"h\":\"Bearer abc\"}"), "{\"h\":\"Bearer [REDACTED]\"}");
  EXPECT_EQ(Redact("BEARER  t1, Bearer t2"), "BEARER  [REDACTED], Bearer [REDACTED]");
  EXPECT_EQ(Redact("the bearers of bad news"), "the bearers of bad news");
  EXPECT_EQ(Redact("Bearer"), "Bearer");
}

TEST(RedactTest, KeyValueSecrets) {
  EXPECT_EQ(Redact("host=db port=5432 password=s3cret sslmode=require"),
            "host=db port=5432 password=*** sslmode=require");
  EXPECT_EQ(Redact("host=db password='two words\\' here' user=fd"),
            "host=db password=*** user=fd");
  EXPECT_EQ(Redact("GET /v1/ws?token=abc&x=1#frag"), "GET /v1/ws?token=***&x=1#frag");
  EXPECT_EQ(Redact("https://api.example.com/x?a=1&client_secret=zz&b=2"),
            "https://api.example.com/x?a=1&client_secret=***&b=2");
  EXPECT_EQ(Redact("SECRET=a&b"), "SECRET=***");  // outside a query '&' may be in the value
  EXPECT_EQ(Redact("user=fd retries=3"), "user=fd retries=3");
  EXPECT_EQ(Redact("password="), "password=");
}

TEST(RedactTest, JsonMembers) {
  EXPECT_EQ(Redact(R"({"user":"fd","password":"s3\"cret","n":1})"),
            R"({"user":"fd","password":"***","n":1})");
  EXPECT_EQ(Redact(R"({"api_key" : "k"})"), R"({"api_key" : "***"})");
}

// Runs fn with stderr redirected to a temporary file and returns what it wrote.
template <typename Fn>
std::string CaptureStderr(Fn fn) {
  char path[] = "/tmp/fd_log_XXXXXX";
  const int file = mkstemp(path);
  EXPECT_GE(file, 0);
  fflush(stderr);
  const int saved = dup(STDERR_FILENO);
  dup2(file, STDERR_FILENO);
  fn();
  Shutdown();
  fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
  close(file);
  std::ifstream in(path);
  std::stringstream out;
  out << in.rdbuf();
  unlink(path);
  return out.str();
}

std::vector<json> Lines(const std::string& text) {
  std::vector<json> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(json::parse(line));
  return out;
}

TEST(LoggerTest, WritesJsonLinesAtOrAboveTheLevel) {
  const std::string output = CaptureStderr([] {
    Init("flightdeck-backups", "warn");
    Debug("debug line");
    Info("info line");
    Warn("backup slow", {{"target", "orders"}, {"seconds", 12.5}});
    Error("backup failed", {{"url", "postgres://fd:pw@db/orders"}});
  });
  const auto lines = Lines(output);
  ASSERT_EQ(lines.size(), 2u) << output;
  EXPECT_EQ(lines[0]["level"], "warn");
  EXPECT_EQ(lines[0]["msg"], "backup slow");
  EXPECT_EQ(lines[0]["service"], "flightdeck-backups");
  EXPECT_EQ(lines[0]["seconds"], 12.5);
  EXPECT_EQ(lines[1]["level"], "error");
  EXPECT_EQ(lines[1]["url"], "postgres://fd:***@db/orders");
  Init("flightdeck-backups", "info");
}

TEST(LoggerTest, OffAndDebugLevels) {
  const std::string quiet = CaptureStderr([] {
    Init("svc", "off");
    Error("nothing");
  });
  EXPECT_EQ(quiet, "");
  const std::string chatty = CaptureStderr([] {
    Init("svc", "debug");
    Debug("visible");
  });
  const auto lines = Lines(chatty);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["level"], "debug");
  Init("svc", "info");
}

TEST(LoggerTest, RejectsUnknownLevels) {
  EXPECT_THROW(Init("svc", "verbose"), std::invalid_argument);
}

}  // namespace
}  // namespace flightdeck::log
