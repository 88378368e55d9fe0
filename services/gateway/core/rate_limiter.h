#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/clock/clock.h"
#include "services/gateway/core/auth.h"
#include "services/gateway/core/lru.h"
#include "services/gateway/core/token_bucket.h"

namespace flightdeck::cache {
class Cache;
}
namespace flightdeck::metrics {
class Counter;
class Registry;
}

namespace flightdeck::gateway {

struct RateLimitOptions {
  // FLIGHTDECK_RATE_LIMIT_PER_MIN: requests per minute per caller; 0 disables limiting.
  int64_t per_minute = 600;
  // FLIGHTDECK_RATE_LIMIT_PER_MIN_<ROLE>: a role's own limit per token (0: that role unlimited).
  std::map<Role, int64_t> per_role;
  // FLIGHTDECK_RATE_LIMIT_PER_MIN_ANONYMOUS: per client address, for calls without a valid token.
  std::optional<int64_t> anonymous_per_minute;
  // Buckets the in-process fallback keeps (least recently used out): bounded memory whatever
  // the number of distinct callers.
  size_t local_buckets = 100000;
};

// Whose bucket a call takes from.
enum class RateSubject { kToken, kAddress, kRoutingKey };
const char* RateSubjectName(RateSubject subject);  // "token", "address", "routing_key"

struct RateKey {
  RateSubject subject = RateSubject::kAddress;
  std::string id;          // the principal's name, the client address, a routing key's hash
  int64_t per_minute = 0;  // 0: not limited
  std::string RedisKey() const;
};

// One token bucket per caller, shared by every gateway replica through Redis (one Lua script,
// atomic, on Redis's own clock so that replicas' clocks need not agree). When Redis is down or
// slow (its circuit breaker open, or a command failing within its short timeout), a bucket
// in this process decides instead: the limit then holds per replica rather than overall.
//
// Cheap for denied callers: a denial from Redis says when the bucket has a request again, and
// until then this process denies the same key from memory, with no I/O (exact: nothing can
// refill the bucket sooner). Cheap for busy callers too: one that comes back to Redis within a
// second takes a second's worth of refill at once (per_minute / 60, at most 100) and spends it
// from memory. For a caller on one replica that is exact (see Remember); spread over N
// replicas, a caller may be refused up to (N-1) such batches early, or allowed up to (N-1)
// beyond its limit once. Thread-safe.
class RateLimiter {
 public:
  // redis: nullptr to decide in process only.
  RateLimiter(RateLimitOptions options, cache::Cache* redis, const Clock& clock,
              metrics::Registry* metrics = nullptr);

  RateKey ForPrincipal(const Principal& principal) const;
  RateKey ForAddress(const std::string& peer) const;  // "10.1.2.3:5123" -> "10.1.2.3"
  RateKey ForRoutingKey(const std::string& routing_key) const;  // stored hashed, never as sent

  // A decision made from memory alone (no limit for this key, a known-empty bucket, or Redis
  // known to be down); nullopt when Redis must be asked through Decide().
  std::optional<RateDecision> DecideWithoutIo(const RateKey& key);
  // Asks Redis (waits at most its short command timeout: call it off the event loop); falls
  // back to the in-process bucket.
  RateDecision Decide(const RateKey& key);

  bool enabled() const;

 private:
  RateDecision DecideLocally(const RateKey& key, int64_t now_ms);
  RateDecision Remember(const RateKey& key, const RateDecision& decision, int64_t now_ms);
  int64_t WantFromRedis(const RateKey& key, int64_t now_ms);
  int64_t NowMs() const;

  RateLimitOptions options_;
  cache::Cache* redis_;
  const Clock& clock_;
  metrics::Counter* local_decisions_ = nullptr;
  std::map<RateSubject, metrics::Counter*> limited_;
  std::mutex mu_;
  LruMap<std::string, BucketState> local_;  // guarded by mu_
  struct Denial {
    int64_t until_ms;  // the bucket has a request again then
    int64_t full_ms;   // and is full then
    int64_t limit;
  };
  LruMap<std::string, Denial> denied_;  // guarded by mu_
  // Requests taken from Redis ahead of the caller's next calls.
  struct Lease {
    int64_t tokens;      // still to spend
    int64_t remaining;   // what Redis had left when it granted them
    int64_t expires_ms;  // when the bucket would be full had they stayed in it
    int64_t full_ms;     // when the bucket is full again
    int64_t limit;
    int64_t asked_ms;    // when Redis was last asked for this key
  };
  LruMap<std::string, Lease> leases_;  // guarded by mu_
};

// Runs the limiter's Lua script on `redis`, taking up to `want` requests (TakeFromBucket's
// arithmetic): the decision, or nullopt when Redis did not answer. `now_ms`: the time to decide
// at (tests); nullopt uses Redis's own TIME.
std::optional<RateDecision> TakeFromRedisBucket(cache::Cache& redis, const std::string& key,
                                                int64_t per_minute,
                                                std::optional<int64_t> now_ms = std::nullopt,
                                                int64_t want = 1);

// The HTTP fields a decision is told with: the IETF RateLimit-Limit/-Remaining/-Reset fields
// (draft-ietf-httpapi-ratelimit-headers; seconds, rounded up), and Retry-After when denied.
// Empty when the call is not limited.
std::vector<std::pair<std::string, std::string>> RateLimitHeaders(const RateDecision& decision);

}  // namespace flightdeck::gateway
