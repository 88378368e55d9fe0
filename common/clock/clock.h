#pragma once

#include <atomic>
#include <chrono>

namespace flightdeck {

// Where every service reads the time, so that tests can run a 10-minute canary in milliseconds.
class Clock {
 public:
  using TimePoint = std::chrono::system_clock::time_point;
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::system_clock::now(); }
};

// A clock that moves only when told to. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(TimePoint start = TimePoint(std::chrono::seconds(1'800'000'000)))
      : now_us_(ToMicros(start)) {}
  TimePoint Now() const override { return TimePoint(std::chrono::microseconds(now_us_.load())); }
  void Set(TimePoint t) { now_us_.store(ToMicros(t)); }
  void Advance(std::chrono::microseconds d) { now_us_.fetch_add(d.count()); }

 private:
  static long long ToMicros(TimePoint t) {
    return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  }
  std::atomic<long long> now_us_;
};

}  // namespace flightdeck
