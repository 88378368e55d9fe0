// Integration: the rate limiter's Lua script against a real Redis (REDIS_URL), decision for
// decision the same as the C++ bucket; atomic under concurrent callers; and the in-process
// limiter taking over when a private redis-server is stopped.
#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/cache/cache.h"
#include "common/clock/clock.h"
#include "common/metrics/metrics.h"
#include "services/gateway/core/rate_limiter.h"
#include "services/gateway/core/token_bucket.h"
#include "tests/common/cache/test_servers.h"
#include "tests/support/env.h"

namespace flightdeck::gateway {
namespace {

std::string UniqueKey(const std::string& what) {
  std::random_device rd;
  return "flightdeck:ratelimit:test:" + what + ":" + std::to_string(rd()) + std::to_string(rd());
}

cache::CacheOptions SharedRedis() {
  cache::CacheOptions options;
  options.url = test::RequireEnv("REDIS_URL");
  options.command_timeout = std::chrono::milliseconds(2000);  // a loaded CI machine
  return options;
}

TEST(RateLimitScript, DecidesExactlyAsTheBucketDoesAtTheSameTimes) {
  cache::Cache redis(SharedRedis());
  const std::string key = UniqueKey("same");
  BucketState state;
  bool fresh = true;
  // Bursts, refusals, partial refills, a clock step backwards, a long idle time.
  const std::vector<int64_t> times = {1000, 1000, 1000, 1000, 1000, 1000, 1001, 1500, 8000,
                                      8000, 8000, 7000, 9000, 9001, 9002, 100000, 100000};
  for (int64_t per_minute : {5LL, 7LL}) {
    int64_t want = 1;
    for (int64_t now : times) {
      want = want % 3 + 1;  // one, two or three at a time
      std::optional<RateDecision> lua = TakeFromRedisBucket(redis, key + std::to_string(per_minute),
                                                            per_minute, now, want);
      ASSERT_TRUE(lua.has_value()) << "Redis did not answer";
      RateDecision cpp = TakeFromBucket(state, fresh, now, per_minute, want);
      fresh = false;
      EXPECT_EQ(lua->allowed, cpp.allowed) << "at " << now << " ms, " << per_minute << "/min";
      EXPECT_EQ(lua->granted, cpp.granted) << "at " << now;
      EXPECT_EQ(lua->remaining, cpp.remaining) << "at " << now;
      EXPECT_EQ(lua->retry_after_ms, cpp.retry_after_ms) << "at " << now;
      EXPECT_EQ(lua->reset_ms, cpp.reset_ms) << "at " << now;
    }
    state = BucketState{};
    fresh = true;
  }
}

TEST(RateLimitScript, ConcurrentCallersNeverTakeMoreThanTheBucketHolds) {
  cache::CacheOptions options = SharedRedis();
  options.connections = 8;
  cache::Cache redis(options);
  const std::string key = UniqueKey("atomic");
  std::atomic<int> allowed{0};
  std::atomic<int> answered{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        // Redis's own clock: 1 request a minute refills nothing meanwhile worth a request.
        std::optional<RateDecision> d = TakeFromRedisBucket(redis, key, 50);
        if (!d) continue;
        ++answered;
        if (d->allowed) ++allowed;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(answered.load(), 200);
  // 50 a minute: the burst is 50, and the 200 calls take far less than the 1.2 s that would
  // refill another one... on a loaded machine perhaps not, so allow that, never fewer.
  EXPECT_GE(allowed.load(), 50);
  EXPECT_LE(allowed.load(), 52);
}

TEST(RateLimitScript, AnIdleBucketExpiresOnceItWouldBeFull) {
  cache::Cache redis(SharedRedis());
  const std::string key = UniqueKey("expiry");
  ASSERT_TRUE(TakeFromRedisBucket(redis, key, 600000, 1).has_value());  // refills in 1 ms
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    gone = redis.EvalIntegers("return {redis.call('EXISTS', KEYS[1])}", {key}, {}) ==
           std::optional<std::vector<long long>>(std::vector<long long>{0});
  }
  EXPECT_TRUE(gone);
}

double Counter(metrics::Registry& registry, const std::string& name,
               const std::vector<std::string>& labels = {}, const std::vector<std::string>& values = {}) {
  return registry.AddCounter(name, "", labels).With(values).Value();
}

// What the call core does: a decision from memory when there is one, else from Redis.
RateDecision DecideAsTheCoreDoes(RateLimiter& limiter, const RateKey& key) {
  if (std::optional<RateDecision> known = limiter.DecideWithoutIo(key)) return *known;
  return limiter.Decide(key);
}

TEST(RateLimiterWithRedis, ABusyCallerAsksRedisForASecondsWorthAndStaysWithinItsLimit) {
  metrics::Registry registry;
  cache::CacheOptions options = SharedRedis();
  cache::Cache redis(options, &registry);
  SystemClock clock;
  RateLimitOptions limits;
  limits.per_minute = 600;  // batches of 10
  RateLimiter limiter(limits, &redis, clock, &registry);
  RateKey key = limiter.ForPrincipal({UniqueKey("busy"), v1::Token::VIEWER});
  const auto start = std::chrono::steady_clock::now();
  int allowed = 0;
  for (int i = 0; i < 700; ++i) allowed += DecideAsTheCoreDoes(limiter, key).allowed ? 1 : 0;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double evals = Counter(registry, "flightdeck_cache_operations_total", {"op", "result"}, {"eval", "ok"});
  EXPECT_GE(allowed, 600);
  // Never beyond the burst plus what refilled meanwhile (10 a second).
  EXPECT_LE(allowed, 600 + static_cast<int>(seconds * 10) + 1) << seconds << " s";
  EXPECT_LT(evals, 700 / 5) << "a busy caller should mostly be decided from memory";
}

TEST(RateLimiterWithRedis, AnOccasionalCallerTakesOneAtATime) {
  metrics::Registry registry;
  cache::Cache redis(SharedRedis(), &registry);
  FakeClock clock;
  RateLimitOptions limits;
  limits.per_minute = 600;
  RateLimiter limiter(limits, &redis, clock, &registry);
  RateKey key = limiter.ForPrincipal({UniqueKey("occasional"), v1::Token::VIEWER});
  for (int i = 0; i < 3; ++i) {
    RateDecision d = DecideAsTheCoreDoes(limiter, key);
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(d.granted, 1) << "a call every 2 s takes one request at a time";
    EXPECT_FALSE(limiter.DecideWithoutIo(key).has_value()) << "nothing was taken ahead";
    clock.Advance(std::chrono::seconds(2));
  }
  // Back within a second: busy now, so a second's worth (10) is taken, 9 of them ahead.
  EXPECT_EQ(DecideAsTheCoreDoes(limiter, key).granted, 1);
  clock.Advance(std::chrono::milliseconds(100));
  RateDecision batch = DecideAsTheCoreDoes(limiter, key);
  EXPECT_EQ(batch.granted, 10);
  EXPECT_GE(batch.remaining, 9) << "what Redis has left plus what this process holds";
  int from_memory = 0;
  while (limiter.DecideWithoutIo(key).has_value() && from_memory < 100) ++from_memory;
  EXPECT_EQ(from_memory, 9);
}

TEST(RateLimiterFallback, WhenRedisStopsTheProcessKeepsLimiting) {
  const int port = cache::testing::FreeLoopbackPort();
  cache::testing::RedisProcess server(port);
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  metrics::Registry registry;
  cache::CacheOptions options;
  options.url = server.url();
  options.command_timeout = std::chrono::milliseconds(500);
  options.failure_threshold = 1;
  cache::Cache redis(options, &registry);
  SystemClock clock;
  RateLimitOptions limits;
  limits.per_minute = 3;
  RateLimiter limiter(limits, &redis, clock, &registry);

  RateKey alice = limiter.ForPrincipal({"alice", v1::Token::DEPLOYER});
  EXPECT_FALSE(limiter.DecideWithoutIo(alice).has_value()) << "Redis is up: it must be asked";
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Decide(alice).allowed);
  RateDecision refused = limiter.Decide(alice);
  EXPECT_FALSE(refused.allowed);
  EXPECT_GT(refused.retry_after_ms, 0);
  // Known empty: the next refusal is told from memory, without asking Redis.
  const double evals = Counter(registry, "flightdeck_cache_operations_total", {"op", "result"}, {"eval", "ok"});
  std::optional<RateDecision> remembered = limiter.DecideWithoutIo(alice);
  ASSERT_TRUE(remembered.has_value());
  EXPECT_FALSE(remembered->allowed);
  EXPECT_EQ(Counter(registry, "flightdeck_cache_operations_total", {"op", "result"}, {"eval", "ok"}), evals);
  EXPECT_EQ(Counter(registry, "flightdeck_gateway_rate_limited_total", {"subject"}, {"token"}), 2);

  server.Stop();
  RateKey bob = limiter.ForPrincipal({"bob", v1::Token::DEPLOYER});
  int allowed = 0;
  for (int i = 0; i < 10; ++i) allowed += limiter.Decide(bob).allowed ? 1 : 0;
  EXPECT_EQ(allowed, 3) << "the in-process bucket holds the same limit";
  EXPECT_GE(Counter(registry, "flightdeck_gateway_rate_limit_local_decisions_total"), 10);
  // With the breaker open the decision needs no I/O at all.
  EXPECT_TRUE(redis.breaker_open());
  EXPECT_TRUE(limiter.DecideWithoutIo(bob).has_value());
}

}  // namespace
}  // namespace flightdeck::gateway
