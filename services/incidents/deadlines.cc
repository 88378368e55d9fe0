#include "services/incidents/deadlines.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <vector>

#include "common/clock/civil.h"

namespace flightdeck::incidents {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

// ---- civil calendar (common/clock/civil.h; days since 1970-01-01) ----

struct Civil {
  long long year;
  unsigned month;
  unsigned day;
};

Civil CivilFromDays(long long z) {
  z += 719468;
  const long long era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<long long>(yoe) + era * 400 + (m <= 2), m, d};
}

long long FloorDiv(long long a, long long b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// Monday = 0 .. Sunday = 6 (1970-01-01 was a Thursday).
int IsoWeekday(long long days) { return static_cast<int>(((days + 3) % 7 + 7) % 7); }


// ---- POSIX TZ rule (the TZif footer), for instants after the last listed transition ----

struct RuleDate {
  char kind = 'M';  // 'J' (1..365, no Feb 29), 'N' (0..365), 'M' (month.week.weekday)
  int n = 0, month = 0, week = 0, weekday = 0;
  long long time = 7200;  // seconds after local midnight
};

struct PosixTz {
  long long std_utoff = 0;
  bool has_dst = false;
  long long dst_utoff = 0;
  RuleDate start, end;

  // Local midnight-based day of the rule's date in `year`, as days since the epoch.
  static long long DayOf(const RuleDate& r, long long year) {
    const long long jan1 = DaysFromCivil(year, 1, 1);
    if (r.kind == 'J') return jan1 + r.n - 1 + (IsLeapYear(year) && r.n >= 60 ? 1 : 0);
    if (r.kind == 'N') return jan1 + r.n;
    const long long first = DaysFromCivil(year, static_cast<unsigned>(r.month), 1);
    const int first_sunday_based = (IsoWeekday(first) + 1) % 7;  // Sunday = 0
    long long day = (r.weekday - first_sunday_based + 7) % 7 + 7LL * (r.week - 1);
    while (day >= DaysInMonth(year, static_cast<unsigned>(r.month))) day -= 7;
    return first + day;
  }

  long long OffsetAt(long long utc) const {
    if (!has_dst) return std_utoff;
    const long long year = CivilFromDays(FloorDiv(utc + std_utoff, 86400)).year;
    const long long start_utc = DayOf(start, year) * 86400 + start.time - std_utoff;
    const long long end_utc = DayOf(end, year) * 86400 + end.time - dst_utoff;
    const bool dst = start_utc < end_utc ? (utc >= start_utc && utc < end_utc)
                                         : !(utc >= end_utc && utc < start_utc);
    return dst ? dst_utoff : std_utoff;
  }
};

class TzParser {
 public:
  explicit TzParser(const std::string& s) : s_(s) {}

  bool Parse(PosixTz* out) {
    long long off;
    if (!Name() || !Offset(&off)) return false;
    out->std_utoff = -off;  // POSIX offsets are west-positive
    if (pos_ == s_.size()) return true;
    if (!Name()) return false;
    out->has_dst = true;
    out->dst_utoff = out->std_utoff + 3600;
    if (pos_ < s_.size() && s_[pos_] != ',') {
      if (!Offset(&off)) return false;
      out->dst_utoff = -off;
    }
    if (pos_ == s_.size()) {
      // No rule: POSIX leaves it to the implementation; glibc uses the US rules.
      out->start = RuleDate{'M', 0, 3, 2, 0, 7200};
      out->end = RuleDate{'M', 0, 11, 1, 0, 7200};
      return true;
    }
    if (s_[pos_++] != ',' || !Date(&out->start) || pos_ >= s_.size() || s_[pos_++] != ',' ||
        !Date(&out->end)) {
      return false;
    }
    return pos_ == s_.size();
  }

 private:
  bool Name() {
    if (pos_ < s_.size() && s_[pos_] == '<') {
      const size_t close = s_.find('>', pos_);
      if (close == std::string::npos) return false;
      pos_ = close + 1;
      return true;
    }
    const size_t begin = pos_;
    while (pos_ < s_.size() && std::isalpha(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    return pos_ - begin >= 3;
  }

  bool Number(long long* out) {
    const size_t begin = pos_;
    long long v = 0;
    while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) {
      v = v * 10 + (s_[pos_++] - '0');
    }
    *out = v;
    return pos_ > begin;
  }

  // [+-]hh[:mm[:ss]] in seconds.
  bool Offset(long long* out) {
    long long sign = 1;
    if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) sign = s_[pos_++] == '-' ? -1 : 1;
    long long h, m = 0, sec = 0;
    if (!Number(&h)) return false;
    if (pos_ < s_.size() && s_[pos_] == ':') {
      ++pos_;
      if (!Number(&m)) return false;
      if (pos_ < s_.size() && s_[pos_] == ':') {
        ++pos_;
        if (!Number(&sec)) return false;
      }
    }
    *out = sign * (h * 3600 + m * 60 + sec);
    return true;
  }

  bool Date(RuleDate* out) {
    long long a, b, c;
    if (pos_ < s_.size() && s_[pos_] == 'M') {
      ++pos_;
      if (!Number(&a) || pos_ >= s_.size() || s_[pos_++] != '.' || !Number(&b) ||
          pos_ >= s_.size() || s_[pos_++] != '.' || !Number(&c)) {
        return false;
      }
      if (a < 1 || a > 12 || b < 1 || b > 5 || c > 6) return false;
      *out = RuleDate{'M', 0, static_cast<int>(a), static_cast<int>(b), static_cast<int>(c), 7200};
    } else if (pos_ < s_.size() && s_[pos_] == 'J') {
      ++pos_;
      if (!Number(&a) || a < 1 || a > 365) return false;
      *out = RuleDate{'J', static_cast<int>(a), 0, 0, 0, 7200};
    } else {
      if (!Number(&a) || a > 365) return false;
      *out = RuleDate{'N', static_cast<int>(a), 0, 0, 0, 7200};
    }
    if (pos_ < s_.size() && s_[pos_] == '/') {
      ++pos_;
      return Offset(&out->time);  // v3 allows -167..167 hours; Offset reads that too
    }
    return true;
  }

  const std::string& s_;
  size_t pos_ = 0;
};

// ---- TZif ----

struct Zone {
  std::vector<long long> transitions;  // UTC seconds, ascending
  std::vector<long long> offsets;      // UT offset in effect from transitions[i]
  long long initial_offset = 0;        // before the first transition
  bool has_footer = false;
  PosixTz footer;

  long long OffsetAt(long long utc) const {
    if (transitions.empty() || utc < transitions.front()) {
      return has_footer && transitions.empty() ? footer.OffsetAt(utc) : initial_offset;
    }
    if (utc >= transitions.back() && has_footer) return footer.OffsetAt(utc);
    auto it = std::upper_bound(transitions.begin(), transitions.end(), utc);
    return offsets[static_cast<size_t>(it - transitions.begin()) - 1];
  }

  // The UTC instant of a local wall-clock time. An ambiguous time (autumn fold) takes the
  // earlier instant; a skipped one (spring gap) is read with the offset before the gap, which
  // moves it forward as mktime does.
  long long LocalToUtc(long long local) const {
    const long long before = OffsetAt(local - 86400 * 2);
    const long long after = OffsetAt(local + 86400 * 2);
    long long best = 0;
    bool found = false;
    for (long long off : {before, after}) {
      const long long utc = local - off;
      if (OffsetAt(utc) == off && (!found || utc < best)) {
        best = utc;
        found = true;
      }
    }
    return found ? best : local - before;
  }
};

uint32_t Be32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

int64_t Be64(const unsigned char* p) {
  return static_cast<int64_t>((uint64_t{Be32(p)} << 32) | Be32(p + 4));
}

bool ParseTzif(const std::string& data, Zone* zone) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  const size_t size = data.size();
  auto header = [&](size_t at, uint32_t counts[6]) {
    if (at + 44 > size || data.compare(at, 4, "TZif") != 0) return false;
    for (int i = 0; i < 6; ++i) counts[i] = Be32(p + at + 20 + 4 * i);
    return true;
  };
  uint32_t c[6];  // isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
  if (!header(0, c)) return false;
  const char version = data[4];
  size_t at = 44;
  int time_size = 4;
  if (version >= '2') {
    // Skip the 32-bit block; the 64-bit one follows with its own header.
    at += size_t{c[3]} * 5 + size_t{c[4]} * 6 + c[5] + size_t{c[2]} * 8 + c[1] + c[0];
    if (!header(at, c)) return false;
    at += 44;
    time_size = 8;
  }
  const size_t timecnt = c[3], typecnt = c[4];
  const size_t block = timecnt * (time_size + 1) + typecnt * 6 + c[5] +
                       size_t{c[2]} * (time_size + 4) + c[1] + c[0];
  if (typecnt == 0 || at + block > size) return false;
  const unsigned char* times = p + at;
  const unsigned char* idx = times + timecnt * time_size;
  const unsigned char* types = idx + timecnt;
  std::vector<long long> type_offsets(typecnt);
  std::vector<bool> type_dst(typecnt);
  for (size_t i = 0; i < typecnt; ++i) {
    type_offsets[i] = static_cast<int32_t>(Be32(types + 6 * i));
    type_dst[i] = types[6 * i + 4] != 0;
  }
  zone->transitions.clear();
  zone->offsets.clear();
  for (size_t i = 0; i < timecnt; ++i) {
    const long long t = time_size == 8 ? Be64(times + 8 * i)
                                       : static_cast<int32_t>(Be32(times + 4 * i));
    if (idx[i] >= typecnt) return false;
    zone->transitions.push_back(t);
    zone->offsets.push_back(type_offsets[idx[i]]);
  }
  // RFC 8536: before the first transition, local time type 0 applies.
  zone->initial_offset = type_offsets[0];
  at += block;
  if (time_size == 8 && at < size && data[at] == '\n') {
    const size_t end = data.find('\n', at + 1);
    if (end != std::string::npos && end > at + 1) {
      const std::string tz = data.substr(at + 1, end - at - 1);
      zone->has_footer = TzParser(tz).Parse(&zone->footer);
    }
  }
  return true;
}

bool ValidZoneName(const std::string& zone) {
  if (zone.empty() || zone.front() == '/' || zone.find("..") != std::string::npos) return false;
  return std::all_of(zone.begin(), zone.end(), [](unsigned char ch) {
    return std::isalnum(ch) || ch == '/' || ch == '_' || ch == '-' || ch == '+';
  });
}

long long SecondsOf(Clock::TimePoint t) {
  return std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count();
}

Clock::TimePoint FromSeconds(long long s) { return Clock::TimePoint(std::chrono::seconds(s)); }

const Zone& ZoneOf(const std::shared_ptr<const void>& tz) {
  static const Zone kUtc;
  return tz ? *static_cast<const Zone*>(tz.get()) : kUtc;
}

// ISO week 1 starts on the Monday of the week that holds 4 January.
long long IsoWeekOneMonday(long long year) {
  const long long jan4 = DaysFromCivil(year, 1, 4);
  return jan4 - IsoWeekday(jan4);
}

}  // namespace

bool BusinessCalendar::Load(const std::string& zone, BusinessCalendar* out, std::string* error) {
  if (zone.empty() || zone == "UTC" || zone == "Etc/UTC") {
    out->zone_ = zone.empty() ? "UTC" : zone;
    out->tz_.reset();
    return true;
  }
  if (!ValidZoneName(zone)) {
    *error = "unknown time zone \"" + zone + "\"";
    return false;
  }
  const char* dir = std::getenv("TZDIR");
  const std::string path = std::string(dir && *dir ? dir : "/usr/share/zoneinfo") + "/" + zone;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = "unknown time zone \"" + zone + "\" (no " + path + ")";
    return false;
  }
  const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto parsed = std::make_shared<Zone>();
  if (!ParseTzif(data, parsed.get())) {
    *error = "time zone \"" + zone + "\": " + path + " is not a TZif file";
    return false;
  }
  out->zone_ = zone;
  out->tz_ = std::move(parsed);
  return true;
}

Clock::TimePoint BusinessCalendar::NextBusinessDayNine(Clock::TimePoint t) const {
  const Zone& z = ZoneOf(tz_);
  const long long utc = SecondsOf(t);
  long long day = FloorDiv(utc + z.OffsetAt(utc), 86400) + 1;
  while (IsoWeekday(day) >= 5) ++day;
  return FromSeconds(z.LocalToUtc(day * 86400 + 9 * 3600));
}

bool BusinessCalendar::IsoWeek(const std::string& week, Clock::TimePoint* from,
                               Clock::TimePoint* to) const {
  // "YYYY-Www"
  if (week.size() != 8 || week[4] != '-' || (week[5] != 'W' && week[5] != 'w')) return false;
  for (size_t i : {0, 1, 2, 3, 6, 7}) {
    if (!std::isdigit(static_cast<unsigned char>(week[i]))) return false;
  }
  const long long year = std::stoll(week.substr(0, 4));
  const int w = std::stoi(week.substr(6, 2));
  const long long weeks = (IsoWeekOneMonday(year + 1) - IsoWeekOneMonday(year)) / 7;
  if (year < 1971 || w < 1 || w > weeks) return false;
  const Zone& z = ZoneOf(tz_);
  const long long monday = IsoWeekOneMonday(year) + 7LL * (w - 1);
  *from = FromSeconds(z.LocalToUtc(monday * 86400));
  *to = FromSeconds(z.LocalToUtc((monday + 7) * 86400));
  return true;
}

std::string BusinessCalendar::IsoWeekOf(Clock::TimePoint t) const {
  const Zone& z = ZoneOf(tz_);
  const long long utc = SecondsOf(t);
  const long long day = FloorDiv(utc + z.OffsetAt(utc), 86400);
  long long year = CivilFromDays(day).year;
  if (day >= IsoWeekOneMonday(year + 1)) {
    ++year;
  } else if (day < IsoWeekOneMonday(year)) {
    --year;
  }
  const long long w = (day - IsoWeekOneMonday(year)) / 7 + 1;
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%04lld-W%02lld", year, w);
  return buf;
}

Clock::TimePoint AckDeadline(Severity s, Clock::TimePoint opened, const BusinessCalendar& cal) {
  switch (s) {
    case Severity::kSev1:
      return opened + minutes(5);
    case Severity::kSev2:
      return opened + minutes(15);
    case Severity::kSev3:
      return opened + hours(1);
    case Severity::kSev4:
      return cal.NextBusinessDayNine(opened);
  }
  return opened + hours(1);
}

std::optional<Clock::TimePoint> NextUpdateDue(Severity s, Clock::TimePoint last_update) {
  switch (s) {
    case Severity::kSev1:
      return last_update + minutes(15);
    case Severity::kSev2:
      return last_update + minutes(30);
    default:
      return std::nullopt;
  }
}

Clock::TimePoint ReviewDue(Clock::TimePoint resolved) { return resolved + hours(48); }

}  // namespace flightdeck::incidents
