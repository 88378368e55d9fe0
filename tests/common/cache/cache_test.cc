// Integration tests of the Redis cache. The round-trip tests use the Redis of REDIS_URL; the
// fail-open and auth tests start their own redis-server (they stop and restart it) and a
// silent TCP listener that stands in for a hanging Redis.
#include "common/cache/cache.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "common/metrics/metrics.h"
#include "common/trace/trace.h"
#include "tests/common/cache/test_servers.h"

namespace flightdeck::cache {
namespace {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

class CollectingProcessor : public trace::SpanProcessor {
 public:
  void OnEnd(trace::SpanData span) override {
    std::lock_guard<std::mutex> lock(mu_);
    spans_.push_back(std::move(span));
  }
  void Shutdown() override {}
  std::vector<trace::SpanData> Take() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::move(spans_);
  }

 private:
  std::mutex mu_;
  std::vector<trace::SpanData> spans_;
};

milliseconds Since(SteadyClock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(SteadyClock::now() - start);
}

bool WaitFor(const std::function<bool()>& condition, milliseconds limit) {
  const auto deadline = SteadyClock::now() + limit;
  while (SteadyClock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return condition();
}

double Ops(metrics::Registry& registry, const std::string& op, const std::string& result) {
  return registry.AddCounter("flightdeck_cache_operations_total", "", {"op", "result"})
      .With({op, result})
      .Value();
}

double BreakerGauge(metrics::Registry& registry) {
  return registry.AddGauge("flightdeck_cache_breaker_open", "").With({}).Value();
}

// Keys that no other run sharing REDIS_URL can collide with; callable from many threads.
std::string UniqueKey(const std::string& name) {
  static const std::string run =
      std::to_string(getpid()) + "-" + std::to_string(std::random_device{}());
  static std::atomic<long> sequence{0};
  return "fdtest:cache:" + run + ":" + std::to_string(++sequence) + ":" + name;
}

std::string StringAttribute(const trace::SpanData& span, const std::string& key) {
  for (const auto& [k, v] : span.attributes) {
    if (k == key && std::holds_alternative<std::string>(v)) return std::get<std::string>(v);
  }
  return "";
}

bool AnyAttributeContains(const trace::SpanData& span, const std::string& needle) {
  for (const auto& [k, v] : span.attributes) {
    if (std::holds_alternative<std::string>(v) &&
        std::get<std::string>(v).find(needle) != std::string::npos) {
      return true;
    }
  }
  return span.status_message.find(needle) != std::string::npos;
}

class CacheTest : public ::testing::Test {
 protected:
  void SetUp() override { trace::SetProcessorForTesting(spans_); }

  std::shared_ptr<CollectingProcessor> spans_ = std::make_shared<CollectingProcessor>();
  metrics::Registry registry_;
};

// ---- against the Redis of REDIS_URL --------------------------------------------------------

class CacheWithRedisUrlTest : public CacheTest {
 protected:
  void SetUp() override {
    CacheTest::SetUp();
    const char* url = std::getenv("REDIS_URL");
    ASSERT_TRUE(url != nullptr && *url != '\0')
        << "REDIS_URL is not set: this integration test needs a Redis, e.g. "
           "REDIS_URL=redis://127.0.0.1:6379/0 (scripts/test starts one)";
    options_.url = url;
  }
  CacheOptions options_;
};

TEST_F(CacheWithRedisUrlTest, SetGetDelAndTtlExpiryRoundTrip) {
  Cache cache(options_, &registry_);
  ASSERT_TRUE(cache.Ping()) << "no PING answer from REDIS_URL";
  const std::string key = UniqueKey("roundtrip");
  const std::string value("release\0with binary\xff bytes", 26);

  EXPECT_EQ(cache.Get(key), std::nullopt);
  cache.Set(key, value, milliseconds(60000));
  EXPECT_EQ(cache.Get(key), value);
  cache.Del(key);
  EXPECT_EQ(cache.Get(key), std::nullopt);
  EXPECT_EQ(Ops(registry_, "get", "hit"), 1);
  EXPECT_EQ(Ops(registry_, "get", "miss"), 2);
  EXPECT_EQ(Ops(registry_, "set", "ok"), 1);
  EXPECT_EQ(Ops(registry_, "del", "ok"), 1);

  const std::string short_lived = UniqueKey("ttl");
  const auto set_at = SteadyClock::now();
  cache.Set(short_lived, "soon gone", milliseconds(600));
  EXPECT_EQ(cache.Get(short_lived), "soon gone");
  ASSERT_TRUE(WaitFor([&] { return !cache.Get(short_lived).has_value(); }, milliseconds(5000)))
      << "a 600 ms TTL did not expire within 5 s";
  EXPECT_GE(Since(set_at).count(), 500) << "expired long before its TTL";

  EXPECT_EQ(Ops(registry_, "get", "miss"), 3);
  EXPECT_EQ(Ops(registry_, "set", "ok"), 2);
  EXPECT_EQ(Ops(registry_, "get", "error"), 0);
  EXPECT_FALSE(cache.breaker_open());
  EXPECT_EQ(BreakerGauge(registry_), 0);
}

TEST_F(CacheWithRedisUrlTest, AVersionedEntryIsNeverReplacedByAnOlderOne) {
  Cache cache(options_, &registry_);
  ASSERT_TRUE(cache.Ping()) << "no PING answer from REDIS_URL";
  const std::string key = UniqueKey("versioned");
  const milliseconds ttl(60000);
  const std::string v4("rev 4\0binary", 12);

  cache.SetVersioned(key, 4, v4, ttl);
  EXPECT_EQ(cache.GetVersioned(key), v4);
  // The race a plain Del/Set loses: a writer commits revision 5 and invalidates; a reader that
  // loaded revision 4 before the commit tries to store it afterwards.
  cache.InvalidateVersion(key, 5, ttl);
  EXPECT_EQ(cache.GetVersioned(key), std::nullopt);
  cache.SetVersioned(key, 4, v4, ttl);
  EXPECT_EQ(cache.GetVersioned(key), std::nullopt) << "revision 4 came back after 5 was committed";
  cache.SetVersioned(key, 5, "rev 5", ttl);
  EXPECT_EQ(cache.GetVersioned(key), "rev 5");
  // Late arrivals of older versions change nothing.
  cache.SetVersioned(key, 3, "rev 3", ttl);
  cache.InvalidateVersion(key, 4, ttl);
  EXPECT_EQ(cache.GetVersioned(key), "rev 5");
  cache.SetVersioned(key, 5, "rev 5 again", ttl);
  EXPECT_EQ(cache.GetVersioned(key), "rev 5") << "an equal version does not overwrite";
  cache.InvalidateVersion(key, 6, ttl);
  cache.SetVersioned(key, 6, "rev 6", ttl);
  EXPECT_EQ(cache.GetVersioned(key), "rev 6");
  EXPECT_EQ(Ops(registry_, "set", "error"), 0);
  EXPECT_EQ(Ops(registry_, "del", "error"), 0);
}

TEST_F(CacheWithRedisUrlTest, SpansNameTheOperationAndNeverCarryTheValue) {
  Cache cache(options_);
  const std::string key = UniqueKey("span");
  cache.Set(key, "value-that-must-not-leak", milliseconds(10000));
  EXPECT_EQ(cache.Get(key), "value-that-must-not-leak");
  cache.Del(key);

  std::vector<trace::SpanData> spans = spans_->Take();
  std::vector<std::string> names;
  for (const auto& span : spans) {
    if (span.name.rfind("redis ", 0) != 0) continue;
    names.push_back(span.name);
    EXPECT_EQ(span.kind, trace::SpanKind::kClient);
    EXPECT_EQ(StringAttribute(span, "db.system"), "redis");
    EXPECT_EQ("redis " + StringAttribute(span, "db.operation"), span.name);
    EXPECT_FALSE(AnyAttributeContains(span, "value-that-must-not-leak"));
    EXPECT_NE(span.status, trace::StatusCode::kError) << span.status_message;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"redis SET", "redis GET", "redis DEL"}));
}

TEST_F(CacheWithRedisUrlTest, ConcurrentCallersSharingTwoConnectionsSeeTheirOwnValues) {
  options_.connections = 2;
  Cache cache(options_, &registry_);
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        const std::string key = UniqueKey("t" + std::to_string(t) + "-" + std::to_string(i));
        const std::string value = std::to_string(t * 1000 + i);
        cache.Set(key, value, milliseconds(10000));
        if (cache.Get(key) != value) ++wrong;
        cache.Del(key);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(Ops(registry_, "get", "hit"), 600);
  EXPECT_EQ(Ops(registry_, "get", "error"), 0);
}

// ---- fail-open against a private redis-server ------------------------------------------------

TEST_F(CacheTest, RedisStoppedFailsOpenBreakerSkipsThenRecoversAfterRestart) {
  testing::RedisProcess redis(testing::FreeLoopbackPort());
  std::string error;
  ASSERT_TRUE(redis.Start(&error)) << error;

  CacheOptions options;
  options.url = redis.url();
  options.connect_timeout = milliseconds(200);
  options.command_timeout = milliseconds(200);
  options.connections = 2;
  options.failure_threshold = 3;
  options.open_for = milliseconds(1000);
  Cache cache(options, &registry_);
  cache.Set("release:api:production", "r-42", milliseconds(60000));
  ASSERT_EQ(cache.Get("release:api:production"), "r-42");

  redis.Stop();
  // Before the breaker opens, every call still tries Redis and gives up quickly.
  for (int i = 0; i < options.failure_threshold; ++i) {
    const auto start = SteadyClock::now();
    EXPECT_EQ(cache.Get("release:api:production"), std::nullopt);
    EXPECT_LT(Since(start).count(), 200 + 300) << "call " << i << " outlived the command timeout";
  }
  const auto opened_at = SteadyClock::now();
  EXPECT_TRUE(cache.breaker_open());
  EXPECT_EQ(BreakerGauge(registry_), 1);
  EXPECT_EQ(Ops(registry_, "get", "error"), options.failure_threshold);
  EXPECT_FALSE(cache.Ping());

  // Open: no network at all, so a burst costs far less than one timeout in total.
  constexpr int kBurst = 200;
  const auto burst_start = SteadyClock::now();
  for (int i = 0; i < kBurst; ++i) {
    EXPECT_EQ(cache.Get("release:api:production"), std::nullopt);
    cache.Set("release:api:production", "r-43", milliseconds(60000));
    cache.Del("release:api:production");
  }
  EXPECT_LT(Since(burst_start).count(), 200)
      << kBurst * 3 << " calls with the breaker open took longer than one command timeout";
  EXPECT_EQ(Ops(registry_, "get", "skipped"), kBurst);
  EXPECT_EQ(Ops(registry_, "set", "skipped"), kBurst);
  EXPECT_EQ(Ops(registry_, "del", "skipped"), kBurst);
  EXPECT_EQ(Ops(registry_, "get", "error"), options.failure_threshold);

  ASSERT_TRUE(redis.Start(&error)) << "restart on the same port: " << error;
  if (Since(opened_at) < milliseconds(800)) {
    cache.Set("after-restart", "early", milliseconds(60000));
    EXPECT_EQ(Ops(registry_, "set", "skipped"), kBurst + 1)
        << "the breaker let a call through before open_for had passed";
  }
  ASSERT_TRUE(WaitFor(
      [&] {
        cache.Set("after-restart", "back", milliseconds(60000));
        return cache.Get("after-restart") == "back";
      },
      milliseconds(5000)))
      << "the cache did not recover within 5 s of Redis coming back";
  EXPECT_GE(Since(opened_at).count(), 1000 - 50) << "closed before open_for had passed";
  EXPECT_FALSE(cache.breaker_open());
  EXPECT_EQ(BreakerGauge(registry_), 0);
  EXPECT_TRUE(cache.Ping());
}

TEST_F(CacheTest, RedisRestartBetweenCallsIsNotAnError) {
  testing::RedisProcess redis(testing::FreeLoopbackPort());
  std::string error;
  ASSERT_TRUE(redis.Start(&error)) << error;
  CacheOptions options;
  options.url = redis.url();
  options.connections = 1;
  options.failure_threshold = 1;
  Cache cache(options, &registry_);
  cache.Set("k", "before", milliseconds(60000));

  redis.Stop();
  ASSERT_TRUE(redis.Start(&error)) << error;
  // The pooled connection died with the old server; the call reconnects instead of failing.
  EXPECT_EQ(cache.Get("k"), std::nullopt);
  cache.Set("k", "after", milliseconds(60000));
  EXPECT_EQ(cache.Get("k"), "after");
  EXPECT_EQ(Ops(registry_, "get", "miss"), 1);
  EXPECT_EQ(Ops(registry_, "get", "error"), 0);
  EXPECT_FALSE(cache.breaker_open());
}

// A hung Redis (SIGSTOP) keeps its entries: an invalidation skipped meanwhile (breaker open)
// must not let the old entry be served once Redis answers again; the invalidation is delivered
// before the next read, leaving its version marker (tests/chaos/redis_faults_test.cc end to end).
TEST_F(CacheTest, AnInvalidationAHungRedisMissedIsDeliveredBeforeTheKeyIsServedAgain) {
  testing::RedisProcess redis(testing::FreeLoopbackPort());
  std::string error;
  ASSERT_TRUE(redis.Start(&error)) << error;
  CacheOptions options;
  options.url = redis.url();
  options.connect_timeout = milliseconds(100);
  options.command_timeout = milliseconds(100);
  options.failure_threshold = 1;
  options.open_for = milliseconds(200);
  Cache cache(options, &registry_);
  cache.SetVersioned("release:1", 4, "old", milliseconds(60000));
  ASSERT_EQ(cache.GetVersioned("release:1"), "old");

  kill(redis.pid(), SIGSTOP);
  EXPECT_EQ(cache.Get("other"), std::nullopt);  // times out: the breaker opens
  ASSERT_TRUE(cache.breaker_open());
  cache.InvalidateVersion("release:1", 5, milliseconds(60000));  // skipped
  kill(redis.pid(), SIGCONT);

  // Every read from here on: never the old entry, while the breaker closes again.
  ASSERT_TRUE(WaitFor(
      [&] {
        EXPECT_NE(cache.GetVersioned("release:1"), "old");
        return !cache.breaker_open();
      },
      milliseconds(5000)));
  EXPECT_NE(cache.GetVersioned("release:1"), "old");
  // The marker of version 5 is in Redis: a reader's older copy is refused, a newer one kept.
  cache.SetVersioned("release:1", 4, "old", milliseconds(60000));
  EXPECT_EQ(cache.GetVersioned("release:1"), std::nullopt);
  cache.SetVersioned("release:1", 5, "new", milliseconds(60000));
  EXPECT_EQ(cache.GetVersioned("release:1"), "new");
}

TEST_F(CacheTest, HangingRedisCostsAtMostTheCommandTimeout) {
  testing::SilentListener hanging;
  CacheOptions options;
  options.url = "redis://127.0.0.1:" + std::to_string(hanging.port());
  options.command_timeout = milliseconds(200);
  options.connections = 1;
  options.failure_threshold = 3;
  options.open_for = milliseconds(60000);
  Cache cache(options, &registry_);

  const auto start = SteadyClock::now();
  EXPECT_EQ(cache.Get("release:api:production"), std::nullopt);
  const milliseconds took = Since(start);
  EXPECT_GE(took.count(), 150) << "gave up before the command timeout: not a timeout";
  EXPECT_LT(took.count(), 200 + 300) << "waited past the command timeout";
  EXPECT_EQ(Ops(registry_, "get", "error"), 1);

  std::vector<trace::SpanData> spans = spans_->Take();
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].name, "redis GET");
  EXPECT_EQ(spans[0].status, trace::StatusCode::kError);
  EXPECT_NE(spans[0].status_message.find("no answer within"), std::string::npos)
      << spans[0].status_message;

  // Callers queued behind the stuck connection spend their budget waiting, not twice over.
  std::vector<std::thread> threads;
  std::vector<long long> durations(3);
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      const auto s = SteadyClock::now();
      cache.Get("release:api:staging");
      durations[t] = Since(s).count();
    });
  }
  for (auto& thread : threads) thread.join();
  for (long long d : durations) EXPECT_LT(d, 200 + 300);

  EXPECT_TRUE(cache.breaker_open());
  const auto open_start = SteadyClock::now();
  EXPECT_EQ(cache.Get("release:api:production"), std::nullopt);
  EXPECT_LT(Since(open_start).count(), 20);
}

// ---- authentication and database selection from the URL ---------------------------------------

TEST_F(CacheTest, PasswordAndDatabaseFromTheUrl) {
  testing::RedisProcess redis(testing::FreeLoopbackPort(), {"--requirepass", "s3cret-pw"});
  std::string error;
  ASSERT_TRUE(redis.Start(&error)) << error;

  Cache db3(CacheOptions{redis.url(":s3cret-pw", 3)}, &registry_);
  ASSERT_TRUE(db3.Ping());
  db3.Set("health:api", "ok", milliseconds(60000));
  EXPECT_EQ(db3.Get("health:api"), "ok");

  Cache db0(CacheOptions{redis.url(":s3cret-pw", 0)});
  EXPECT_EQ(db0.Get("health:api"), std::nullopt) << "SELECT was not applied";
  EXPECT_FALSE(db0.breaker_open());

  Cache no_password(CacheOptions{redis.url("", 3)});
  EXPECT_EQ(no_password.Get("health:api"), std::nullopt);
}

TEST_F(CacheTest, AclUserAndPassword) {
  testing::RedisProcess redis(testing::FreeLoopbackPort(),
                              {"--user", "deployer", "on", ">deployer-pw", "~*", "&*", "+@all"});
  std::string error;
  ASSERT_TRUE(redis.Start(&error)) << error;

  Cache cache(CacheOptions{redis.url("deployer:deployer-pw")}, &registry_);
  cache.Set("k", "v", milliseconds(60000));
  EXPECT_EQ(cache.Get("k"), "v");
  EXPECT_EQ(Ops(registry_, "set", "ok"), 1);
}

TEST_F(CacheTest, WrongPasswordFailsOpenAndNeverShowsThePassword) {
  testing::RedisProcess redis(testing::FreeLoopbackPort(), {"--requirepass", "right-pw"});
  std::string error;
  ASSERT_TRUE(redis.Start(&error)) << error;

  Cache cache(CacheOptions{redis.url(":Wrong-Pa55word")}, &registry_);
  EXPECT_EQ(cache.Get("k"), std::nullopt);
  cache.Set("k", "v", milliseconds(60000));
  EXPECT_FALSE(cache.Ping());
  EXPECT_EQ(Ops(registry_, "get", "error"), 1);
  EXPECT_EQ(Ops(registry_, "set", "error"), 1);

  std::vector<trace::SpanData> spans = spans_->Take();
  ASSERT_EQ(spans.size(), 3u);
  for (const auto& span : spans) {
    EXPECT_EQ(span.status, trace::StatusCode::kError);
    EXPECT_NE(span.status_message.find("AUTH"), std::string::npos) << span.status_message;
    EXPECT_FALSE(AnyAttributeContains(span, "Wrong-Pa55word"));
  }
}

TEST(CacheOptionsTest, MalformedUrlIsRejectedWithoutEchoingThePassword) {
  try {
    Cache cache(CacheOptions{"redis://:hunter2@:6379"});
    FAIL() << "a URL without a host was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace flightdeck::cache
