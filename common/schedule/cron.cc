#include "common/schedule/cron.h"

#include <time.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <sstream>
#include <string_view>

namespace flightdeck::schedule {
namespace {

struct FieldSpec {
  const char* name;
  int min;
  int max;
  // Names accepted in place of numbers, index + min is the value ("JAN" is 1, "SUN" is 0).
  const std::array<const char*, 12>* names;
  int name_count;
};

constexpr std::array<const char*, 12> kMonthNames = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                     "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<const char*, 12> kDayNames = {"SUN", "MON", "TUE", "WED", "THU", "FRI",
                                                   "SAT", "",    "",    "",    "",    ""};

// Day-of-week runs 0-7 while parsing so that "5-7" and "*/7" mean what cron means; 7 is folded
// into 0 afterwards.
constexpr std::array<FieldSpec, 5> kFields = {{
    {"minute", 0, 59, nullptr, 0},
    {"hour", 0, 23, nullptr, 0},
    {"day-of-month", 1, 31, nullptr, 0},
    {"month", 1, 12, &kMonthNames, 12},
    {"day-of-week", 0, 7, &kDayNames, 7},
}};

grpc::Status FieldError(const FieldSpec& spec, const std::string& field, const std::string& what) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                      "schedule: " + std::string(spec.name) + " field \"" + field + "\" " + what);
}

std::string RangeText(const FieldSpec& spec) {
  return std::to_string(spec.min) + "-" + std::to_string(spec.max);
}

std::vector<std::string> Split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::string::size_type start = 0;
  while (true) {
    auto end = text.find(separator, start);
    parts.push_back(text.substr(start, end - start));
    if (end == std::string::npos) return parts;
    start = end + 1;
  }
}

// One bound of a range: a number or, for months and weekdays, a three-letter name.
grpc::Status ParseValue(const FieldSpec& spec, const std::string& field, const std::string& text,
                        int* out) {
  if (text.empty()) return FieldError(spec, field, "has an item with a missing number");
  if (std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); })) {
    // Bounded so that "99999999999" is reported as out of range rather than overflowing.
    long value = 0;
    for (char c : text) {
      value = value * 10 + (c - '0');
      if (value > 1000) break;
    }
    if (value < spec.min || value > spec.max) {
      std::string what = "is out of range " + RangeText(spec);
      if (text != field) what += " (" + text + ")";
      return FieldError(spec, field, what);
    }
    *out = static_cast<int>(value);
    return grpc::Status::OK;
  }
  if (spec.names != nullptr) {
    std::string upper = text;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    for (int i = 0; i < spec.name_count; ++i) {
      if (upper == (*spec.names)[i]) {
        *out = spec.min + i;
        return grpc::Status::OK;
      }
    }
    return FieldError(spec, field,
                      "has \"" + text + "\", which is neither a number nor a " +
                          (spec.name_count == 12 ? "month name (JAN-DEC)" : "day name (SUN-SAT)"));
  }
  return FieldError(spec, field, "has \"" + text + "\", which is not a number");
}

grpc::Status ParseStep(const FieldSpec& spec, const std::string& field, const std::string& text,
                       int* step) {
  if (text.empty() ||
      !std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); })) {
    return FieldError(spec, field, "has a step \"" + text + "\" that is not a number");
  }
  long value = 0;
  for (char c : text) {
    value = value * 10 + (c - '0');
    if (value > 1000) break;
  }
  if (value == 0) return FieldError(spec, field, "has a step of 0; a step must be at least 1");
  if (value > spec.max) {
    return FieldError(spec, field,
                      "has a step of " + text + ", larger than the field's range " +
                          RangeText(spec));
  }
  *step = static_cast<int>(value);
  return grpc::Status::OK;
}

// One list item: "*", "n", "a-b", each optionally followed by "/step". A bare "n/step" runs from n
// to the field's maximum, as cronie reads it.
grpc::Status ParseItem(const FieldSpec& spec, const std::string& field, const std::string& item,
                       std::vector<bool>* allowed) {
  if (item.empty()) return FieldError(spec, field, "has an empty list item");
  std::string range = item;
  int step = 1;
  bool stepped = false;
  if (auto slash = item.find('/'); slash != std::string::npos) {
    range = item.substr(0, slash);
    if (grpc::Status s = ParseStep(spec, field, item.substr(slash + 1), &step); !s.ok()) return s;
    stepped = true;
  }
  int low = spec.min;
  int high = spec.max;
  if (range != "*") {
    auto dash = range.find('-');
    if (grpc::Status s = ParseValue(spec, field, range.substr(0, dash), &low); !s.ok()) return s;
    if (dash == std::string::npos) {
      high = stepped ? spec.max : low;
    } else {
      std::string upper = range.substr(dash + 1);
      if (upper.find('-') != std::string::npos) {
        return FieldError(spec, field, "has \"" + range + "\", which is not a range a-b");
      }
      if (grpc::Status s = ParseValue(spec, field, upper, &high); !s.ok()) return s;
      // "FRI-SUN" reads as Friday to Sunday, not as a reversed range.
      const bool named = !std::isdigit(static_cast<unsigned char>(upper[0]));
      if (spec.names == &kDayNames && high == 0 && named) {
        high = 7;
      }
      if (low > high) {
        return FieldError(spec, field,
                          "has a reversed range " + range + "; write the smaller bound first");
      }
    }
  }
  for (int v = low; v <= high; v += step) (*allowed)[v] = true;
  return grpc::Status::OK;
}

grpc::Status ParseField(const FieldSpec& spec, const std::string& field,
                        std::vector<bool>* allowed) {
  allowed->assign(spec.max + 1, false);
  for (const std::string& item : Split(field, ',')) {
    if (grpc::Status s = ParseItem(spec, field, item, allowed); !s.ok()) return s;
  }
  return grpc::Status::OK;
}

// First index > from that is set, or -1.
int NextSet(const std::vector<bool>& allowed, int from) {
  for (int i = from + 1; i < static_cast<int>(allowed.size()); ++i) {
    if (allowed[i]) return i;
  }
  return -1;
}

int DaysInMonth(int year, int month0) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month0 != 1) return kDays[month0];
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return leap ? 29 : 28;
}

}  // namespace

grpc::Status CronSchedule::Parse(const std::string& expression, CronSchedule* out) {
  std::istringstream in(expression);
  std::vector<std::string> fields;
  for (std::string f; in >> f;) fields.push_back(f);
  if (fields.size() != kFields.size()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "schedule: expected 5 fields (minute hour day-of-month month "
                        "day-of-week), got " +
                            std::to_string(fields.size()) + " in \"" + expression + "\"");
  }
  CronSchedule parsed;
  std::array<std::vector<bool>*, 5> targets = {&parsed.minutes_, &parsed.hours_, &parsed.days_,
                                               &parsed.months_, &parsed.weekdays_};
  for (size_t i = 0; i < kFields.size(); ++i) {
    if (grpc::Status s = ParseField(kFields[i], fields[i], targets[i]); !s.ok()) return s;
  }
  if (parsed.weekdays_[7]) parsed.weekdays_[0] = true;
  parsed.weekdays_.resize(7);
  // Cron's rule: a day field counts as restricted unless it starts with "*", so "*/2" in
  // day-of-month still combines with day-of-week by AND, as in Vixie cron and cronie.
  parsed.day_restricted_ = fields[2][0] != '*';
  parsed.weekday_restricted_ = fields[4][0] != '*';
  parsed.expression_ = expression;
  *out = std::move(parsed);
  return grpc::Status::OK;
}

std::optional<std::chrono::system_clock::time_point> CronSchedule::NextAfter(
    std::chrono::system_clock::time_point after) const {
  if (minutes_.empty()) return std::nullopt;  // never parsed
  using std::chrono::minutes;
  using std::chrono::seconds;
  const auto first = std::chrono::floor<minutes>(after.time_since_epoch()) + minutes(1);
  const time_t start = static_cast<time_t>(std::chrono::duration_cast<seconds>(first).count());

  tm t{};
  if (gmtime_r(&start, &t) == nullptr) return std::nullopt;
  tm limit_tm = t;
  limit_tm.tm_year += 5;
  const time_t limit = timegm(&limit_tm);

  // Walks coarse to fine: a month that cannot match is skipped whole, then a day, then an hour,
  // so even "0 0 29 2 *" takes a few dozen steps, not millions of minutes.
  while (true) {
    const time_t candidate = timegm(&t);  // also normalises t and fills tm_wday
    if (candidate > limit) return std::nullopt;
    if (!months_[t.tm_mon + 1]) {
      int next = NextSet(months_, t.tm_mon + 1);
      if (next < 0) {
        ++t.tm_year;
        next = NextSet(months_, 0);
      }
      t.tm_mon = next - 1;
      t.tm_mday = 1;
      t.tm_hour = 0;
      t.tm_min = 0;
      continue;
    }
    const bool day_ok = days_[t.tm_mday];
    const bool weekday_ok = weekdays_[t.tm_wday];
    const bool matches = (day_restricted_ && weekday_restricted_) ? (day_ok || weekday_ok)
                                                                  : (day_ok && weekday_ok);
    if (!matches) {
      if (t.tm_mday >= DaysInMonth(t.tm_year + 1900, t.tm_mon)) {
        ++t.tm_mon;
        t.tm_mday = 1;
      } else {
        ++t.tm_mday;
      }
      t.tm_hour = 0;
      t.tm_min = 0;
      continue;
    }
    if (!hours_[t.tm_hour]) {
      int next = NextSet(hours_, t.tm_hour);
      if (next < 0) {
        ++t.tm_mday;  // timegm rolls the month over
        next = NextSet(hours_, -1);
      }
      t.tm_hour = next;
      t.tm_min = 0;
      continue;
    }
    if (!minutes_[t.tm_min]) {
      int next = NextSet(minutes_, t.tm_min);
      if (next < 0) {
        ++t.tm_hour;
        next = NextSet(minutes_, -1);
      }
      t.tm_min = next;
      continue;
    }
    return std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(seconds(candidate)));
  }
}

}  // namespace flightdeck::schedule
