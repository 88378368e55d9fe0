#pragma once

// Bounded polling for tests that wait on another process or thread: every wait has a limit, and
// the caller says what to do when it passes (usually fail with the last value seen).
#include <chrono>
#include <functional>

namespace flightdeck::test {

// Calls `condition` until it returns true or `timeout` has passed, sleeping `poll` between
// calls; the condition is checked once more when the time is up. Returns whether it became true.
bool WaitUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
               std::chrono::milliseconds poll = std::chrono::milliseconds(50));

// Calls `probe` until `done(value)` holds or `timeout` has passed, and returns the last value
// (so the caller can assert on it and print it when the wait gave up).
template <typename Probe, typename Done>
auto PollUntil(Probe probe, Done done, std::chrono::milliseconds timeout,
               std::chrono::milliseconds poll = std::chrono::milliseconds(50)) -> decltype(probe()) {
  decltype(probe()) value{};
  WaitUntil([&] { value = probe(); return done(value); }, timeout, poll);
  return value;
}

}  // namespace flightdeck::test
