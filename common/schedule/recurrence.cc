#include "common/schedule/recurrence.h"

#include <algorithm>
#include <cctype>
#include <sstream>
#include <stdexcept>
#include <vector>

#include <date/date.h>
#include <date/tz.h>

namespace flightdeck::schedule {
namespace {

using std::chrono::minutes;

grpc::Status Invalid(const std::string& message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::vector<std::string> Words(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(Lower(w));
  return words;
}

int OrdinalOf(const std::string& word) {
  static const char* kOrdinals[] = {"first", "second", "third", "fourth", "last"};
  for (int i = 0; i < 5; ++i) {
    if (word == kOrdinals[i]) return i + 1;
  }
  return 0;
}

// "tuesday", "tue" or "tues" -> 2; -1 when not a weekday.
int WeekdayOf(const std::string& word) {
  static const char* kDays[] = {"sunday", "monday", "tuesday", "wednesday",
                                "thursday", "friday", "saturday"};
  if (word.size() < 3) return -1;
  for (int i = 0; i < 7; ++i) {
    if (std::string(kDays[i]).compare(0, word.size(), word) == 0) return i;
  }
  return -1;
}

// "03:00" -> 180; -1 when malformed.
int MinuteOfDay(const std::string& word) {
  int h = 0, m = 0;
  char colon = 0;
  std::istringstream in(word);
  if (!(in >> h >> colon >> m) || colon != ':' || !in.eof() || h < 0 || h > 23 || m < 0 ||
      m > 59) {
    return -1;
  }
  return h * 60 + m;
}

bool LooksLikeCron(const std::vector<std::string>& words) {
  return words.size() == 5 && OrdinalOf(words[0]) == 0;
}

date::local_seconds AsLocal(TimePoint local) {
  return date::local_seconds(std::chrono::duration_cast<std::chrono::seconds>(local.time_since_epoch()));
}

TimePoint FromLocalSeconds(date::local_seconds local) {
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(local.time_since_epoch()));
}

}  // namespace

grpc::Status CheckTimeZone(const std::string& name, const std::string& field) {
  if (name.empty()) return Invalid(field + ": is required (an IANA name such as Europe/Berlin or UTC)");
  try {
    (void)date::locate_zone(name);
    return grpc::Status::OK;
  } catch (const std::exception&) {
    return Invalid(field + ": unknown time zone \"" + name +
                   "\" (an IANA name such as Europe/Berlin or UTC)");
  }
}

grpc::Status Recurrence::Parse(const std::string& schedule, const std::string& time_zone,
                               Recurrence* out) {
  if (grpc::Status s = CheckTimeZone(time_zone); !s.ok()) return s;
  Recurrence r;
  r.zone_ = date::locate_zone(time_zone);
  const std::vector<std::string> words = Words(schedule);
  if (words.empty()) return Invalid("schedule: is required");
  if (LooksLikeCron(words)) {
    if (grpc::Status s = CronSchedule::Parse(schedule, &r.cron_); !s.ok()) return s;
    *out = r;
    return grpc::Status::OK;
  }
  // "<ordinal> <weekday> [of the month | of every month] HH:MM"
  const std::string usage =
      "schedule: \"" + schedule +
      "\" is neither a 5-field cron expression nor \"<first|second|third|fourth|last> <weekday> "
      "HH:MM\"";
  std::vector<std::string> rest(words.begin(), words.end());
  if (rest.size() >= 4 && rest[2] == "of") {
    // Drop "of the month" / "of every month" / "of each month".
    const bool filler = rest.size() >= 5 && (rest[3] == "the" || rest[3] == "every" || rest[3] == "each") &&
                        rest[4] == "month";
    if (!filler) return Invalid(usage);
    rest.erase(rest.begin() + 2, rest.begin() + 5);
  }
  if (rest.size() != 3) return Invalid(usage);
  r.ordinal_ = OrdinalOf(rest[0]);
  r.weekday_ = WeekdayOf(rest[1]);
  r.minute_of_day_ = MinuteOfDay(rest[2]);
  if (r.ordinal_ == 0) return Invalid(usage);
  if (r.weekday_ < 0) return Invalid("schedule: \"" + rest[1] + "\" is not a weekday");
  if (r.minute_of_day_ < 0) return Invalid("schedule: \"" + rest[2] + "\" is not a time HH:MM");
  r.monthly_ = true;
  *out = r;
  return grpc::Status::OK;
}

std::optional<TimePoint> Recurrence::NextLocalAfter(TimePoint local) const {
  if (!monthly_) return cron_.NextAfter(local);
  const date::sys_days today = date::floor<date::days>(local);
  date::year_month ym = date::year_month_day(today).year() / date::year_month_day(today).month();
  for (int i = 0; i < 62; ++i, ym += date::months(1)) {
    date::sys_days day;
    const date::weekday wd(static_cast<unsigned>(weekday_));
    if (ordinal_ == 5) {
      day = date::sys_days(date::year_month_weekday_last(ym.year(), ym.month(), date::weekday_last(wd)));
    } else {
      day = date::sys_days(date::year_month_weekday(ym.year(), ym.month(),
                                                    date::weekday_indexed(wd, ordinal_)));
    }
    const TimePoint candidate = TimePoint(day) + minutes(minute_of_day_);
    if (candidate > local) return candidate;
  }
  return std::nullopt;
}

std::optional<TimePoint> Recurrence::NextAfter(TimePoint after) const {
  if (zone_ == nullptr) return std::nullopt;
  const auto after_s = date::floor<std::chrono::seconds>(after);
  TimePoint local = FromLocalSeconds(zone_->to_local(after_s));
  // Usually one step; more only when a local time that happens twice maps to an instant before
  // `after` (then its next match is the answer). Bounded all the same.
  for (int i = 0; i < 8; ++i) {
    std::optional<TimePoint> next_local = NextLocalAfter(local);
    if (!next_local) return std::nullopt;
    const TimePoint instant =
        TimePoint(zone_->to_sys(AsLocal(*next_local), date::choose::earliest).time_since_epoch());
    if (instant > after) return instant;
    local = *next_local;
  }
  return std::nullopt;
}

std::optional<Span> OccurrenceAt(const Recurrence& recurrence, std::chrono::seconds length,
                                 TimePoint t) {
  // The earliest start in (t - length, t], if any, covers t.
  std::optional<TimePoint> start = recurrence.NextAfter(t - length);
  if (!start || *start > t) return std::nullopt;
  return Span{*start, *start + length};
}

std::optional<Span> NextOccurrence(const Recurrence& recurrence, std::chrono::seconds length,
                                   TimePoint t) {
  std::optional<TimePoint> start = recurrence.NextAfter(t);
  if (!start) return std::nullopt;
  return Span{*start, *start + length};
}

}  // namespace flightdeck::schedule
