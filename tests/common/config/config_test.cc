#include "common/config/config.h"
#include "common/config/url.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>

namespace flightdeck::config {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// The message of the ConfigError that fn throws; fails the test when it throws nothing.
template <typename Fn>
std::string ErrorOf(Fn fn) {
  try {
    fn();
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a ConfigError";
  return "";
}

TEST(ParseDurationTest, AcceptsSingleAndCompoundUnits) {
  EXPECT_EQ(ParseDuration("250ms"), milliseconds(250));
  EXPECT_EQ(ParseDuration("10s"), seconds(10));
  EXPECT_EQ(ParseDuration("5m"), minutes(5));
  EXPECT_EQ(ParseDuration("1h"), hours(1));
  EXPECT_EQ(ParseDuration("1h30m"), minutes(90));
  EXPECT_EQ(ParseDuration("1m30s500ms"), milliseconds(90500));
  EXPECT_EQ(ParseDuration("0s"), milliseconds(0));
}

TEST(ParseDurationTest, RejectsMalformedText) {
  for (const char* bad : {"", "10", "-5s", "+5s", "s", "1.5s", "10 s", " 10s", "10s ", "5d",
                          "1hm", "ms", "10S", "1h30", "9999999999999999999ms"}) {
    EXPECT_EQ(ParseDuration(bad), std::nullopt) << '"' << bad << '"';
  }
}

TEST(ParseDurationTest, RejectsOverflow) {
  // Fits in long long as a number, but not once converted to milliseconds.
  EXPECT_EQ(ParseDuration("9223372036854775807h"), std::nullopt);
  EXPECT_EQ(ParseDuration("9223372036854775s9223372036854775s"), std::nullopt);
  EXPECT_EQ(ParseDuration("9223372036854775807ms"), milliseconds(9223372036854775807LL));
}

TEST(EnvTest, EmptyCountsAsUnset) {
  Env env = Env::FromMap({{"EMPTY", ""}, {"SET", "x"}});
  EXPECT_EQ(env.Raw("EMPTY"), std::nullopt);
  EXPECT_EQ(env.Raw("MISSING"), std::nullopt);
  EXPECT_EQ(env.Raw("SET"), "x");
  EXPECT_EQ(env.String("EMPTY", "fallback"), "fallback");
  EXPECT_EQ(env.Port("EMPTY", 8080), 8080);
}

TEST(EnvTest, ProcessEnvironmentIsTheDefault) {
  ASSERT_EQ(setenv("FLIGHTDECK_TEST_ONLY_VAR", "42", 1), 0);
  EXPECT_EQ(Env().Int("FLIGHTDECK_TEST_ONLY_VAR", 0, 0, 100), 42);
  unsetenv("FLIGHTDECK_TEST_ONLY_VAR");
  EXPECT_EQ(Env().Raw("FLIGHTDECK_TEST_ONLY_VAR"), std::nullopt);
}

TEST(EnvTest, RequiredStringNamesTheMissingVariable) {
  Env env = Env::FromMap({});
  EXPECT_THAT(ErrorOf([&] { env.RequiredString("FLIGHTDECK_ADMIN_TOKEN"); }),
              AllOf(StartsWith("FLIGHTDECK_ADMIN_TOKEN: "), HasSubstr("not set")));
}

TEST(EnvTest, PortAcceptsTheWholeRangeAndNamesBadValues) {
  Env env = Env::FromMap({{"P0", "0"}, {"PMAX", "65535"}, {"BAD", "abc"}, {"BIG", "65536"},
                          {"NEG", "-1"}, {"SPACE", "80 "}});
  EXPECT_EQ(env.Port("P0", 1), 0);
  EXPECT_EQ(env.Port("PMAX", 1), 65535);
  EXPECT_EQ(ErrorOf([&] { env.Port("BAD", 1); }), "BAD: \"abc\" is not a port (0-65535)");
  EXPECT_EQ(ErrorOf([&] { env.Port("BIG", 1); }), "BIG: \"65536\" is not a port (0-65535)");
  EXPECT_THAT(ErrorOf([&] { env.Port("NEG", 1); }), StartsWith("NEG: "));
  EXPECT_THAT(ErrorOf([&] { env.Port("SPACE", 1); }), StartsWith("SPACE: "));
}

TEST(EnvTest, IntParsesTheWholeStringWithinRange) {
  Env env = Env::FromMap({{"N", "-12"}, {"HALF", "12abc"}, {"HIGH", "101"}, {"HUGE", "99999999999999999999"}});
  EXPECT_EQ(env.Int("N", 0, -100, 100), -12);
  EXPECT_EQ(env.Int("UNSET", 7, 0, 100), 7);
  EXPECT_EQ(ErrorOf([&] { env.Int("HALF", 0, 0, 100); }),
            "HALF: \"12abc\" is not an integer (expected 0..100)");
  EXPECT_EQ(ErrorOf([&] { env.Int("HIGH", 0, 0, 100); }),
            "HIGH: \"101\" is out of range (expected 0..100)");
  EXPECT_THAT(ErrorOf([&] { env.Int("HUGE", 0, 0, 100); }), StartsWith("HUGE: "));
}

TEST(EnvTest, DoubleParsesTheWholeStringWithinRange) {
  Env env = Env::FromMap({{"R", "0.25"}, {"E", "1e-3"}, {"BAD", "0.5x"}, {"NAN", "nan"},
                          {"HIGH", "1.5"}});
  EXPECT_DOUBLE_EQ(env.Double("R", 0, 0, 1), 0.25);
  EXPECT_DOUBLE_EQ(env.Double("E", 0, 0, 1), 0.001);
  EXPECT_THAT(ErrorOf([&] { env.Double("BAD", 0, 0, 1); }),
              AllOf(StartsWith("BAD: \"0.5x\" is not a number"), HasSubstr("0..1")));
  EXPECT_THAT(ErrorOf([&] { env.Double("NAN", 0, 0, 1); }), StartsWith("NAN: "));
  EXPECT_EQ(ErrorOf([&] { env.Double("HIGH", 0, 0, 1); }),
            "HIGH: \"1.5\" is out of range (expected 0..1)");
}

TEST(EnvTest, BoolAcceptsCommonSpellingsCaseInsensitively) {
  Env env = Env::FromMap({{"A", "TRUE"}, {"B", "no"}, {"C", "1"}, {"D", "Yes"}, {"E", "0"},
                          {"F", "False"}, {"BAD", "maybe"}});
  EXPECT_TRUE(env.Bool("A", false));
  EXPECT_FALSE(env.Bool("B", true));
  EXPECT_TRUE(env.Bool("C", false));
  EXPECT_TRUE(env.Bool("D", false));
  EXPECT_FALSE(env.Bool("E", true));
  EXPECT_FALSE(env.Bool("F", true));
  EXPECT_TRUE(env.Bool("UNSET", true));
  EXPECT_THAT(ErrorOf([&] { env.Bool("BAD", false); }),
              AllOf(StartsWith("BAD: \"maybe\" is not a boolean"), HasSubstr("true/false")));
}

TEST(EnvTest, DurationRejectsMalformedValues) {
  Env env = Env::FromMap({{"OK", "1h30m"}, {"BARE", "30"}});
  EXPECT_EQ(env.Duration("OK", seconds(1)), minutes(90));
  EXPECT_EQ(env.Duration("UNSET", seconds(3)), seconds(3));
  EXPECT_THAT(ErrorOf([&] { env.Duration("BARE", seconds(1)); }),
              AllOf(StartsWith("BARE: \"30\" is not a duration"), HasSubstr("10s")));
}

TEST(EnvTest, OneOfIsAnExactMatch) {
  const std::vector<std::string> levels = {"trace", "debug", "info", "warn",
                                           "error", "critical", "off"};
  Env env = Env::FromMap({{"LOG_LEVEL", "warn"}, {"UPPER", "WARN"}});
  EXPECT_EQ(env.OneOf("LOG_LEVEL", "info", levels), "warn");
  EXPECT_EQ(env.OneOf("UNSET", "info", levels), "info");
  EXPECT_THAT(ErrorOf([&] { env.OneOf("UPPER", "info", levels); }),
              AllOf(StartsWith("UPPER: \"WARN\""), HasSubstr("trace|debug|info|warn")));
}

TEST(EnvTest, AddressNeedsHostAndValidPort) {
  Env env = Env::FromMap({{"A", "127.0.0.1:8080"}, {"V6", "[::1]:50051"}, {"NOPORT", "localhost"},
                          {"BADPORT", "localhost:99999"}, {"NOHOST", ":8080"}});
  EXPECT_EQ(env.Address("A", "x:1"), "127.0.0.1:8080");
  EXPECT_EQ(env.Address("V6", "x:1"), "[::1]:50051");
  EXPECT_EQ(env.Address("UNSET", "0.0.0.0:9101"), "0.0.0.0:9101");
  EXPECT_THAT(ErrorOf([&] { env.Address("NOPORT", ""); }),
              AllOf(StartsWith("NOPORT: \"localhost\""), HasSubstr("host:port")));
  EXPECT_THAT(ErrorOf([&] { env.Address("BADPORT", ""); }),
              AllOf(StartsWith("BADPORT: "), HasSubstr("port")));
  EXPECT_THAT(ErrorOf([&] { env.Address("NOHOST", ""); }), StartsWith("NOHOST: "));
}

TEST(EnvTest, PostgresUrlAcceptsBothSchemesAndOptionalParts) {
  Env env = Env::FromMap({{"A", "postgres://fd:pw@db.internal:5432/flightdeck"},
                          {"B", "postgresql://localhost"},
                          {"C", "postgres://fd@[::1]/x?sslmode=require"},
                          {"D", "postgres://fd:p@ss:w/rd@db/x"}});
  EXPECT_EQ(env.PostgresUrl("A"), "postgres://fd:pw@db.internal:5432/flightdeck");
  EXPECT_EQ(env.PostgresUrl("B"), "postgresql://localhost");
  EXPECT_EQ(env.PostgresUrl("C"), "postgres://fd@[::1]/x?sslmode=require");
  EXPECT_EQ(env.PostgresUrl("D"), "postgres://fd:p@ss:w/rd@db/x");
}

TEST(EnvTest, PostgresUrlErrorsNeverShowThePassword) {
  Env env = Env::FromMap({{"DATABASE_URL", "mysql://fd:s3cret@db/x"},
                          {"PORT_URL", "postgres://fd:s3cret@db:99999/x"},
                          {"ZERO_PORT", "postgres://fd:s3cret@db:0/x"},
                          {"NO_HOST", "postgres://fd:s3cret@/x"},
                          {"NOT_URL", "host=db password=s3cret"}});
  const std::string scheme = ErrorOf([&] { env.PostgresUrl("DATABASE_URL"); });
  EXPECT_THAT(scheme, AllOf(StartsWith("DATABASE_URL: \"mysql://fd:***@db/x\""),
                            HasSubstr("postgres://"), Not(HasSubstr("s3cret"))));
  const std::string port = ErrorOf([&] { env.PostgresUrl("PORT_URL"); });
  EXPECT_THAT(port, AllOf(StartsWith("PORT_URL: \"postgres://fd:***@db:99999/x\""),
                          HasSubstr("1-65535"), Not(HasSubstr("s3cret"))));
  EXPECT_THAT(ErrorOf([&] { env.PostgresUrl("ZERO_PORT"); }), HasSubstr("port"));
  EXPECT_THAT(ErrorOf([&] { env.PostgresUrl("NO_HOST"); }),
              AllOf(HasSubstr("no host"), Not(HasSubstr("s3cret"))));
  EXPECT_THAT(ErrorOf([&] { env.PostgresUrl("NOT_URL"); }), StartsWith("NOT_URL: "));
  EXPECT_THAT(ErrorOf([&] { env.PostgresUrl("UNSET"); }),
              AllOf(StartsWith("UNSET: "), HasSubstr("not set")));
}

TEST(EnvTest, PostgresUrlMasksPasswordsContainingDelimiters) {
  Env env = Env::FromMap({{"DATABASE_URL", "postgres://fd:p@ss/w:rd@db:70000/x"}});
  const std::string message = ErrorOf([&] { env.PostgresUrl("DATABASE_URL"); });
  EXPECT_THAT(message, AllOf(HasSubstr("fd:***@db:70000/x"), Not(HasSubstr("p@ss")),
                             Not(HasSubstr("w:rd"))));
}

TEST(EnvTest, RedisUrlValidatesHostPortAndDb) {
  Env env = Env::FromMap({{"A", "redis://localhost:6379/0"},
                          {"B", "redis://:s3cret@cache"},
                          {"C", "redis://user:s3cret@cache:6380/15"},
                          {"SCHEME", "http://:s3cret@cache"},
                          {"DB", "redis://:s3cret@cache/main"},
                          {"PORT", "redis://:s3cret@cache:port"}});
  EXPECT_EQ(env.RedisUrl("A"), "redis://localhost:6379/0");
  EXPECT_EQ(env.RedisUrl("B"), "redis://:s3cret@cache");
  EXPECT_EQ(env.RedisUrl("C"), "redis://user:s3cret@cache:6380/15");
  EXPECT_THAT(ErrorOf([&] { env.RedisUrl("SCHEME"); }),
              AllOf(StartsWith("SCHEME: \"http://:***@cache\""), Not(HasSubstr("s3cret"))));
  EXPECT_THAT(ErrorOf([&] { env.RedisUrl("DB"); }),
              AllOf(StartsWith("DB: \"redis://:***@cache/main\""), HasSubstr("number"),
                    Not(HasSubstr("s3cret"))));
  EXPECT_THAT(ErrorOf([&] { env.RedisUrl("PORT"); }),
              AllOf(HasSubstr("port"), Not(HasSubstr("s3cret"))));
}

TEST(EnvTest, HttpUrlIsOptionalButValidated) {
  Env env = Env::FromMap({{"OK", "http://collector:4318"},
                          {"TLS", "https://otel.example.com/v1/traces"},
                          {"GRPC", "grpc://collector:4317"},
                          {"NOHOST", "http://"}});
  EXPECT_EQ(env.HttpUrl("OK"), "http://collector:4318");
  EXPECT_EQ(env.HttpUrl("TLS"), "https://otel.example.com/v1/traces");
  EXPECT_EQ(env.HttpUrl("UNSET"), std::nullopt);
  EXPECT_THAT(ErrorOf([&] { env.HttpUrl("GRPC"); }),
              AllOf(StartsWith("GRPC: \"grpc://collector:4317\""), HasSubstr("http://")));
  EXPECT_THAT(ErrorOf([&] { env.HttpUrl("NOHOST"); }), StartsWith("NOHOST: "));
}

TEST(EnvTest, SecretLookingVariablesAreNotEchoed) {
  Env env = Env::FromMap({{"FLIGHTDECK_API_TOKEN_TTL", "hunter2"}});
  EXPECT_THAT(ErrorOf([&] { env.Duration("FLIGHTDECK_API_TOKEN_TTL", seconds(1)); }),
              AllOf(StartsWith("FLIGHTDECK_API_TOKEN_TTL: "), Not(HasSubstr("hunter2"))));
}

TEST(LoadCommonTest, AppliesDefaults) {
  Env env = Env::FromMap({{"DATABASE_URL", "postgres://fd:pw@localhost:5432/flightdeck"},
                          {"REDIS_URL", "redis://localhost:6379/0"}});
  CommonConfig config = LoadCommon(env, "flightdeck-releases");
  EXPECT_EQ(config.service_name, "flightdeck-releases");
  EXPECT_EQ(config.log_level, "info");
  EXPECT_EQ(config.bind_address, "127.0.0.1");
  EXPECT_EQ(config.database_url, "postgres://fd:pw@localhost:5432/flightdeck");
  EXPECT_EQ(config.redis_url, "redis://localhost:6379/0");
  EXPECT_EQ(config.db_pool_size, 8);
  EXPECT_EQ(config.db_acquire_timeout, seconds(5));
  EXPECT_EQ(config.redis_timeout, milliseconds(250));
  EXPECT_EQ(config.cache_ttl, seconds(60));
  EXPECT_EQ(config.shutdown_grace, seconds(10));
  EXPECT_EQ(config.database_read_url, "");
  EXPECT_EQ(config.database_read_max_lag, seconds(5));
}

TEST(LoadCommonTest, ReadsOverrides) {
  Env env = Env::FromMap({{"DATABASE_URL", "postgresql://db/x"},
                          {"REDIS_URL", "redis://cache"},
                          {"LOG_LEVEL", "debug"},
                          {"FLIGHTDECK_BIND_ADDRESS", "0.0.0.0"},
                          {"FLIGHTDECK_DB_POOL_SIZE", "32"},
                          {"FLIGHTDECK_DB_ACQUIRE_TIMEOUT", "1500ms"},
                          {"FLIGHTDECK_REDIS_TIMEOUT", "1s"},
                          {"FLIGHTDECK_CACHE_TTL", "5m"},
                          {"FLIGHTDECK_SHUTDOWN_GRACE", "30s"}});
  CommonConfig config = LoadCommon(env, "flightdeck-gateway");
  EXPECT_EQ(config.log_level, "debug");
  EXPECT_EQ(config.bind_address, "0.0.0.0");
  EXPECT_EQ(config.db_pool_size, 32);
  EXPECT_EQ(config.db_acquire_timeout, milliseconds(1500));
  EXPECT_EQ(config.redis_timeout, seconds(1));
  EXPECT_EQ(config.cache_ttl, minutes(5));
  EXPECT_EQ(config.shutdown_grace, seconds(30));
}

TEST(LoadCommonTest, ReadsTheOptionalReadReplica) {
  const std::map<std::string, std::string> base = {{"DATABASE_URL", "postgres://db/x"},
                                                   {"REDIS_URL", "redis://cache"}};
  auto values = base;
  values["FLIGHTDECK_DATABASE_READ_URL"] = "postgres://fd:pw@standby:5432/x";
  values["FLIGHTDECK_DATABASE_READ_MAX_LAG"] = "2s";
  CommonConfig config = LoadCommon(Env::FromMap(values), "p");
  EXPECT_EQ(config.database_read_url, "postgres://fd:pw@standby:5432/x");
  EXPECT_EQ(config.database_read_max_lag, seconds(2));

  values["FLIGHTDECK_DATABASE_READ_URL"] = "mysql://fd:hunter2@standby/x";
  EXPECT_THAT(ErrorOf([&] { LoadCommon(Env::FromMap(values), "p"); }),
              AllOf(StartsWith("FLIGHTDECK_DATABASE_READ_URL: "), Not(HasSubstr("hunter2"))));
  values = base;
  values["FLIGHTDECK_DATABASE_READ_MAX_LAG"] = "5";
  EXPECT_THAT(ErrorOf([&] { LoadCommon(Env::FromMap(values), "p"); }),
              StartsWith("FLIGHTDECK_DATABASE_READ_MAX_LAG: "));
}

TEST(LoadCommonTest, RequiresDatabaseAndRedis) {
  EXPECT_THAT(ErrorOf([] { LoadCommon(Env::FromMap({{"REDIS_URL", "redis://cache"}}), "p"); }),
              StartsWith("DATABASE_URL: "));
  EXPECT_THAT(ErrorOf([] { LoadCommon(Env::FromMap({{"DATABASE_URL", "postgres://db/x"}}), "p"); }),
              StartsWith("REDIS_URL: "));
}

TEST(LoadCommonTest, RejectsBadValuesNamingTheVariable) {
  const std::map<std::string, std::string> good = {{"DATABASE_URL", "postgres://db/x"},
                                                   {"REDIS_URL", "redis://cache"}};
  auto with = [&](const std::string& name, const std::string& value) {
    auto values = good;
    values[name] = value;
    return Env::FromMap(values);
  };
  EXPECT_THAT(ErrorOf([&] { LoadCommon(with("LOG_LEVEL", "verbose"), "p"); }),
              StartsWith("LOG_LEVEL: \"verbose\""));
  EXPECT_THAT(ErrorOf([&] { LoadCommon(with("FLIGHTDECK_DB_POOL_SIZE", "0"), "p"); }),
              StartsWith("FLIGHTDECK_DB_POOL_SIZE: \"0\" is out of range"));
  EXPECT_THAT(ErrorOf([&] { LoadCommon(with("FLIGHTDECK_CACHE_TTL", "60"), "p"); }),
              StartsWith("FLIGHTDECK_CACHE_TTL: \"60\" is not a duration"));
}

}  // namespace
TEST(PercentDecodeTest, LenientKeepsMalformedEscapes) {
  EXPECT_EQ(PercentDecode("a%20b%2fc%2F"), "a b/c/");
  EXPECT_EQ(PercentDecode("100%"), "100%");
  EXPECT_EQ(PercentDecode("%zz%4"), "%zz%4");
  EXPECT_EQ(PercentDecode(""), "");
  EXPECT_EQ(PercentDecode("a+b"), "a+b");
  EXPECT_EQ(PercentDecode("a+b%2B", /*plus_is_space=*/true), "a b+");
}

TEST(PercentDecodeTest, StrictRefusesMalformedEscapes) {
  EXPECT_EQ(PercentDecodeStrict("p%40ss%3Aword"), "p@ss:word");
  EXPECT_EQ(PercentDecodeStrict("100%"), std::nullopt);
  EXPECT_EQ(PercentDecodeStrict("%4"), std::nullopt);
  EXPECT_EQ(PercentDecodeStrict("%zz"), std::nullopt);
  EXPECT_EQ(PercentDecodeStrict("a+b"), "a+b");
}

}  // namespace flightdeck::config
