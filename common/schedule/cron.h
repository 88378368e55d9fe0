#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <grpcpp/support/status.h>

namespace flightdeck::schedule {

// A standard 5-field cron expression in UTC: minute hour day-of-month month day-of-week, each
// "*", a number, a range "a-b", a list "a,b", a step "*/n" or "a-b/n"; month names JAN-DEC and
// day names SUN-SAT; day-of-week 0 or 7 is Sunday. When both day fields are restricted, a day
// matches if either does (cron's rule).
class CronSchedule {
 public:
  // INVALID_ARGUMENT naming the field: "schedule: minute field \"61\" is out of range 0-59".
  static grpc::Status Parse(const std::string& expression, CronSchedule* out);
  // The first time strictly after `after` (to the minute) that matches; nullopt if none within
  // 5 years (e.g. "0 0 30 2 *").
  std::optional<std::chrono::system_clock::time_point> NextAfter(
      std::chrono::system_clock::time_point after) const;
  const std::string& expression() const { return expression_; }

 private:
  std::string expression_;
  std::vector<bool> minutes_, hours_, days_, months_, weekdays_;
  bool day_restricted_ = false;
  bool weekday_restricted_ = false;
};

}  // namespace flightdeck::schedule
