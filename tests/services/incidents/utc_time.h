#pragma once

#include <ctime>
#include <string>

#include "common/clock/clock.h"

// Wall-clock helpers for the incidents logic tests, written on glibc so that expected times do
// not come from the code under test.
namespace flightdeck::incidents::testing {

// UTC wall time to a time point via glibc's timegm: independent of the code under test.
inline Clock::TimePoint Utc(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return Clock::TimePoint(std::chrono::seconds(timegm(&tm)));
}

inline std::string Iso(Clock::TimePoint t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace flightdeck::incidents::testing
