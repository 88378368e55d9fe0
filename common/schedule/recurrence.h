#pragma once

#include <chrono>
#include <optional>
#include <string>

#include <grpcpp/support/status.h>

#include "common/schedule/cron.h"

namespace date {
class time_zone;
}

namespace flightdeck::schedule {

using TimePoint = std::chrono::system_clock::time_point;

// When something recurs, on the wall clock of an IANA time zone. Two forms:
//   - a 5-field cron expression ("0 2 * * SUN": Sundays 02:00), read as local time;
//   - a monthly weekday rule: "<first|second|third|fourth|last> <weekday> HH:MM", optionally
//     with "of the month" / "of every month" after the weekday ("first tuesday 03:00").
// Local times that do not exist (the hour skipped when DST starts) move to the end of the gap,
// as cron daemons do; a local time that happens twice (DST ends) opens at its first instant.
class Recurrence {
 public:
  // INVALID_ARGUMENT naming the field: "schedule: ..." or "time_zone: unknown time zone ...".
  static grpc::Status Parse(const std::string& schedule, const std::string& time_zone,
                            Recurrence* out);
  // The first opening strictly after `after`; nullopt when none within 5 years.
  std::optional<TimePoint> NextAfter(TimePoint after) const;

 private:
  // The next matching local time strictly after `local` (a local wall time held in a
  // system_clock time point, as the cron code reads fields from it).
  std::optional<TimePoint> NextLocalAfter(TimePoint local) const;

  const date::time_zone* zone_ = nullptr;
  bool monthly_ = false;
  CronSchedule cron_;
  // The monthly rule: ordinal 1..4, or 5 for "last"; weekday 0 (Sunday)..6; minute of the day.
  int ordinal_ = 0;
  int weekday_ = 0;
  int minute_of_day_ = 0;
};

// One occurrence: [start, end).
struct Span {
  TimePoint start;
  TimePoint end;
};

// The occurrence of a recurrence lasting `length` that contains `t` (the earliest, if several
// overlap), or nullopt.
std::optional<Span> OccurrenceAt(const Recurrence& recurrence, std::chrono::seconds length,
                                 TimePoint t);
// The first occurrence that starts strictly after `t`.
std::optional<Span> NextOccurrence(const Recurrence& recurrence, std::chrono::seconds length,
                                   TimePoint t);

// INVALID_ARGUMENT "time_zone: ..." unless `name` is in the tz database.
grpc::Status CheckTimeZone(const std::string& name, const std::string& field = "time_zone");

}  // namespace flightdeck::schedule
