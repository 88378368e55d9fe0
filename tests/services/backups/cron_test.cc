#include "services/backups/cron.h"

#include <time.h>

#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace flightdeck::backups {
namespace {

using Clock = std::chrono::system_clock;

// "2024-01-31 00:00" or "2024-01-31 00:00:30" in UTC.
Clock::time_point At(const std::string& text) {
  tm t{};
  int seconds = 0;
  int n = sscanf(text.c_str(), "%d-%d-%d %d:%d:%d", &t.tm_year, &t.tm_mon, &t.tm_mday, &t.tm_hour,
                 &t.tm_min, &seconds);
  EXPECT_GE(n, 5) << "bad time in test: " << text;
  t.tm_year -= 1900;
  t.tm_mon -= 1;
  t.tm_sec = seconds;
  return Clock::from_time_t(timegm(&t));
}

// "2024-03-31 00:00 Sun": the weekday makes day-of-week failures readable.
std::string Format(Clock::time_point tp) {
  time_t s = Clock::to_time_t(tp);
  tm t{};
  gmtime_r(&s, &t);
  char buf[64];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M %a", &t);
  return buf;
}

CronSchedule MustParse(const std::string& expression) {
  CronSchedule s;
  grpc::Status status = CronSchedule::Parse(expression, &s);
  EXPECT_TRUE(status.ok()) << expression << ": " << status.error_message();
  return s;
}

std::string Next(const std::string& expression, const std::string& after) {
  auto next = MustParse(expression).NextAfter(At(after));
  return next ? Format(*next) : "none";
}

// The next `count` run times, each strictly after the one before.
std::vector<std::string> Runs(const std::string& expression, const std::string& after, int count) {
  CronSchedule s = MustParse(expression);
  std::vector<std::string> runs;
  Clock::time_point t = At(after);
  for (int i = 0; i < count; ++i) {
    auto next = s.NextAfter(t);
    if (!next) {
      runs.push_back("none");
      break;
    }
    runs.push_back(Format(*next));
    t = *next;
  }
  return runs;
}

std::string ParseError(const std::string& expression) {
  CronSchedule s;
  grpc::Status status = CronSchedule::Parse(expression, &s);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << expression;
  return status.error_message();
}

// --- fields ---------------------------------------------------------------------------------

TEST(CronTest, MinuteFieldRunsOncePerHourStrictlyAfterTheGivenTime) {
  EXPECT_EQ(Runs("5 * * * *", "2024-05-10 10:00", 3),
            (std::vector<std::string>{"2024-05-10 10:05 Fri", "2024-05-10 11:05 Fri",
                                      "2024-05-10 12:05 Fri"}));
  EXPECT_EQ(Next("5 * * * *", "2024-05-10 10:05"), "2024-05-10 11:05 Fri");
  EXPECT_EQ(Next("5 * * * *", "2024-05-10 10:04:59"), "2024-05-10 10:05 Fri");
  EXPECT_EQ(Next("5 * * * *", "2024-05-10 10:05:30"), "2024-05-10 11:05 Fri");
}

TEST(CronTest, HourFieldRunsOncePerDay) {
  EXPECT_EQ(Runs("30 14 * * *", "2024-05-10 15:00", 2),
            (std::vector<std::string>{"2024-05-11 14:30 Sat", "2024-05-12 14:30 Sun"}));
  EXPECT_EQ(Next("30 14 * * *", "2024-05-10 14:29"), "2024-05-10 14:30 Fri");
}

TEST(CronTest, DayOfMonthFieldRunsOncePerMonth) {
  EXPECT_EQ(Runs("0 3 15 * *", "2024-05-15 03:00", 3),
            (std::vector<std::string>{"2024-06-15 03:00 Sat", "2024-07-15 03:00 Mon",
                                      "2024-08-15 03:00 Thu"}));
}

TEST(CronTest, MonthFieldTakesNumbersAndNamesInAnyCase) {
  for (const char* expression : {"0 0 1 6 *", "0 0 1 JUN *", "0 0 1 jun *", "0 0 1 Jun *"}) {
    EXPECT_EQ(Runs(expression, "2024-06-01 00:00", 2),
              (std::vector<std::string>{"2025-06-01 00:00 Sun", "2026-06-01 00:00 Mon"}))
        << expression;
  }
  EXPECT_EQ(Runs("0 0 1 JAN-MAR *", "2024-01-15 00:00", 3),
            (std::vector<std::string>{"2024-02-01 00:00 Thu", "2024-03-01 00:00 Fri",
                                      "2025-01-01 00:00 Wed"}));
}

TEST(CronTest, DayOfWeekFieldTakesNumbersAndNames) {
  // Friday 10:00: the next weekday 09:00 is Monday.
  EXPECT_EQ(Runs("0 9 * * MON-FRI", "2024-05-10 10:00", 3),
            (std::vector<std::string>{"2024-05-13 09:00 Mon", "2024-05-14 09:00 Tue",
                                      "2024-05-15 09:00 Wed"}));
  EXPECT_EQ(Runs("0 9 * * 1-5", "2024-05-10 10:00", 3), Runs("0 9 * * MON-FRI",
                                                              "2024-05-10 10:00", 3));
  EXPECT_EQ(Runs("0 9 * * tue,thu", "2024-05-10 10:00", 2),
            (std::vector<std::string>{"2024-05-14 09:00 Tue", "2024-05-16 09:00 Thu"}));
}

TEST(CronTest, SundayIsBothZeroAndSeven) {
  // 2024-05-10 is a Friday.
  const std::vector<std::string> sundays = {"2024-05-12 00:00 Sun", "2024-05-19 00:00 Sun",
                                            "2024-05-26 00:00 Sun"};
  EXPECT_EQ(Runs("0 0 * * 0", "2024-05-10 12:00", 3), sundays);
  EXPECT_EQ(Runs("0 0 * * 7", "2024-05-10 12:00", 3), sundays);
  EXPECT_EQ(Runs("0 0 * * SUN", "2024-05-10 12:00", 3), sundays);
}

TEST(CronTest, WeekdayRangesMayEndOnSunday) {
  const std::vector<std::string> weekend = {"2024-05-10 00:00 Fri", "2024-05-11 00:00 Sat",
                                            "2024-05-12 00:00 Sun", "2024-05-17 00:00 Fri"};
  EXPECT_EQ(Runs("0 0 * * 5-7", "2024-05-09 12:00", 4), weekend);
  EXPECT_EQ(Runs("0 0 * * FRI-SUN", "2024-05-09 12:00", 4), weekend);
}

TEST(CronTest, RangesIncludeBothEnds) {
  EXPECT_EQ(Runs("10-12 * * * *", "2024-05-10 10:00", 4),
            (std::vector<std::string>{"2024-05-10 10:10 Fri", "2024-05-10 10:11 Fri",
                                      "2024-05-10 10:12 Fri", "2024-05-10 11:10 Fri"}));
}

TEST(CronTest, ListsMayMixValuesAndRanges) {
  EXPECT_EQ(Runs("0 1,5-6,23 * * *", "2024-05-10 00:00", 5),
            (std::vector<std::string>{"2024-05-10 01:00 Fri", "2024-05-10 05:00 Fri",
                                      "2024-05-10 06:00 Fri", "2024-05-10 23:00 Fri",
                                      "2024-05-11 01:00 Sat"}));
}

TEST(CronTest, EveryFifteenMinutes) {
  EXPECT_EQ(Runs("*/15 * * * *", "2024-05-10 10:07", 5),
            (std::vector<std::string>{"2024-05-10 10:15 Fri", "2024-05-10 10:30 Fri",
                                      "2024-05-10 10:45 Fri", "2024-05-10 11:00 Fri",
                                      "2024-05-10 11:15 Fri"}));
}

TEST(CronTest, StepsOverRangesAndFromAStartValue) {
  EXPECT_EQ(Runs("10-30/10 * * * *", "2024-05-10 10:00", 4),
            (std::vector<std::string>{"2024-05-10 10:10 Fri", "2024-05-10 10:20 Fri",
                                      "2024-05-10 10:30 Fri", "2024-05-10 11:10 Fri"}));
  EXPECT_EQ(Runs("5/20 * * * *", "2024-05-10 10:00", 4),
            (std::vector<std::string>{"2024-05-10 10:05 Fri", "2024-05-10 10:25 Fri",
                                      "2024-05-10 10:45 Fri", "2024-05-10 11:05 Fri"}));
  EXPECT_EQ(Runs("0 */6 * * *", "2024-05-10 10:00", 3),
            (std::vector<std::string>{"2024-05-10 12:00 Fri", "2024-05-10 18:00 Fri",
                                      "2024-05-11 00:00 Sat"}));
}

TEST(CronTest, ExtraWhitespaceBetweenFieldsIsAccepted) {
  EXPECT_EQ(Next("  0\t3  *  * *  ", "2024-05-10 10:00"), "2024-05-11 03:00 Sat");
}

TEST(CronTest, KeepsTheExpressionAsWritten) {
  EXPECT_EQ(MustParse("*/15 * * * *").expression(), "*/15 * * * *");
}

// --- the day-of-month / day-of-week rule ----------------------------------------------------

TEST(CronTest, BothDayFieldsRestrictedMatchEitherOne) {
  // The 13th, and every Friday: 2024-09-13 is a Friday, 2024-10-13 a Sunday.
  EXPECT_EQ(Runs("0 0 13 * FRI", "2024-09-12 00:00", 6),
            (std::vector<std::string>{"2024-09-13 00:00 Fri", "2024-09-20 00:00 Fri",
                                      "2024-09-27 00:00 Fri", "2024-10-04 00:00 Fri",
                                      "2024-10-11 00:00 Fri", "2024-10-13 00:00 Sun"}));
}

TEST(CronTest, OneDayFieldStarredMeansOnlyTheOtherCounts) {
  EXPECT_EQ(Runs("0 0 13 * *", "2024-09-12 00:00", 2),
            (std::vector<std::string>{"2024-09-13 00:00 Fri", "2024-10-13 00:00 Sun"}));
  EXPECT_EQ(Runs("0 0 * * FRI", "2024-09-12 00:00", 2),
            (std::vector<std::string>{"2024-09-13 00:00 Fri", "2024-09-20 00:00 Fri"}));
}

TEST(CronTest, AStarredStepInDayOfMonthStillCombinesWithDayOfWeekByAnd) {
  // As in Vixie cron and cronie: a field starting with "*" is unrestricted for the OR rule, so
  // this is "Mondays that fall on day 1, 11, 21 or 31", not "those days or any Monday".
  EXPECT_EQ(Runs("0 0 */10 * MON", "2024-01-01 00:00", 3),
            (std::vector<std::string>{"2024-03-11 00:00 Mon", "2024-04-01 00:00 Mon",
                                      "2024-07-01 00:00 Mon"}));
  // The same days written as a list are restricted, so any Monday matches as well.
  EXPECT_EQ(Runs("0 0 1,11,21,31 * MON", "2024-01-01 00:00", 3),
            (std::vector<std::string>{"2024-01-08 00:00 Mon", "2024-01-11 00:00 Thu",
                                      "2024-01-15 00:00 Mon"}));
}

// --- calendar edges -------------------------------------------------------------------------

TEST(CronTest, TheThirtyFirstOnlyHappensInThirtyOneDayMonths) {
  EXPECT_EQ(Next("0 0 31 * *", "2024-01-31 00:00"), "2024-03-31 00:00 Sun");
  EXPECT_EQ(Runs("0 0 31 * *", "2024-03-31 00:00", 4),
            (std::vector<std::string>{"2024-05-31 00:00 Fri", "2024-07-31 00:00 Wed",
                                      "2024-08-31 00:00 Sat", "2024-10-31 00:00 Thu"}));
}

TEST(CronTest, TheThirtiethSkipsFebruaryOnly) {
  EXPECT_EQ(Runs("0 0 30 * *", "2023-01-30 00:00", 2),
            (std::vector<std::string>{"2023-03-30 00:00 Thu", "2023-04-30 00:00 Sun"}));
}

TEST(CronTest, LeapDayRunsOnlyInLeapYears) {
  EXPECT_EQ(Next("0 0 29 2 *", "2025-03-01 00:00"), "2028-02-29 00:00 Tue");
  EXPECT_EQ(Next("0 0 29 2 *", "2024-02-29 00:00"), "2028-02-29 00:00 Tue");
  EXPECT_EQ(Next("0 0 29 2 *", "2024-02-28 23:59"), "2024-02-29 00:00 Thu");
  // 2100 is not a leap year, so from 2096 the next one is 2104: beyond five years.
  EXPECT_EQ(Next("0 0 29 2 *", "2096-03-01 00:00"), "none");
}

TEST(CronTest, ADateThatNeverExistsHasNoNextRun) {
  EXPECT_EQ(Next("0 0 30 2 *", "2024-01-01 00:00"), "none");
  EXPECT_EQ(Next("0 0 31 4,6,9,11 *", "2024-01-01 00:00"), "none");
}

TEST(CronTest, YearRollsOver) {
  EXPECT_EQ(Next("0 0 1 1 *", "2024-06-01 00:00"), "2025-01-01 00:00 Wed");
  EXPECT_EQ(Next("0 12 * 3 *", "2024-03-31 12:00"), "2025-03-01 12:00 Sat");
}

TEST(CronTest, EveryMinuteFromTheLastMinuteOfTheYear) {
  EXPECT_EQ(Runs("* * * * *", "2024-12-31 23:58", 3),
            (std::vector<std::string>{"2024-12-31 23:59 Tue", "2025-01-01 00:00 Wed",
                                      "2025-01-01 00:01 Wed"}));
  EXPECT_EQ(Next("* * * * *", "2024-12-31 23:59:59"), "2025-01-01 00:00 Wed");
}

TEST(CronTest, SchedulesThatNeverOrRarelyMatch) {
  CronSchedule never = MustParse("0 0 30 2 *");
  CronSchedule leap = MustParse("0 0 29 2 *");
  EXPECT_FALSE(never.NextAfter(At("2024-01-01 00:00")).has_value());
  EXPECT_TRUE(leap.NextAfter(At("2024-03-01 00:00")).has_value());
}

TEST(CronTest, AnUnparsedScheduleNeverRuns) {
  EXPECT_FALSE(CronSchedule().NextAfter(At("2024-01-01 00:00")).has_value());
}

// --- invalid expressions --------------------------------------------------------------------

TEST(CronTest, WrongNumberOfFieldsIsRejected) {
  EXPECT_EQ(ParseError("0 0 * *"),
            "schedule: expected 5 fields (minute hour day-of-month month day-of-week), got 4 in "
            "\"0 0 * *\"");
  EXPECT_NE(ParseError("0 0 * * * *").find("got 6"), std::string::npos);
  EXPECT_NE(ParseError("").find("got 0"), std::string::npos);
  EXPECT_NE(ParseError("@daily").find("expected 5 fields"), std::string::npos);
}

TEST(CronTest, OutOfRangeValuesNameTheField) {
  EXPECT_EQ(ParseError("61 * * * *"), "schedule: minute field \"61\" is out of range 0-59");
  EXPECT_EQ(ParseError("60 * * * *"), "schedule: minute field \"60\" is out of range 0-59");
  EXPECT_EQ(ParseError("0 24 * * *"), "schedule: hour field \"24\" is out of range 0-23");
  EXPECT_EQ(ParseError("0 0 0 * *"), "schedule: day-of-month field \"0\" is out of range 1-31");
  EXPECT_EQ(ParseError("0 0 32 * *"), "schedule: day-of-month field \"32\" is out of range 1-31");
  EXPECT_EQ(ParseError("0 0 1 13 *"), "schedule: month field \"13\" is out of range 1-12");
  EXPECT_EQ(ParseError("0 0 1 0 *"), "schedule: month field \"0\" is out of range 1-12");
  EXPECT_EQ(ParseError("0 0 * * 8"), "schedule: day-of-week field \"8\" is out of range 0-7");
  EXPECT_EQ(ParseError("0 0 * * 99999999999999999999"),
            "schedule: day-of-week field \"99999999999999999999\" is out of range 0-7");
  // Inside a list, the offending item is named too.
  EXPECT_EQ(ParseError("0,15,60 * * * *"),
            "schedule: minute field \"0,15,60\" is out of range 0-59 (60)");
  EXPECT_EQ(ParseError("0 20-25 * * *"),
            "schedule: hour field \"20-25\" is out of range 0-23 (25)");
}

TEST(CronTest, AZeroStepIsRejected) {
  EXPECT_EQ(ParseError("*/0 * * * *"),
            "schedule: minute field \"*/0\" has a step of 0; a step must be at least 1");
  EXPECT_NE(ParseError("0 0-12/0 * * *").find("hour field"), std::string::npos);
}

TEST(CronTest, BadStepsAreRejected) {
  EXPECT_EQ(ParseError("*/x * * * *"),
            "schedule: minute field \"*/x\" has a step \"x\" that is not a number");
  EXPECT_EQ(ParseError("0 */ * * *"),
            "schedule: hour field \"*/\" has a step \"\" that is not a number");
  EXPECT_EQ(ParseError("*/60 * * * *"),
            "schedule: minute field \"*/60\" has a step of 60, larger than the field's range "
            "0-59");
  EXPECT_NE(ParseError("*/5/2 * * * *").find("minute field"), std::string::npos);
}

TEST(CronTest, AReversedRangeIsRejected) {
  EXPECT_EQ(ParseError("0 0 5-1 * *"),
            "schedule: day-of-month field \"5-1\" has a reversed range 5-1; write the smaller "
            "bound first");
  EXPECT_NE(ParseError("0 0 * DEC-JAN *").find("month field \"DEC-JAN\" has a reversed range"),
            std::string::npos);
  EXPECT_NE(ParseError("0 0 * * 5-0").find("day-of-week field \"5-0\" has a reversed range"),
            std::string::npos);
}

TEST(CronTest, LettersWhereNumbersBelongAreRejected) {
  EXPECT_EQ(ParseError("a * * * *"),
            "schedule: minute field \"a\" has \"a\", which is not a number");
  EXPECT_EQ(ParseError("0 MON * * *"),
            "schedule: hour field \"MON\" has \"MON\", which is not a number");
  EXPECT_EQ(ParseError("0 0 1 JUNE *"),
            "schedule: month field \"JUNE\" has \"JUNE\", which is neither a number nor a month "
            "name (JAN-DEC)");
  EXPECT_EQ(ParseError("0 0 * * MON-FRY"),
            "schedule: day-of-week field \"MON-FRY\" has \"FRY\", which is neither a number nor "
            "a day name (SUN-SAT)");
  EXPECT_EQ(ParseError("0 0 * JAN MON,JAN"),
            "schedule: day-of-week field \"MON,JAN\" has \"JAN\", which is neither a number nor "
            "a day name (SUN-SAT)");
  EXPECT_NE(ParseError("0 0 ? * MON").find("day-of-month field \"?\""), std::string::npos);
  EXPECT_NE(ParseError("1.5 * * * *").find("minute field"), std::string::npos);
}

TEST(CronTest, EmptyListItemsAndBoundsAreRejected) {
  EXPECT_EQ(ParseError("1,,2 * * * *"), "schedule: minute field \"1,,2\" has an empty list item");
  EXPECT_EQ(ParseError("0 0 1, * *"), "schedule: day-of-month field \"1,\" has an empty list item");
  EXPECT_EQ(ParseError("0 ,3 * * *"), "schedule: hour field \",3\" has an empty list item");
  EXPECT_EQ(ParseError("0 0 * 1- *"),
            "schedule: month field \"1-\" has an item with a missing number");
  EXPECT_NE(ParseError("-5 * * * *").find("minute field \"-5\""), std::string::npos);
  EXPECT_NE(ParseError("0 1-2-3 * * *").find("hour field \"1-2-3\""), std::string::npos);
}

TEST(CronTest, AFailedParseLeavesTheOldScheduleInPlace) {
  CronSchedule s = MustParse("0 3 * * *");
  EXPECT_FALSE(CronSchedule::Parse("0 3 * * 8", &s).ok());
  EXPECT_EQ(s.expression(), "0 3 * * *");
  ASSERT_TRUE(s.NextAfter(At("2024-05-10 00:00")).has_value());
  EXPECT_EQ(Format(*s.NextAfter(At("2024-05-10 00:00"))), "2024-05-10 03:00 Fri");
}

}  // namespace
}  // namespace flightdeck::backups
