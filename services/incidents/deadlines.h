#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "common/clock/clock.h"
#include "services/incidents/model.h"

// Incident due-times (issue 5 "Deadlines"). Pure functions of the clock's time and settings so
// that the lifecycle schedules common/jobs rows with them and tests check them with a fake clock.
namespace flightdeck::incidents {

// The business time zone for SEV4's "next business day 09:00" (an IANA name such as
// "Europe/Berlin"; FLIGHTDECK_INCIDENTS_TIMEZONE, default UTC). Business days are Mon-Fri.
class BusinessCalendar {
 public:
  // INVALID_ARGUMENT-style false when the zone is unknown (no /usr/share/zoneinfo entry).
  static bool Load(const std::string& zone, BusinessCalendar* out, std::string* error);
  // The next business day's 09:00 local time strictly after `t`'s local date (a Friday
  // evening's next business day is Monday).
  Clock::TimePoint NextBusinessDayNine(Clock::TimePoint t) const;
  // Monday 00:00 local of ISO week `week` ("2026-W47") and the next Monday; false if malformed.
  bool IsoWeek(const std::string& week, Clock::TimePoint* from, Clock::TimePoint* to) const;
  std::string IsoWeekOf(Clock::TimePoint t) const;  // "2026-W47"
  const std::string& zone() const { return zone_; }

 private:
  std::string zone_ = "UTC";
  // The zone's TZif file (/usr/share/zoneinfo, or $TZDIR) parsed once: its 64-bit transition
  // table, and its POSIX TZ footer rule for instants after the last listed transition. Null
  // for UTC. No TZ environment variable or libc time zone state is touched.
  std::shared_ptr<const void> tz_;
};

// SEV1 5 min, SEV2 15 min, SEV3 1 h, SEV4 the next business day 09:00.
Clock::TimePoint AckDeadline(Severity s, Clock::TimePoint opened, const BusinessCalendar& cal);
// SEV1 every 15 min, SEV2 every 30 min since the last update (or the opening); none for
// SEV3/SEV4.
std::optional<Clock::TimePoint> NextUpdateDue(Severity s, Clock::TimePoint last_update);
// 48 h after resolution.
Clock::TimePoint ReviewDue(Clock::TimePoint resolved);

}  // namespace flightdeck::incidents
