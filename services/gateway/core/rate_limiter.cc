#include "services/gateway/core/rate_limiter.h"

#include <algorithm>

#include "common/cache/cache.h"
#include "common/metrics/metrics.h"

namespace flightdeck::gateway {
namespace {

// The token bucket of token_bucket.cc, in Lua, run atomically by Redis so that replicas
// sharing a bucket cannot both take its last request. KEYS[1]: the bucket (a hash of level and
// updated). ARGV[1]: requests per minute; ARGV[2]: the time in ms, or "" for Redis's own clock;
// ARGV[3]: how many requests to take at most (at least one, else none).
// Returns {granted, remaining, retry_after_ms, reset_ms}. A bucket expires once it would be
// full again, which is the same as no bucket, so idle callers cost Redis nothing.
constexpr char kTakeScript[] = R"lua(
local per_minute = tonumber(ARGV[1])
local unit = 60000
local capacity = per_minute * unit
local now
if ARGV[2] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
else
  now = tonumber(ARGV[2])
end
local stored = redis.call('HMGET', KEYS[1], 'level', 'updated')
local level = tonumber(stored[1])
local updated = tonumber(stored[2])
if level == nil or updated == nil then
  level = capacity
  updated = now
elseif now > updated then
  level = math.min(capacity, level + (now - updated) * per_minute)
  updated = now
end
local want = math.max(tonumber(ARGV[3]) or 1, 1)
local granted = math.min(want, math.floor(level / unit))
level = level - granted * unit
local function ceil_div(a, b)
  if a <= 0 then return 0 end
  return math.floor((a + b - 1) / b)
end
local retry = 0
if granted == 0 then retry = ceil_div(unit - level, per_minute) end
local reset = ceil_div(capacity - level, per_minute)
redis.call('HSET', KEYS[1], 'level', string.format('%.0f', level), 'updated', string.format('%.0f', updated))
redis.call('PEXPIRE', KEYS[1], math.max(reset, 1))
return {granted, math.floor(level / unit), retry, reset}
)lua";

int64_t CeilSeconds(int64_t ms) { return ms <= 0 ? 0 : (ms + 999) / 1000; }

int64_t CeilDiv(int64_t a, int64_t b) { return a <= 0 ? 0 : (a + b - 1) / b; }

}  // namespace

const char* RateSubjectName(RateSubject subject) {
  switch (subject) {
    case RateSubject::kToken: return "token";
    case RateSubject::kAddress: return "address";
    case RateSubject::kRoutingKey: return "routing_key";
  }
  return "unknown";
}

std::string RateKey::RedisKey() const {
  return std::string("flightdeck:ratelimit:") + RateSubjectName(subject) + ":" + id;
}

std::optional<RateDecision> TakeFromRedisBucket(cache::Cache& redis, const std::string& key,
                                                int64_t per_minute, std::optional<int64_t> now_ms,
                                                int64_t want) {
  std::optional<std::vector<long long>> reply = redis.EvalIntegers(
      kTakeScript, {key},
      {std::to_string(per_minute), now_ms ? std::to_string(*now_ms) : "", std::to_string(want)});
  if (!reply || reply->size() != 4) return std::nullopt;
  RateDecision d;
  d.granted = (*reply)[0];
  d.allowed = d.granted >= 1;
  d.limit = per_minute;
  d.remaining = (*reply)[1];
  d.retry_after_ms = (*reply)[2];
  d.reset_ms = (*reply)[3];
  return d;
}

std::vector<std::pair<std::string, std::string>> RateLimitHeaders(const RateDecision& decision) {
  if (decision.limit <= 0) return {};
  std::vector<std::pair<std::string, std::string>> headers = {
      {"RateLimit-Limit", std::to_string(decision.limit)},
      {"RateLimit-Remaining", std::to_string(decision.remaining)},
      {"RateLimit-Reset", std::to_string(CeilSeconds(decision.reset_ms))}};
  if (!decision.allowed) {
    // Never 0: a client told "retry in 0 s" comes straight back.
    headers.emplace_back("Retry-After", std::to_string(std::max<int64_t>(1, CeilSeconds(decision.retry_after_ms))));
  }
  return headers;
}

RateLimiter::RateLimiter(RateLimitOptions options, cache::Cache* redis, const Clock& clock,
                         metrics::Registry* metrics)
    : options_(std::move(options)), redis_(redis), clock_(clock),
      local_(options_.local_buckets), denied_(options_.local_buckets), leases_(options_.local_buckets) {
  if (metrics == nullptr) return;
  auto& limited = metrics->AddCounter("flightdeck_gateway_rate_limited_total",
                                      "Calls refused with 429 / RESOURCE_EXHAUSTED by the rate "
                                      "limiter, by whose bucket was empty.",
                                      {"subject"});
  for (RateSubject s : {RateSubject::kToken, RateSubject::kAddress, RateSubject::kRoutingKey}) {
    limited_[s] = &limited.With({RateSubjectName(s)});
  }
  local_decisions_ = &metrics
                          ->AddCounter("flightdeck_gateway_rate_limit_local_decisions_total",
                                       "Rate-limit decisions made in this process because Redis "
                                       "was down or slow.",
                                       {})
                          .With({});
}

bool RateLimiter::enabled() const {
  if (options_.per_minute > 0 || options_.anonymous_per_minute.value_or(0) > 0) return true;
  return std::any_of(options_.per_role.begin(), options_.per_role.end(),
                     [](const auto& entry) { return entry.second > 0; });
}

RateKey RateLimiter::ForPrincipal(const Principal& principal) const {
  auto role = options_.per_role.find(principal.role);
  return RateKey{RateSubject::kToken, principal.name,
                 role != options_.per_role.end() ? role->second : options_.per_minute};
}

RateKey RateLimiter::ForAddress(const std::string& peer) const {
  std::string address = peer;
  // "127.0.0.1:5123" and "[::1]:5123": the port changes with every connection, the host does not.
  const size_t colon = address.rfind(':');
  if (!address.empty() && address.front() == '[') {
    address = address.substr(1, address.find(']') - 1);
  } else if (colon != std::string::npos && address.find(':') == colon) {
    address.resize(colon);
  }
  return RateKey{RateSubject::kAddress, address,
                 options_.anonymous_per_minute.value_or(options_.per_minute)};
}

RateKey RateLimiter::ForRoutingKey(const std::string& routing_key) const {
  auto role = options_.per_role.find(v1::Token::INGEST);
  // A routing key is a credential: Redis sees only (a prefix of) its hash.
  return RateKey{RateSubject::kRoutingKey, Sha256Hex(routing_key).substr(0, 32),
                 role != options_.per_role.end() ? role->second : options_.per_minute};
}

int64_t RateLimiter::NowMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock_.Now().time_since_epoch()).count();
}

std::optional<RateDecision> RateLimiter::DecideWithoutIo(const RateKey& key) {
  if (key.per_minute <= 0) return RateDecision{};  // limit 0: no headers, always allowed
  const int64_t now = NowMs();
  const std::string redis_key = key.RedisKey();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (Denial* denial = denied_.Find(redis_key)) {
      if (now < denial->until_ms && denial->limit == key.per_minute) {
        RateDecision d;
        d.allowed = false;
        d.limit = key.per_minute;
        d.retry_after_ms = denial->until_ms - now;
        d.reset_ms = std::max<int64_t>(0, denial->full_ms - now);
        if (auto it = limited_.find(key.subject); it != limited_.end()) it->second->Inc();
        return d;
      }
      denied_.Erase(redis_key);
    }
    if (Lease* lease = leases_.Find(redis_key)) {
      if (lease->tokens > 0 && now < lease->expires_ms && lease->limit == key.per_minute) {
        --lease->tokens;
        RateDecision d;
        d.allowed = true;
        d.granted = 1;
        d.limit = key.per_minute;
        d.remaining = lease->remaining + lease->tokens;
        d.reset_ms = std::max<int64_t>(0, lease->full_ms - now);
        return d;
      }
    }
  }
  if (redis_ == nullptr || redis_->breaker_open()) return DecideLocally(key, now);
  return std::nullopt;
}

int64_t RateLimiter::WantFromRedis(const RateKey& key, int64_t now_ms) {
  // A second's worth of refill, for callers that came back to Redis within the last second;
  // one request for the others, so that an occasional caller never holds requests it does not
  // use.
  const int64_t batch = std::clamp<int64_t>(key.per_minute / 60, 1, 100);
  std::lock_guard<std::mutex> lock(mu_);
  Lease* lease = leases_.Find(key.RedisKey());
  return lease != nullptr && now_ms - lease->asked_ms < 1000 ? batch : 1;
}

RateDecision RateLimiter::Decide(const RateKey& key) {
  if (std::optional<RateDecision> known = DecideWithoutIo(key)) return *known;
  const int64_t want = WantFromRedis(key, NowMs());
  std::optional<RateDecision> decision =
      TakeFromRedisBucket(*redis_, key.RedisKey(), key.per_minute, std::nullopt, want);
  if (!decision) return DecideLocally(key, NowMs());
  return Remember(key, *decision, NowMs());
}

RateDecision RateLimiter::DecideLocally(const RateKey& key, int64_t now_ms) {
  if (redis_ != nullptr && local_decisions_ != nullptr) local_decisions_->Inc();
  RateDecision d;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string id = key.RedisKey();
    BucketState* state = local_.Find(id);
    const bool fresh = state == nullptr;
    BucketState created;
    d = TakeFromBucket(fresh ? created : *state, fresh, now_ms, key.per_minute);
    if (fresh) local_.Put(id, created);
  }
  if (!d.allowed) {
    if (auto it = limited_.find(key.subject); it != limited_.end()) it->second->Inc();
  }
  return d;
}

RateDecision RateLimiter::Remember(const RateKey& key, const RateDecision& decision, int64_t now_ms) {
  const std::string redis_key = key.RedisKey();
  if (decision.allowed) {
    // Requests taken ahead are kept for this caller's next calls, and dropped at the moment
    // the bucket, had they stayed in it, would be full: past that they would have been lost to
    // the bucket's capacity anyway, so holding them never lets a caller beyond its limit.
    const int64_t ahead = decision.granted - 1;
    const int64_t full_ms = now_ms + decision.reset_ms;
    RateDecision told = decision;
    told.remaining = decision.remaining + ahead;
    std::lock_guard<std::mutex> lock(mu_);
    leases_.Put(redis_key, Lease{ahead, decision.remaining,
                                 full_ms - CeilDiv(ahead * kUnitsPerRequest, key.per_minute),
                                 full_ms, key.per_minute, now_ms});
    return told;
  }
  if (auto it = limited_.find(key.subject); it != limited_.end()) it->second->Inc();
  std::lock_guard<std::mutex> lock(mu_);
  leases_.Erase(redis_key);
  denied_.Put(redis_key, Denial{now_ms + decision.retry_after_ms, now_ms + decision.reset_ms, key.per_minute});
  return decision;
}

}  // namespace flightdeck::gateway
