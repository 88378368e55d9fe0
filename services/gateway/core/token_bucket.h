#pragma once

#include <cstdint>

namespace flightdeck::gateway {

// A token bucket sized in requests per minute: it holds at most `per_minute` requests, each
// request takes one, and it refills continuously at `per_minute` per 60 s. So a client may
// burst up to a minute's worth at once and then goes at the sustained rate.
//
// Levels are integers in 1/60,000ths of a request, so that one millisecond of refill is exactly
// `per_minute` units and no rounding drifts: the Lua script in rate_limiter.cc (Redis) does
// the very same integer arithmetic, and the two must stay identical.
inline constexpr int64_t kUnitsPerRequest = 60000;

struct BucketState {
  int64_t level = 0;       // units; at most per_minute * kUnitsPerRequest
  int64_t updated_ms = 0;  // when `level` was computed
};

// What one request learns. The times are what the IETF RateLimit fields carry.
struct RateDecision {
  bool allowed = true;
  // Requests taken from the bucket: 1 for this one when allowed, plus any taken ahead for the
  // caller's next ones (TakeFromBucket's `want`); 0 when refused.
  int64_t granted = 0;
  int64_t limit = 0;           // requests per minute; 0: not limited (no headers)
  int64_t remaining = 0;       // whole requests left after this one
  int64_t retry_after_ms = 0;  // denied: until one request's worth has refilled
  int64_t reset_ms = 0;        // until the bucket is full again
};

// Takes up to `want` requests (at least one, else none) from `state` at `now_ms`, refilling
// first. `fresh`: no state yet, which is a full bucket. A clock that went backwards refills
// nothing. per_minute > 0, want >= 1.
RateDecision TakeFromBucket(BucketState& state, bool fresh, int64_t now_ms, int64_t per_minute,
                            int64_t want = 1);

}  // namespace flightdeck::gateway
