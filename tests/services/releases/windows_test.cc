// Windows and freezes decided on fixed instants: validation that names the field, a required
// maintenance window, a freeze inside it, one-off ranges, and what "next" answers.
#include "services/releases/windows.h"

#include <gtest/gtest.h>

#include <date/date.h>

#include "common/clock/timestamps.h"

namespace flightdeck::releases {
namespace {

Clock::TimePoint Utc(const std::string& text) {
  std::istringstream in(text);
  date::sys_seconds t;
  in >> date::parse("%F %R", t);
  EXPECT_FALSE(in.fail()) << text;
  return Clock::TimePoint(t);
}

v1::Window Maintenance(const std::string& name, const std::string& schedule, int hours,
                       const std::string& zone = "UTC") {
  v1::Window w;
  w.set_name(name);
  w.set_kind(v1::Window::MAINTENANCE);
  w.set_schedule(schedule);
  w.mutable_duration()->set_seconds(hours * 3600);
  w.set_time_zone(zone);
  return w;
}

v1::Window Freeze(const std::string& name, const std::string& from, const std::string& to) {
  v1::Window w;
  w.set_name(name);
  w.set_kind(v1::Window::FREEZE);
  v1::TimeRange* r = w.add_ranges();
  SetTimestamp(r->mutable_start(), Utc(from));
  SetTimestamp(r->mutable_end(), Utc(to));
  w.set_time_zone("UTC");
  return w;
}

TEST(ValidateWindow, NamesEveryBadField) {
  v1::Window w;
  w.set_name("Next");
  w.set_schedule("first funday 03:00");
  w.add_environments("Prod!");
  v1::TimeRange* r = w.add_ranges();
  SetTimestamp(r->mutable_start(), Utc("2027-01-02 00:00"));
  SetTimestamp(r->mutable_end(), Utc("2027-01-01 00:00"));
  v1::ChecklistItem* item = w.add_checklist();
  item->set_name("backups");
  item->set_check(v1::ChecklistItem::BACKUP_VERIFIED);
  grpc::Status s = ValidateWindow(w);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  for (const char* field : {"name:", "kind:", "schedule:", "duration:", "environments[0]:",
                            "ranges[0].end:", "checklist[0].backup_targets:"}) {
    EXPECT_NE(s.error_message().find(field), std::string::npos) << field << " in " << s.error_message();
  }
  v1::Window zone = Maintenance("db", "0 2 * * SUN", 2, "Europe/Nowhere");
  EXPECT_NE(ValidateWindow(zone).error_message().find("time_zone: unknown time zone"), std::string::npos);
}

TEST(ValidateWindow, FillsDefaults) {
  v1::Window w = Maintenance("db-maintenance", "0 2 * * SUN", 2);
  w.clear_time_zone();
  v1::ChecklistItem* item = w.add_checklist();
  item->set_name("staged");
  item->set_check(v1::ChecklistItem::STAGING_SUCCEEDED);
  ASSERT_TRUE(ValidateWindow(w).ok());
  EXPECT_EQ(w.time_zone(), "UTC");
  EXPECT_EQ(w.checklist(0).environment(), "staging");
}

TEST(DecideGate, RequiredWindowClosedSaysWhenItOpens) {
  // Sundays 02:00-04:00 UTC; 2027-03-03 is a Wednesday.
  std::vector<v1::Window> windows = {Maintenance("db-maintenance", "0 2 * * SUN", 2)};
  GateDecision d = DecideGate(windows, "db-maintenance", "api", "production", Utc("2027-03-03 10:00"));
  EXPECT_FALSE(d.open);
  ASSERT_TRUE(d.opens_at.has_value());
  EXPECT_EQ(FormatTime(*d.opens_at), "2027-03-07T02:00:00Z");
  EXPECT_EQ(FormatTime(*d.closes_at), "2027-03-07T04:00:00Z");
  EXPECT_NE(d.reason.find("requires maintenance window \"db-maintenance\", which is closed"), std::string::npos);

  GateDecision inside = DecideGate(windows, "db-maintenance", "api", "production", Utc("2027-03-07 03:00"));
  EXPECT_TRUE(inside.open);
  EXPECT_EQ(FormatTime(*inside.closes_at), "2027-03-07T04:00:00Z");
}

TEST(DecideGate, FreezeInsideTheWindowPushesToTheNextOpening) {
  std::vector<v1::Window> windows = {Maintenance("db-maintenance", "0 2 * * SUN", 2),
                                     Freeze("holidays", "2027-03-06 00:00", "2027-03-08 00:00")};
  GateDecision d = DecideGate(windows, "db-maintenance", "api", "production", Utc("2027-03-06 12:00"));
  EXPECT_FALSE(d.open);
  EXPECT_NE(d.reason.find("freeze \"holidays\""), std::string::npos) << d.reason;
  ASSERT_TRUE(d.opens_at.has_value());
  EXPECT_EQ(FormatTime(*d.opens_at), "2027-03-14T02:00:00Z");
}

TEST(DecideGate, FreezeAloneRefusesUntilItEndsAndOnlyWhereItCovers) {
  v1::Window freeze = Freeze("holidays", "2027-12-20 00:00", "2028-01-03 00:00");
  freeze.add_environments("production");
  std::vector<v1::Window> windows = {freeze};
  GateDecision d = DecideGate(windows, "", "api", "production", Utc("2027-12-24 09:00"));
  EXPECT_FALSE(d.open);
  EXPECT_EQ(FormatTime(*d.opens_at), "2028-01-03T00:00:00Z");
  EXPECT_TRUE(DecideGate(windows, "", "api", "staging", Utc("2027-12-24 09:00")).open);
  // Before the freeze: open, and the opening closes when the freeze starts.
  GateDecision before = DecideGate(windows, "", "api", "production", Utc("2027-12-19 09:00"));
  EXPECT_TRUE(before.open);
  EXPECT_EQ(FormatTime(*before.closes_at), "2027-12-20T00:00:00Z");
}

TEST(DecideGate, UndefinedRequiredWindowKeepsTheEnvironmentClosed) {
  GateDecision d = DecideGate({}, "db-maintenance", "api", "production", Utc("2027-03-07 03:00"));
  EXPECT_FALSE(d.open);
  EXPECT_FALSE(d.opens_at.has_value());
  EXPECT_NE(d.reason.find("not defined"), std::string::npos);
}

TEST(DecideGate, RequirementAppliesToTheServicesTheWindowCovers) {
  v1::Window w = Maintenance("db-maintenance", "0 2 * * SUN", 2);
  w.add_services("orders");
  std::vector<v1::Window> windows = {w};
  EXPECT_FALSE(DecideGate(windows, "db-maintenance", "orders", "production", Utc("2027-03-03 10:00")).open);
  EXPECT_TRUE(DecideGate(windows, "db-maintenance", "web", "production", Utc("2027-03-03 10:00")).open);
}

TEST(DecideGate, FirstTuesdayInBerlinAcrossTheDstChange) {
  // First Tuesday of April 2027 is 04-06; 03:00 CEST is 01:00 UTC.
  std::vector<v1::Window> windows = {Maintenance("patching", "first tuesday 03:00", 2, "Europe/Berlin")};
  GateDecision d = DecideGate(windows, "patching", "api", "production", Utc("2027-03-20 00:00"));
  EXPECT_EQ(FormatTime(*d.opens_at), "2027-04-06T01:00:00Z");
}

}  // namespace
}  // namespace flightdeck::releases
