#include "common/cache/circuit_breaker.h"

#include <algorithm>
#include <utility>

namespace flightdeck::cache {

CircuitBreaker::CircuitBreaker(int failure_threshold, std::chrono::milliseconds open_for,
                               OnChange on_change, Now now)
    : failure_threshold_(std::max(1, failure_threshold)),
      open_for_(open_for),
      on_change_(std::move(on_change)),
      now_(std::move(now)) {}

bool CircuitBreaker::Allow() {
  std::lock_guard<std::mutex> lock(mu_);
  switch (state_) {
    case State::kClosed:
      return true;
    case State::kHalfOpen:
      return false;  // one trial at a time; the others keep failing open meanwhile
    case State::kOpen:
      if (now_() - opened_at_ < open_for_) return false;
      state_ = State::kHalfOpen;
      return true;
  }
  return false;
}

void CircuitBreaker::OnSuccess() {
  std::lock_guard<std::mutex> lock(mu_);
  consecutive_failures_ = 0;
  if (state_ == State::kClosed) return;
  // Also a command admitted before the breaker opened that answered late: Redis is back.
  state_ = State::kClosed;
  if (on_change_) on_change_(false);
}

void CircuitBreaker::OnFailure() {
  std::lock_guard<std::mutex> lock(mu_);
  switch (state_) {
    case State::kHalfOpen:
      state_ = State::kOpen;
      opened_at_ = now_();
      return;
    case State::kOpen:
      // A command admitted before the breaker opened has failed late: nothing new learnt.
      return;
    case State::kClosed:
      if (++consecutive_failures_ < failure_threshold_) return;
      state_ = State::kOpen;
      opened_at_ = now_();
      if (on_change_) on_change_(true);
      return;
  }
}

CircuitBreaker::State CircuitBreaker::state() const {
  std::lock_guard<std::mutex> lock(mu_);
  return state_;
}

}  // namespace flightdeck::cache
