// When windows open, in time zones: cron and "first Tuesday" rules, DST gaps and overlaps,
// month ends. Expected instants are written in UTC, worked out by hand from the zone's rules.
#include "common/schedule/recurrence.h"

#include <gtest/gtest.h>

#include <date/date.h>

namespace flightdeck::schedule {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

TimePoint Utc(const std::string& text) {
  std::istringstream in(text);
  date::sys_seconds t;
  in >> date::parse("%F %R", t);
  EXPECT_FALSE(in.fail()) << text;
  return TimePoint(t);
}

std::string Show(std::optional<TimePoint> t) {
  if (!t) return "none";
  return date::format("%F %R", date::floor<minutes>(*t));
}

Recurrence MustParse(const std::string& schedule, const std::string& zone) {
  Recurrence r;
  grpc::Status s = Recurrence::Parse(schedule, zone, &r);
  EXPECT_TRUE(s.ok()) << schedule << ": " << s.error_message();
  return r;
}

TEST(Recurrence, CronInUtcOpensSundaysAtTwo) {
  Recurrence r = MustParse("0 2 * * SUN", "UTC");
  // 2027-03-03 is a Wednesday; the next Sunday is 03-07.
  EXPECT_EQ(Show(r.NextAfter(Utc("2027-03-03 10:00"))), "2027-03-07 02:00");
  // Strictly after: at the opening itself, the next one is a week later.
  EXPECT_EQ(Show(r.NextAfter(Utc("2027-03-07 02:00"))), "2027-03-14 02:00");
}

TEST(Recurrence, CronFollowsTheZonesOffsetAcrossDst) {
  // Europe/Berlin: CET (+1) until 2027-03-28 01:00 UTC, then CEST (+2).
  Recurrence r = MustParse("0 2 * * SUN", "Europe/Berlin");
  EXPECT_EQ(Show(r.NextAfter(Utc("2027-03-15 00:00"))), "2027-03-21 01:00");  // 02:00 CET
  // 2027-03-28 02:00 does not exist in Berlin (clocks go 02:00 -> 03:00): the gap's end.
  EXPECT_EQ(Show(r.NextAfter(Utc("2027-03-22 00:00"))), "2027-03-28 01:00");
  EXPECT_EQ(Show(r.NextAfter(Utc("2027-03-29 00:00"))), "2027-04-04 00:00");  // 02:00 CEST
}

TEST(Recurrence, RepeatedLocalHourOpensOnceAtItsFirstInstant) {
  // America/New_York: 2027-11-07 02:00 EDT -> 01:00 EST, so 01:30 happens twice.
  Recurrence r = MustParse("30 1 * * *", "America/New_York");
  EXPECT_EQ(Show(r.NextAfter(Utc("2027-11-07 00:00"))), "2027-11-07 05:30");  // 01:30 EDT
  // After the first 01:30, the next opening is the next day's, not the repeated hour's.
  EXPECT_EQ(Show(r.NextAfter(Utc("2027-11-07 05:30"))), "2027-11-08 06:30");  // 01:30 EST
}

TEST(Recurrence, FirstTuesdayOfTheMonth) {
  Recurrence r = MustParse("first tuesday of the month 03:00", "UTC");
  EXPECT_EQ(Show(r.NextAfter(Utc("2027-01-01 00:00"))), "2027-01-05 03:00");
  EXPECT_EQ(Show(r.NextAfter(Utc("2027-01-05 03:00"))), "2027-02-02 03:00");
  // A month that starts on a Tuesday (June 2027).
  EXPECT_EQ(Show(r.NextAfter(Utc("2027-05-05 00:00"))), "2027-06-01 03:00");
}

TEST(Recurrence, LastSundayAndMonthEnds) {
  Recurrence last = MustParse("last sun 02:00", "UTC");
  EXPECT_EQ(Show(last.NextAfter(Utc("2027-02-01 00:00"))), "2027-02-28 02:00");
  EXPECT_EQ(Show(last.NextAfter(Utc("2028-02-01 00:00"))), "2028-02-27 02:00");
  // Cron's day 31 skips the months without one.
  Recurrence day31 = MustParse("0 22 31 * *", "UTC");
  EXPECT_EQ(Show(day31.NextAfter(Utc("2027-04-01 00:00"))), "2027-05-31 22:00");
  // A fourth Thursday always exists; in Tokyo (+9, no DST) 03:00 is 18:00 the day before.
  Recurrence fourth = MustParse("fourth thu 03:00", "Asia/Tokyo");
  EXPECT_EQ(Show(fourth.NextAfter(Utc("2027-11-01 00:00"))), "2027-11-24 18:00");
}

TEST(Recurrence, MonthlyRuleInAZoneWithDst) {
  // First Tuesday of April 2027 in New York is 04-06, 03:00 EDT (-4) = 07:00 UTC; of
  // January, 03:00 EST (-5) = 08:00 UTC.
  Recurrence r = MustParse("first tuesday 03:00", "America/New_York");
  EXPECT_EQ(Show(r.NextAfter(Utc("2027-04-01 00:00"))), "2027-04-06 07:00");
  EXPECT_EQ(Show(r.NextAfter(Utc("2027-01-01 00:00"))), "2027-01-05 08:00");
}

TEST(Recurrence, OccurrenceContainsTheInstantsOfItsSpan) {
  Recurrence r = MustParse("0 2 * * SUN", "UTC");
  const auto two_hours = std::chrono::duration_cast<std::chrono::seconds>(hours(2));
  auto at = OccurrenceAt(r, two_hours, Utc("2027-03-07 03:59"));
  ASSERT_TRUE(at.has_value());
  EXPECT_EQ(Show(at->start), "2027-03-07 02:00");
  EXPECT_EQ(Show(at->end), "2027-03-07 04:00");
  EXPECT_TRUE(OccurrenceAt(r, two_hours, Utc("2027-03-07 02:00")).has_value());
  EXPECT_FALSE(OccurrenceAt(r, two_hours, Utc("2027-03-07 04:00")).has_value());  // end excluded
  EXPECT_FALSE(OccurrenceAt(r, two_hours, Utc("2027-03-07 01:59")).has_value());
  EXPECT_EQ(Show(NextOccurrence(r, two_hours, Utc("2027-03-07 03:00"))->start), "2027-03-14 02:00");
}

TEST(Recurrence, ErrorsNameTheField) {
  Recurrence r;
  grpc::Status s = Recurrence::Parse("0 2 * * SUN", "Mars/Olympus", &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("time_zone: unknown time zone \"Mars/Olympus\""), std::string::npos);
  s = Recurrence::Parse("fifth tuesday 03:00", "UTC", &r);
  EXPECT_NE(s.error_message().find("schedule:"), std::string::npos) << s.error_message();
  s = Recurrence::Parse("first funday 03:00", "UTC", &r);
  EXPECT_NE(s.error_message().find("schedule: \"funday\" is not a weekday"), std::string::npos);
  s = Recurrence::Parse("first tuesday 25:00", "UTC", &r);
  EXPECT_NE(s.error_message().find("schedule: \"25:00\" is not a time HH:MM"), std::string::npos);
  s = Recurrence::Parse("61 2 * * *", "UTC", &r);
  EXPECT_NE(s.error_message().find("schedule: minute"), std::string::npos) << s.error_message();
}

}  // namespace
}  // namespace flightdeck::schedule
