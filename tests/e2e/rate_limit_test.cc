// End to end: the gateway's rate limits through the running stack. A burst past a token's limit
// gets 429 with Retry-After and the RateLimit fields while another token goes on; gRPC-web
// callers get RESOURCE_EXHAUSTED with the same fields; calls without a token are limited per
// client address and PagerDuty events per routing key; and with the stack's (private) Redis
// stopped, the gateway's in-process limiter still limits.
#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/common/cache/test_servers.h"
#include "tests/support/http_client.h"
#include "tests/e2e/stack.h"
#include "tests/support/env.h"

namespace flightdeck::test {
namespace {

using nlohmann::json;

constexpr int kPerMinute = 20;  // one request every 3 s sustained: a burst refills little

// The buckets live in Redis, shared by every gateway that uses it: the tests running beside this
// one also call from 127.0.0.1 without a token. A Redis database of this test's own keeps their
// calls out of its per-address bucket.
std::string OwnRedisDatabase() {
  std::string url = RequireEnv("REDIS_URL");
  return url.substr(0, url.rfind('/')) + "/13";
}

std::map<std::string, std::string> Limits() {
  return {{"REDIS_URL", OwnRedisDatabase()},
          {"FLIGHTDECK_RATE_LIMIT_PER_MIN", std::to_string(kPerMinute)},
          {"FLIGHTDECK_RATE_LIMIT_PER_MIN_ADMIN", "1000"},  // the test's own set-up calls
          {"FLIGHTDECK_RATE_LIMIT_PER_MIN_ANONYMOUS", "10"},
          {"FLIGHTDECK_RATE_LIMIT_PER_MIN_INGEST", "8"}};
}

std::string NewToken(Stack& stack, const std::string& name, const std::string& role) {
  HttpResponse r = HttpRequest("POST", stack.gateway_url() + "/v1/tokens",
                               json{{"name", name}, {"role", role}}.dump(),
                               {{"Authorization", "Bearer " + stack.admin_token()}});
  EXPECT_EQ(r.status, 200) << r.body;
  return json::parse(r.body, nullptr, false).value("secret", "");
}

HttpResponse WhoAmI(Stack& stack, const std::string& token) {
  return HttpRequest("GET", stack.gateway_url() + "/v1/whoami", "", {{"Authorization", "Bearer " + token}});
}

// Sends up to `max` calls and returns the first 429, counting the answers before it.
HttpResponse BurstUntilLimited(const std::function<HttpResponse()>& call, int max, int* allowed) {
  *allowed = 0;
  for (int i = 0; i < max; ++i) {
    HttpResponse r = call();
    if (r.status == 429) return r;
    ++*allowed;
  }
  return HttpResponse{};
}

void ExpectLimitedAnswer(const HttpResponse& r, int limit) {
  ASSERT_EQ(r.status, 429) << r.body;
  ASSERT_TRUE(r.headers.count("retry-after")) << "429 without Retry-After";
  const int retry_after = std::stoi(r.headers.at("retry-after"));
  EXPECT_GE(retry_after, 1);
  EXPECT_LE(retry_after, 60 / limit + 1);
  EXPECT_EQ(r.headers.count("ratelimit-limit") ? r.headers.at("ratelimit-limit") : "", std::to_string(limit));
  EXPECT_EQ(r.headers.count("ratelimit-remaining") ? r.headers.at("ratelimit-remaining") : "", "0");
  EXPECT_TRUE(r.headers.count("ratelimit-reset"));
  json body = json::parse(r.body, nullptr, false);
  EXPECT_EQ(body["error"].value("code", ""), "RESOURCE_EXHAUSTED") << r.body;
}

TEST(RateLimitE2E, ABurstPastATokensLimitIsRefusedAndOtherCallersGoOn) {
  Stack stack(Limits());
  ASSERT_TRUE(stack.WaitReady()) << stack.Logs();
  const std::string burst = NewToken(stack, "burst-viewer", "VIEWER");
  const std::string other = NewToken(stack, "calm-viewer", "VIEWER");

  HttpResponse first = WhoAmI(stack, burst);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.headers["ratelimit-limit"], std::to_string(kPerMinute));
  EXPECT_EQ(first.headers["ratelimit-remaining"], std::to_string(kPerMinute - 1));
  EXPECT_EQ(first.headers.count("retry-after"), 0u);

  int allowed = 0;
  HttpResponse limited = BurstUntilLimited([&] { return WhoAmI(stack, burst); }, 3 * kPerMinute, &allowed);
  ExpectLimitedAnswer(limited, kPerMinute);
  // The bucket held kPerMinute - 1 more; a slow machine may have refilled one or two meanwhile.
  EXPECT_GE(allowed, kPerMinute - 1);
  EXPECT_LE(allowed, kPerMinute + 2);
  // Still refused (told from the gateway's memory now), and on every front.
  EXPECT_EQ(WhoAmI(stack, burst).status, 429);
  HttpResponse grpcweb = HttpRequest("POST", stack.gateway_url() + "/flightdeck.v1.GatewayService/GetPrincipal",
                                     std::string("\0\0\0\0\0", 5),
                                     {{"Authorization", "Bearer " + burst},
                                      {"Content-Type", "application/grpc-web+proto"}});
  EXPECT_EQ(grpcweb.status, 200);
  EXPECT_EQ(grpcweb.headers["grpc-status"], "8") << "RESOURCE_EXHAUSTED";
  EXPECT_TRUE(grpcweb.headers.count("retry-after"));
  EXPECT_EQ(grpcweb.headers["ratelimit-remaining"], "0");

  // Retry-After is honest: after waiting that long, the call goes through again.
  std::this_thread::sleep_for(std::chrono::seconds(std::stoi(limited.headers.at("retry-after"))) +
                              std::chrono::milliseconds(100));
  HttpResponse again = WhoAmI(stack, burst);
  EXPECT_EQ(again.status, 200) << again.body;

  HttpResponse calm = WhoAmI(stack, other);
  EXPECT_EQ(calm.status, 200) << "another token has its own bucket: " << calm.body;
  EXPECT_EQ(calm.headers["ratelimit-remaining"], std::to_string(kPerMinute - 1));

  // Without a token: per client address, at the anonymous limit (10).
  HttpResponse anonymous = BurstUntilLimited(
      [&] { return HttpRequest("GET", stack.gateway_url() + "/v1/releases"); }, 30, &allowed);
  ExpectLimitedAnswer(anonymous, 10);
  // The two first look-ups of the viewers' tokens (database look-ups, before the gateway knew
  // them) were charged to this address too.
  EXPECT_GE(allowed, 10 - 2);
  EXPECT_LE(allowed, 12);

  // PagerDuty events: per routing key (INGEST's limit, 8). An unknown key is refused by the
  // incidents service, but only once the limiter let it through.
  auto enqueue = [&](const std::string& key) {
    return HttpRequest("POST", stack.gateway_url() + "/v2/enqueue",
                       json{{"routing_key", key}, {"event_action", "trigger"},
                            {"payload", {{"summary", "s"}, {"source", "h"}, {"severity", "error"}}}}
                           .dump());
  };
  HttpResponse pd = BurstUntilLimited([&] { return enqueue("0123456789abcdef0123456789abcdef"); }, 30, &allowed);
  ExpectLimitedAnswer(pd, 8);
  EXPECT_NE(enqueue("fedcba9876543210fedcba9876543210").status, 429) << "another routing key";

  HttpResponse metrics = HttpRequest("GET", stack.gateway_url() + "/metrics");
  EXPECT_NE(metrics.body.find("flightdeck_gateway_rate_limited_total{subject=\"token\"}"), std::string::npos);
  EXPECT_NE(metrics.body.find("flightdeck_gateway_rate_limited_total{subject=\"address\"}"), std::string::npos);
  EXPECT_NE(metrics.body.find("flightdeck_gateway_rate_limited_total{subject=\"routing_key\"}"), std::string::npos);
}

TEST(RateLimitE2E, WithRedisStoppedTheGatewayStillLimits) {
  cache::testing::RedisProcess redis(cache::testing::FreeLoopbackPort());
  std::string error;
  ASSERT_TRUE(redis.Start(&error)) << error;
  std::map<std::string, std::string> env = Limits();
  env["REDIS_URL"] = redis.url();
  Stack stack(env);
  ASSERT_TRUE(stack.WaitReady()) << stack.Logs();
  const std::string token = NewToken(stack, "viewer", "VIEWER");
  ASSERT_EQ(WhoAmI(stack, token).status, 200);

  redis.Stop();
  int allowed = 0;
  HttpResponse limited = BurstUntilLimited([&] { return WhoAmI(stack, token); }, 3 * kPerMinute, &allowed);
  ExpectLimitedAnswer(limited, kPerMinute);
  // The in-process bucket starts full when Redis goes away: about one limit's worth, and the
  // calls it allows are answered (Redis is only a cache).
  EXPECT_GE(allowed, kPerMinute - 1);
  EXPECT_LE(allowed, kPerMinute + 2);
  HttpResponse metrics = HttpRequest("GET", stack.gateway_url() + "/metrics");
  EXPECT_NE(metrics.body.find("flightdeck_gateway_rate_limit_local_decisions_total"), std::string::npos);
  EXPECT_EQ(metrics.body.find("flightdeck_gateway_rate_limit_local_decisions_total 0\n"), std::string::npos)
      << "the in-process limiter decided";
}

}  // namespace
}  // namespace flightdeck::test
