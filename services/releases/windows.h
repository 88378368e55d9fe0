#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <grpcpp/support/status.h>

#include "common/clock/clock.h"
#include "common/schedule/recurrence.h"
#include "flightdeck/v1/releases.pb.h"

namespace flightdeck::releases {

using schedule::Span;

// Checks a window as POSTed, every field (errors listed together, each naming its field), and
// fills defaults: time_zone UTC, checklist `within` per check. Names are DNS labels other than
// "next" (GET /v1/windows/next is the next-opening route).
grpc::Status ValidateWindow(v1::Window& window);

// When one window is open: the openings of its schedule in its time zone, and its one-off
// ranges. Built from a validated window.
class WindowCalendar {
 public:
  explicit WindowCalendar(const v1::Window& window);
  // The opening that contains t (the earliest that does, when several overlap).
  std::optional<Span> OpeningAt(Clock::TimePoint t) const;
  // The first opening that starts strictly after t.
  std::optional<Span> NextOpeningAfter(Clock::TimePoint t) const;
  // OpeningAt(t), else NextOpeningAfter(t): the opening a checklist is about.
  std::optional<Span> CurrentOrNext(Clock::TimePoint t) const;

 private:
  std::optional<schedule::Recurrence> recurrence_;
  std::chrono::seconds length_{0};
  std::vector<Span> ranges_;
};

// Empty lists cover everything.
bool Covers(const v1::Window& window, const std::string& service, const std::string& environment);

// Whether a release of a service may go out into an environment at a time.
struct GateDecision {
  bool open = false;
  // The earliest time it may (== now when open); nullopt when not within a year.
  std::optional<Clock::TimePoint> opens_at;
  // When the opening ends (the required window's end or a freeze's start); nullopt: unbounded.
  std::optional<Clock::TimePoint> closes_at;
  // The required window's opening now (open) or at opens_at, for the checklist.
  std::optional<Span> window_opening;
  // Why it is closed now: "frozen by holidays until ..." / "production requires window ...".
  std::string reason;
};

// Decides from every window there is (those that do not cover the service and environment are
// skipped) and the environment's required window (empty: none). A required window that does
// not exist keeps the environment closed: a typo must not open production.
GateDecision DecideGate(const std::vector<v1::Window>& windows, const std::string& required,
                        const std::string& service, const std::string& environment,
                        Clock::TimePoint now);

// "2027-03-14T02:00:00Z".
std::string FormatTime(Clock::TimePoint t);

}  // namespace flightdeck::releases
