#include <ctime>

#include <gtest/gtest.h>

#include "services/incidents/deadlines.h"
#include "tests/services/incidents/utc_time.h"

namespace flightdeck::incidents {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using testing::Iso;
using testing::Utc;

// Expected local-time instants below were computed with Python's zoneinfo, e.g.
//   datetime(2026,3,30,9,tzinfo=ZoneInfo("Europe/Berlin")).astimezone(timezone.utc)

BusinessCalendar Load(const std::string& zone) {
  BusinessCalendar cal;
  std::string error;
  EXPECT_TRUE(BusinessCalendar::Load(zone, &cal, &error)) << error;
  return cal;
}

TEST(BusinessCalendarTest, UtcFridayEveningGoesToMonday) {
  BusinessCalendar utc = Load("UTC");
  EXPECT_EQ(Iso(utc.NextBusinessDayNine(Utc(2026, 11, 20, 18, 0))), "2026-11-23T09:00:00Z");
  EXPECT_EQ(Iso(utc.NextBusinessDayNine(Utc(2026, 11, 21, 10, 0))), "2026-11-23T09:00:00Z");  // Sat
  EXPECT_EQ(Iso(utc.NextBusinessDayNine(Utc(2026, 11, 22, 23, 59))), "2026-11-23T09:00:00Z");  // Sun
  EXPECT_EQ(Iso(utc.NextBusinessDayNine(Utc(2026, 11, 19, 2, 0))), "2026-11-20T09:00:00Z");  // Thu
  // Strictly the next day: Monday 08:00 waits for Tuesday.
  EXPECT_EQ(Iso(utc.NextBusinessDayNine(Utc(2026, 11, 23, 8, 0))), "2026-11-24T09:00:00Z");
}

TEST(BusinessCalendarTest, DefaultCalendarIsUtc) {
  BusinessCalendar cal;
  EXPECT_EQ(cal.zone(), "UTC");
  EXPECT_EQ(Iso(cal.NextBusinessDayNine(Utc(2026, 11, 20, 18, 0))), "2026-11-23T09:00:00Z");
}

TEST(BusinessCalendarTest, BerlinUsesLocalDateAndOffset) {
  BusinessCalendar berlin = Load("Europe/Berlin");
  // Friday 19:00 CET -> Monday 09:00 CET (08:00Z).
  EXPECT_EQ(Iso(berlin.NextBusinessDayNine(Utc(2026, 11, 20, 18, 0))), "2026-11-23T08:00:00Z");
  // Thursday 23:30Z is already Friday 00:30 in Berlin: next business day is Monday.
  EXPECT_EQ(Iso(berlin.NextBusinessDayNine(Utc(2026, 11, 19, 23, 30))), "2026-11-23T08:00:00Z");
}

TEST(BusinessCalendarTest, BerlinAcrossSpringForward) {
  BusinessCalendar berlin = Load("Europe/Berlin");
  // Friday 2026-03-27 18:00 CET; clocks go forward Sunday 29 March; Monday 09:00 CEST = 07:00Z.
  EXPECT_EQ(Iso(berlin.NextBusinessDayNine(Utc(2026, 3, 27, 17, 0))), "2026-03-30T07:00:00Z");
  // The Thursday before is still CET.
  EXPECT_EQ(Iso(berlin.NextBusinessDayNine(Utc(2026, 3, 26, 12, 0))), "2026-03-27T08:00:00Z");
}

TEST(BusinessCalendarTest, NewYorkAcrossFallBackAndLateFriday) {
  BusinessCalendar ny = Load("America/New_York");
  // Friday 2026-10-30 18:00 EDT; clocks go back Sunday 1 November; Monday 09:00 EST = 14:00Z.
  EXPECT_EQ(Iso(ny.NextBusinessDayNine(Utc(2026, 10, 30, 22, 0))), "2026-11-02T14:00:00Z");
  // Friday 21:00 EST is Saturday 02:00Z: the local date (Friday) decides.
  EXPECT_EQ(Iso(ny.NextBusinessDayNine(Utc(2026, 11, 21, 2, 0))), "2026-11-23T14:00:00Z");
  // Friday before spring forward (8 March 2026): Monday 09:00 EDT = 13:00Z.
  EXPECT_EQ(Iso(ny.NextBusinessDayNine(Utc(2026, 3, 6, 20, 0))), "2026-03-09T13:00:00Z");
}

TEST(BusinessCalendarTest, PastTheTableUsesTheZoneRule) {
  // Debian's zoneinfo lists transitions to 2037; later instants come from the POSIX TZ footer.
  BusinessCalendar berlin = Load("Europe/Berlin");
  EXPECT_EQ(Iso(berlin.NextBusinessDayNine(Utc(2041, 7, 4, 10, 0))), "2041-07-05T07:00:00Z");
  BusinessCalendar ny = Load("America/New_York");
  EXPECT_EQ(Iso(ny.NextBusinessDayNine(Utc(2041, 11, 1, 22, 0))), "2041-11-04T14:00:00Z");
}

TEST(BusinessCalendarTest, UnknownZonesAreRefused) {
  BusinessCalendar cal;
  std::string error;
  EXPECT_FALSE(BusinessCalendar::Load("Mars/Olympus_Mons", &cal, &error));
  EXPECT_NE(error.find("Mars/Olympus_Mons"), std::string::npos);
  EXPECT_FALSE(BusinessCalendar::Load("../../etc/passwd", &cal, &error));
  EXPECT_FALSE(BusinessCalendar::Load("/etc/localtime", &cal, &error));
  EXPECT_EQ(cal.zone(), "UTC");  // untouched on failure
}

TEST(IsoWeekTest, WeekBoundsInLocalTime) {
  BusinessCalendar berlin = Load("Europe/Berlin");
  Clock::TimePoint from, to;
  ASSERT_TRUE(berlin.IsoWeek("2026-W47", &from, &to));
  EXPECT_EQ(Iso(from), "2026-11-15T23:00:00Z");  // Monday 16 Nov 00:00 CET
  EXPECT_EQ(Iso(to), "2026-11-22T23:00:00Z");
  // The week in which Berlin springs forward is one hour short.
  ASSERT_TRUE(berlin.IsoWeek("2026-W13", &from, &to));
  EXPECT_EQ(Iso(from), "2026-03-22T23:00:00Z");
  EXPECT_EQ(Iso(to), "2026-03-29T22:00:00Z");
  EXPECT_EQ(to - from, hours(167));

  BusinessCalendar utc = Load("UTC");
  ASSERT_TRUE(utc.IsoWeek("2026-W47", &from, &to));
  EXPECT_EQ(Iso(from), "2026-11-16T00:00:00Z");
  ASSERT_TRUE(utc.IsoWeek("2026-W01", &from, &to));
  EXPECT_EQ(Iso(from), "2025-12-29T00:00:00Z");
}

TEST(IsoWeekTest, FiftyThreeWeekYears) {
  BusinessCalendar utc = Load("UTC");
  Clock::TimePoint from, to;
  // 2025 starts on a Wednesday and is no leap year: 52 weeks. 2026 starts on a Thursday, so it
  // has a week 53 (Python: date.fromisocalendar(2026, 53, 1) == 2026-12-28).
  EXPECT_FALSE(utc.IsoWeek("2025-W53", &from, &to));
  ASSERT_TRUE(utc.IsoWeek("2026-W53", &from, &to));
  EXPECT_EQ(Iso(from), "2026-12-28T00:00:00Z");
  EXPECT_FALSE(utc.IsoWeek("2027-W53", &from, &to));
  ASSERT_TRUE(utc.IsoWeek("2020-W53", &from, &to));
  EXPECT_EQ(Iso(from), "2020-12-28T00:00:00Z");
  EXPECT_EQ(Iso(to), "2021-01-04T00:00:00Z");
  EXPECT_EQ(utc.IsoWeekOf(Utc(2021, 1, 1, 12)), "2020-W53");
  EXPECT_EQ(utc.IsoWeekOf(Utc(2025, 12, 31, 12)), "2026-W01");
}

TEST(IsoWeekTest, MalformedWeeks) {
  BusinessCalendar utc = Load("UTC");
  Clock::TimePoint from, to;
  for (const char* bad : {"2026-47", "2026-W00", "2026-W7", "abcd-W01", "2026W47", "", "2026-W47x"}) {
    EXPECT_FALSE(utc.IsoWeek(bad, &from, &to)) << bad;
  }
}

TEST(IsoWeekTest, WeekOfUsesLocalDate) {
  BusinessCalendar berlin = Load("Europe/Berlin");
  EXPECT_EQ(berlin.IsoWeekOf(Utc(2026, 11, 22, 22, 30)), "2026-W47");  // Sunday 23:30 CET
  EXPECT_EQ(berlin.IsoWeekOf(Utc(2026, 11, 22, 23, 30)), "2026-W48");  // Monday 00:30 CET
  BusinessCalendar utc = Load("UTC");
  EXPECT_EQ(utc.IsoWeekOf(Utc(2026, 11, 22, 23, 30)), "2026-W47");
}

TEST(DeadlinesTest, AckDeadlinePerSeverity) {
  BusinessCalendar berlin = Load("Europe/Berlin");
  const Clock::TimePoint opened = Utc(2026, 11, 20, 18, 0);  // Friday
  EXPECT_EQ(AckDeadline(Severity::kSev1, opened, berlin), opened + minutes(5));
  EXPECT_EQ(AckDeadline(Severity::kSev2, opened, berlin), opened + minutes(15));
  EXPECT_EQ(AckDeadline(Severity::kSev3, opened, berlin), opened + hours(1));
  EXPECT_EQ(Iso(AckDeadline(Severity::kSev4, opened, berlin)), "2026-11-23T08:00:00Z");
}

TEST(DeadlinesTest, RemindersAndReview) {
  const Clock::TimePoint last = Utc(2026, 11, 20, 12, 0);
  ASSERT_TRUE(NextUpdateDue(Severity::kSev1, last).has_value());
  EXPECT_EQ(*NextUpdateDue(Severity::kSev1, last), last + minutes(15));
  ASSERT_TRUE(NextUpdateDue(Severity::kSev2, last).has_value());
  EXPECT_EQ(*NextUpdateDue(Severity::kSev2, last), last + minutes(30));
  EXPECT_FALSE(NextUpdateDue(Severity::kSev3, last).has_value());
  EXPECT_FALSE(NextUpdateDue(Severity::kSev4, last).has_value());
  EXPECT_EQ(Iso(ReviewDue(Utc(2026, 11, 20, 12, 34, 56))), "2026-11-22T12:34:56Z");
}

}  // namespace
}  // namespace flightdeck::incidents
