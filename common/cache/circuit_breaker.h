#pragma once

#include <chrono>
#include <functional>
#include <mutex>

namespace flightdeck::cache {

// Consecutive-failure circuit breaker. Closed: every call goes through. After
// `failure_threshold` consecutive failures it opens: calls are refused without touching the
// network. Once `open_for` has passed, exactly one caller is let through (half-open); its
// success closes the breaker, its failure opens it for another `open_for`. Thread-safe.
class CircuitBreaker {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  using Now = std::function<TimePoint()>;
  // Called with the new value of open() whenever it changes, under the breaker's lock so that
  // a published state (a gauge) can never be overwritten by an older one.
  using OnChange = std::function<void(bool open)>;
  enum class State { kClosed, kOpen, kHalfOpen };

  CircuitBreaker(
      int failure_threshold, std::chrono::milliseconds open_for, OnChange on_change = nullptr,
      Now now = [] { return std::chrono::steady_clock::now(); });

  // True when the caller may send a command; the caller must then report its outcome with
  // OnSuccess or OnFailure (a half-open trial stays claimed until it does).
  bool Allow();
  void OnSuccess();
  void OnFailure();

  State state() const;
  bool open() const { return state() != State::kClosed; }

 private:
  const int failure_threshold_;
  const std::chrono::milliseconds open_for_;
  const OnChange on_change_;
  const Now now_;
  mutable std::mutex mu_;
  State state_ = State::kClosed;
  int consecutive_failures_ = 0;
  TimePoint opened_at_{};
};

}  // namespace flightdeck::cache
