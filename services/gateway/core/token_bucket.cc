#include "services/gateway/core/token_bucket.h"

#include <algorithm>

namespace flightdeck::gateway {
namespace {

int64_t CeilDiv(int64_t a, int64_t b) { return a <= 0 ? 0 : (a + b - 1) / b; }

}  // namespace

RateDecision TakeFromBucket(BucketState& state, bool fresh, int64_t now_ms, int64_t per_minute,
                            int64_t want) {
  const int64_t capacity = per_minute * kUnitsPerRequest;
  if (fresh) {
    state.level = capacity;
    state.updated_ms = now_ms;
  } else if (now_ms > state.updated_ms) {
    state.level = std::min(capacity, state.level + (now_ms - state.updated_ms) * per_minute);
    state.updated_ms = now_ms;
  }
  RateDecision d;
  d.limit = per_minute;
  d.granted = std::min(std::max<int64_t>(want, 1), state.level / kUnitsPerRequest);
  d.allowed = d.granted >= 1;
  state.level -= d.granted * kUnitsPerRequest;
  d.remaining = state.level / kUnitsPerRequest;
  d.retry_after_ms = d.allowed ? 0 : CeilDiv(kUnitsPerRequest - state.level, per_minute);
  d.reset_ms = CeilDiv(capacity - state.level, per_minute);
  return d;
}

}  // namespace flightdeck::gateway
