// Unit: the token bucket's arithmetic, the in-process limiter (no Redis) on a fake clock, and
// the HTTP fields a decision is told with.
#include <map>

#include <gtest/gtest.h>

#include "common/clock/clock.h"
#include "services/gateway/core/rate_limiter.h"
#include "services/gateway/core/token_bucket.h"

namespace flightdeck::gateway {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(TokenBucket, AFreshBucketAllowsAMinutesWorthThenRefusesWithTheWait) {
  BucketState state;
  RateDecision first = TakeFromBucket(state, /*fresh=*/true, 1000, 60);
  EXPECT_TRUE(first.allowed);
  EXPECT_EQ(first.limit, 60);
  EXPECT_EQ(first.remaining, 59);
  EXPECT_EQ(first.reset_ms, 1000);  // one request's worth at 1 a second
  for (int i = 0; i < 59; ++i) ASSERT_TRUE(TakeFromBucket(state, false, 1000, 60).allowed) << i;
  RateDecision refused = TakeFromBucket(state, false, 1000, 60);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.remaining, 0);
  EXPECT_EQ(refused.retry_after_ms, 1000);
  EXPECT_EQ(refused.reset_ms, 60000);
}

TEST(TokenBucket, RefillsContinuouslyAtTheSustainedRate) {
  BucketState state;
  TakeFromBucket(state, true, 0, 60);
  for (int i = 0; i < 59; ++i) TakeFromBucket(state, false, 0, 60);
  EXPECT_FALSE(TakeFromBucket(state, false, 0, 60).allowed);
  RateDecision early = TakeFromBucket(state, false, 400, 60);
  EXPECT_FALSE(early.allowed);
  EXPECT_EQ(early.retry_after_ms, 600);  // 0.4 of a request has refilled
  EXPECT_TRUE(TakeFromBucket(state, false, 1000, 60).allowed);
  EXPECT_FALSE(TakeFromBucket(state, false, 1000, 60).allowed);
  // A long idle time fills the bucket, never beyond its capacity.
  RateDecision later = TakeFromBucket(state, false, 10'000'000, 60);
  EXPECT_TRUE(later.allowed);
  EXPECT_EQ(later.remaining, 59);
}

TEST(TokenBucket, UnevenRatesRoundTheWaitUpNeverDown) {
  BucketState state;
  TakeFromBucket(state, true, 0, 7);  // one request every 8571.43 ms
  for (int i = 0; i < 6; ++i) TakeFromBucket(state, false, 0, 7);
  RateDecision refused = TakeFromBucket(state, false, 0, 7);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after_ms, 8572);
  EXPECT_FALSE(TakeFromBucket(state, false, 8571, 7).allowed);
  EXPECT_TRUE(TakeFromBucket(state, false, 8572, 7).allowed);
}

TEST(TokenBucket, TakesSeveralAtOnceButNeverMoreThanItHolds) {
  BucketState state;
  RateDecision batch = TakeFromBucket(state, true, 0, 10, /*want=*/4);
  EXPECT_TRUE(batch.allowed);
  EXPECT_EQ(batch.granted, 4);
  EXPECT_EQ(batch.remaining, 6);
  EXPECT_EQ(TakeFromBucket(state, false, 0, 10, 4).granted, 4);
  RateDecision rest = TakeFromBucket(state, false, 0, 10, 4);
  EXPECT_EQ(rest.granted, 2);
  EXPECT_EQ(rest.remaining, 0);
  RateDecision none = TakeFromBucket(state, false, 0, 10, 4);
  EXPECT_FALSE(none.allowed);
  EXPECT_EQ(none.granted, 0);
  EXPECT_EQ(none.retry_after_ms, 6000);
}

TEST(TokenBucket, AClockGoingBackwardsRefillsNothing) {
  BucketState state;
  TakeFromBucket(state, true, 5000, 1);
  EXPECT_FALSE(TakeFromBucket(state, false, 0, 1).allowed);
  EXPECT_EQ(state.updated_ms, 5000);
  EXPECT_FALSE(TakeFromBucket(state, false, 5000 + 59999, 1).allowed);
  EXPECT_TRUE(TakeFromBucket(state, false, 5000 + 60000, 1).allowed);
}

TEST(RateLimitHeaders, IetfFieldsInSecondsAndRetryAfterOnlyWhenRefused) {
  RateDecision allowed;
  allowed.limit = 600;
  allowed.remaining = 599;
  allowed.reset_ms = 100;
  std::map<std::string, std::string> h;
  for (auto& [k, v] : RateLimitHeaders(allowed)) h[k] = v;
  EXPECT_EQ(h["RateLimit-Limit"], "600");
  EXPECT_EQ(h["RateLimit-Remaining"], "599");
  EXPECT_EQ(h["RateLimit-Reset"], "1");
  EXPECT_EQ(h.count("Retry-After"), 0u);
  h.clear();
  RateDecision refused;
  refused.allowed = false;
  refused.limit = 60;
  refused.retry_after_ms = 1001;
  refused.reset_ms = 59001;
  for (auto& [k, v] : RateLimitHeaders(refused)) h[k] = v;
  EXPECT_EQ(h["Retry-After"], "2");
  EXPECT_EQ(h["RateLimit-Reset"], "60");
  EXPECT_TRUE(RateLimitHeaders(RateDecision{}).empty());  // not limited: no fields
}

class LocalLimiter : public ::testing::Test {
 protected:
  RateLimiter Make(RateLimitOptions options) { return RateLimiter(std::move(options), nullptr, clock_); }
  FakeClock clock_;
};

TEST_F(LocalLimiter, DecidesWithoutIoAndLimitsEachTokenApart) {
  RateLimitOptions options;
  options.per_minute = 3;
  RateLimiter limiter = Make(options);
  RateKey alice = limiter.ForPrincipal({"alice", v1::Token::VIEWER});
  RateKey bob = limiter.ForPrincipal({"bob", v1::Token::VIEWER});
  for (int i = 0; i < 3; ++i) {
    std::optional<RateDecision> d = limiter.DecideWithoutIo(alice);
    ASSERT_TRUE(d.has_value());
    EXPECT_TRUE(d->allowed);
  }
  RateDecision refused = limiter.Decide(alice);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after_ms, 20000);
  EXPECT_TRUE(limiter.Decide(bob).allowed);
  clock_.Advance(seconds(20));
  EXPECT_TRUE(limiter.Decide(alice).allowed);
}

TEST_F(LocalLimiter, RoleOverridesAndZeroMeansUnlimited) {
  RateLimitOptions options;
  options.per_minute = 1;
  options.per_role[v1::Token::INGEST] = 0;
  options.per_role[v1::Token::ADMIN] = 2;
  RateLimiter limiter = Make(options);
  RateKey ingest = limiter.ForPrincipal({"alertmanager", v1::Token::INGEST});
  for (int i = 0; i < 100; ++i) {
    RateDecision d = limiter.Decide(ingest);
    ASSERT_TRUE(d.allowed);
    EXPECT_EQ(d.limit, 0);
  }
  RateKey admin = limiter.ForPrincipal({"root", v1::Token::ADMIN});
  EXPECT_TRUE(limiter.Decide(admin).allowed);
  EXPECT_TRUE(limiter.Decide(admin).allowed);
  EXPECT_FALSE(limiter.Decide(admin).allowed);
  RateKey viewer = limiter.ForPrincipal({"v", v1::Token::VIEWER});
  EXPECT_TRUE(limiter.Decide(viewer).allowed);
  EXPECT_FALSE(limiter.Decide(viewer).allowed);
  // Routing keys count as INGEST callers.
  EXPECT_EQ(limiter.ForRoutingKey("R0123").per_minute, 0);
}

TEST_F(LocalLimiter, AddressesLoseThePortAndRoutingKeysAreHashed) {
  RateLimitOptions options;
  options.per_minute = 5;
  options.anonymous_per_minute = 2;
  RateLimiter limiter = Make(options);
  EXPECT_EQ(limiter.ForAddress("10.1.2.3:5123").id, "10.1.2.3");
  EXPECT_EQ(limiter.ForAddress("[::1]:5123").id, "::1");
  EXPECT_EQ(limiter.ForAddress("10.1.2.3:5123").per_minute, 2);
  EXPECT_TRUE(limiter.Decide(limiter.ForAddress("10.1.2.3:1")).allowed);
  EXPECT_TRUE(limiter.Decide(limiter.ForAddress("10.1.2.3:2")).allowed);
  EXPECT_FALSE(limiter.Decide(limiter.ForAddress("10.1.2.3:3")).allowed);  // same host
  RateKey rk = limiter.ForRoutingKey("R0123456789abcdef");
  EXPECT_EQ(rk.RedisKey().find("R0123456789abcdef"), std::string::npos);
  EXPECT_EQ(rk.id, limiter.ForRoutingKey("R0123456789abcdef").id);
}

TEST_F(LocalLimiter, MemoryIsBoundedByTheLeastRecentlyUsedBuckets) {
  RateLimitOptions options;
  options.per_minute = 1;
  options.local_buckets = 2;
  RateLimiter limiter = Make(options);
  RateKey a = limiter.ForPrincipal({"a", v1::Token::VIEWER});
  EXPECT_TRUE(limiter.Decide(a).allowed);
  EXPECT_FALSE(limiter.Decide(a).allowed);
  // Two other callers push a's empty bucket out: a starts over with a full one. Memory stays
  // at two buckets; the price is that an evicted caller is forgiven.
  EXPECT_TRUE(limiter.Decide(limiter.ForPrincipal({"b", v1::Token::VIEWER})).allowed);
  EXPECT_TRUE(limiter.Decide(limiter.ForPrincipal({"c", v1::Token::VIEWER})).allowed);
  EXPECT_TRUE(limiter.Decide(a).allowed);
}

TEST_F(LocalLimiter, DisabledWhenEveryLimitIsZero) {
  RateLimitOptions off;
  off.per_minute = 0;
  EXPECT_FALSE(Make(off).enabled());
  RateLimitOptions only_ingest = off;
  only_ingest.per_role[v1::Token::INGEST] = 100;
  EXPECT_TRUE(Make(only_ingest).enabled());
}

}  // namespace
}  // namespace flightdeck::gateway
