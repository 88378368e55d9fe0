#include "services/releases/windows.h"

#include <algorithm>
#include <set>

#include <date/date.h>

#include "common/clock/timestamps.h"
#include "services/releases/validation.h"

namespace flightdeck::releases {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

constexpr auto kMaxLength = hours(24 * 31);
constexpr auto kMaxRange = hours(24 * 366);
// How far DecideGate looks for an opening.
constexpr auto kHorizon = hours(24 * 366);

seconds SecondsOf(const google::protobuf::Duration& d) { return seconds(d.seconds()); }

void ValidateChecklist(v1::Window& window, FieldErrors* errors) {
  if (window.checklist_size() > 0 && window.kind() == v1::Window::FREEZE) {
    errors->Add("checklist", "only a MAINTENANCE window has a checklist");
    return;
  }
  std::set<std::string> names;
  for (int i = 0; i < window.checklist_size(); ++i) {
    v1::ChecklistItem& item = *window.mutable_checklist(i);
    const std::string field = "checklist[" + std::to_string(i) + "]";
    if (!IsDnsLabel(item.name())) {
      errors->Add(field + ".name", "must be a lower-case DNS label (\"backups-verified\")");
    } else if (!names.insert(item.name()).second) {
      errors->Add(field + ".name", "\"" + item.name() + "\" is used twice");
    }
    if (item.check() == v1::ChecklistItem::CHECK_UNSPECIFIED) {
      errors->Add(field + ".check",
                  "is required (MANUAL, BACKUP_VERIFIED, ROLLBACK_TESTED, STAGING_SUCCEEDED, "
                  "ONCALL_COVERAGE or STAKEHOLDER_NOTICE)");
      continue;
    }
    if (item.has_within() && SecondsOf(item.within()).count() <= 0) {
      errors->Add(field + ".within", "must be longer than 0s");
    }
    switch (item.check()) {
      case v1::ChecklistItem::BACKUP_VERIFIED:
        if (item.backup_targets().empty()) {
          errors->Add(field + ".backup_targets", "is required: the backup targets to check");
        }
        for (int t = 0; t < item.backup_targets_size(); ++t) {
          if (!IsDnsLabel(item.backup_targets(t))) {
            errors->Add(field + ".backup_targets[" + std::to_string(t) + "]",
                        "must be a backup target name");
          }
        }
        if (!item.has_within()) item.mutable_within()->set_seconds(24 * 3600);
        break;
      case v1::ChecklistItem::ROLLBACK_TESTED:
        if (!item.has_within()) item.mutable_within()->set_seconds(30 * 24 * 3600);
        break;
      case v1::ChecklistItem::STAGING_SUCCEEDED:
        if (item.environment().empty()) item.set_environment("staging");
        if (!IsDnsLabel(item.environment())) {
          errors->Add(field + ".environment", "must be an environment name");
        }
        break;
      case v1::ChecklistItem::STAKEHOLDER_NOTICE:
        if (!item.has_within()) item.mutable_within()->set_seconds(48 * 3600);
        break;
      default:
        break;
    }
  }
}

}  // namespace

std::string FormatTime(Clock::TimePoint t) {
  return date::format("%FT%TZ", date::floor<seconds>(t));
}

grpc::Status ValidateWindow(v1::Window& window) {
  FieldErrors errors;
  if (window.name().empty()) {
    errors.Add("name", "is required");
  } else if (!IsDnsLabel(window.name()) || window.name() == "next") {
    errors.Add("name", "\"" + window.name() + "\" must be a lower-case DNS label other than \"next\"");
  }
  if (window.kind() == v1::Window::KIND_UNSPECIFIED) {
    errors.Add("kind", "is required: MAINTENANCE or FREEZE");
  }
  if (window.time_zone().empty()) window.set_time_zone("UTC");
  if (grpc::Status s = schedule::CheckTimeZone(window.time_zone()); !s.ok()) {
    errors.Add(s);
  } else if (!window.schedule().empty()) {
    schedule::Recurrence recurrence;
    errors.Add(schedule::Recurrence::Parse(window.schedule(), window.time_zone(), &recurrence));
  }
  if (window.schedule().empty() && window.ranges().empty()) {
    errors.Add("schedule", "is required unless ranges are given (\"0 2 * * SUN\", \"first tuesday 03:00\")");
  }
  if (!window.schedule().empty()) {
    const seconds length = SecondsOf(window.duration());
    if (!window.has_duration() || length.count() <= 0) {
      errors.Add("duration", "is required with a schedule: how long each opening lasts (\"2h\")");
    } else if (length > kMaxLength) {
      errors.Add("duration", "must be at most 31 days");
    }
  } else if (window.has_duration()) {
    errors.Add("duration", "applies to the schedule's openings; the window has no schedule");
  }
  for (int i = 0; i < window.services_size(); ++i) {
    if (!IsDnsLabel(window.services(i))) {
      errors.Add("services[" + std::to_string(i) + "]", "must be a service name (a lower-case DNS label)");
    }
  }
  for (int i = 0; i < window.environments_size(); ++i) {
    if (!IsDnsLabel(window.environments(i))) {
      errors.Add("environments[" + std::to_string(i) + "]",
                 "must be an environment name (a lower-case DNS label)");
    }
  }
  for (int i = 0; i < window.ranges_size(); ++i) {
    const v1::TimeRange& r = window.ranges(i);
    const std::string field = "ranges[" + std::to_string(i) + "]";
    if (!r.has_start()) errors.Add(field + ".start", "is required");
    if (!r.has_end()) errors.Add(field + ".end", "is required");
    if (r.has_start() && r.has_end()) {
      const auto length = TimeOf(r.end()) - TimeOf(r.start());
      if (length <= Clock::TimePoint::duration::zero()) {
        errors.Add(field + ".end", "must be after start");
      } else if (length > kMaxRange) {
        errors.Add(field + ".end", "must be at most 366 days after start");
      }
    }
  }
  errors.AddIfLonger("description", window.description(), kMaxNoteCharacters);
  if (!window.smoke_suite().empty()) {
    if (window.smoke_suite().size() > 128 || !IsPrintableToken(window.smoke_suite())) {
      errors.Add("smoke_suite", "must be a saved smoke suite's name (1-128 characters)");
    } else if (window.kind() == v1::Window::FREEZE) {
      errors.Add("smoke_suite", "verifies the changes of a maintenance window; a freeze has none");
    }
  }
  ValidateChecklist(window, &errors);
  return errors.ToStatus();
}

WindowCalendar::WindowCalendar(const v1::Window& window) {
  if (!window.schedule().empty()) {
    schedule::Recurrence r;
    if (schedule::Recurrence::Parse(window.schedule(), window.time_zone(), &r).ok()) {
      recurrence_ = r;
      length_ = SecondsOf(window.duration());
    }
  }
  for (const v1::TimeRange& r : window.ranges()) {
    ranges_.push_back({TimeOf(r.start()), TimeOf(r.end())});
  }
  std::sort(ranges_.begin(), ranges_.end(),
            [](const Span& a, const Span& b) { return a.start < b.start; });
}

std::optional<Span> WindowCalendar::OpeningAt(Clock::TimePoint t) const {
  std::optional<Span> found;
  if (recurrence_) found = schedule::OccurrenceAt(*recurrence_, length_, t);
  for (const Span& r : ranges_) {
    if (r.start <= t && t < r.end && (!found || r.start < found->start)) found = r;
  }
  return found;
}

std::optional<Span> WindowCalendar::NextOpeningAfter(Clock::TimePoint t) const {
  std::optional<Span> found;
  if (recurrence_) found = schedule::NextOccurrence(*recurrence_, length_, t);
  for (const Span& r : ranges_) {
    if (r.start > t && (!found || r.start < found->start)) {
      found = r;
      break;  // sorted: the first one after t is the earliest
    }
  }
  return found;
}

std::optional<Span> WindowCalendar::CurrentOrNext(Clock::TimePoint t) const {
  if (std::optional<Span> now = OpeningAt(t)) return now;
  return NextOpeningAfter(t);
}

bool Covers(const v1::Window& window, const std::string& service, const std::string& environment) {
  auto in = [](const auto& list, const std::string& name) {
    return list.empty() || std::find(list.begin(), list.end(), name) != list.end();
  };
  return in(window.services(), service) && in(window.environments(), environment);
}

GateDecision DecideGate(const std::vector<v1::Window>& windows, const std::string& required,
                        const std::string& service, const std::string& environment,
                        Clock::TimePoint now) {
  GateDecision d;
  const v1::Window* maintenance = nullptr;
  std::vector<std::pair<const v1::Window*, WindowCalendar>> freezes;
  for (const v1::Window& w : windows) {
    if (w.kind() == v1::Window::FREEZE && Covers(w, service, environment)) {
      freezes.emplace_back(&w, WindowCalendar(w));
    }
    if (!required.empty() && w.name() == required) maintenance = &w;
  }
  if (!required.empty() && (maintenance == nullptr || maintenance->kind() != v1::Window::MAINTENANCE)) {
    d.reason = "the policy of " + environment + " requires maintenance window \"" + required +
               "\", which is not defined" +
               (maintenance == nullptr ? "" : " as a MAINTENANCE window");
    return d;
  }
  // The requirement applies to the services and environments the window covers.
  if (maintenance != nullptr && !Covers(*maintenance, service, environment)) maintenance = nullptr;
  std::optional<WindowCalendar> required_calendar;
  if (maintenance != nullptr) required_calendar.emplace(*maintenance);

  Clock::TimePoint candidate = now;
  // Each step moves past one freeze or to one opening: bounded by the horizon and a step count.
  for (int step = 0; step < 1000 && candidate <= now + kHorizon; ++step) {
    const std::pair<const v1::Window*, WindowCalendar>* frozen = nullptr;
    std::optional<Span> freeze_span;
    for (const auto& f : freezes) {
      if (std::optional<Span> s = f.second.OpeningAt(candidate)) {
        frozen = &f;
        freeze_span = s;
        break;
      }
    }
    if (frozen != nullptr) {
      if (d.reason.empty()) {
        d.reason = "freeze \"" + frozen->first->name() + "\" covers " + service + " in " +
                   environment + " until " + FormatTime(freeze_span->end);
      }
      candidate = freeze_span->end;
      continue;
    }
    std::optional<Span> opening;
    if (required_calendar) {
      opening = required_calendar->OpeningAt(candidate);
      if (!opening) {
        if (d.reason.empty()) {
          d.reason = "the policy of " + environment + " requires maintenance window \"" +
                     required + "\", which is closed";
        }
        std::optional<Span> next = required_calendar->NextOpeningAfter(candidate);
        if (!next) break;
        candidate = next->start;
        continue;
      }
    }
    d.opens_at = candidate;
    d.open = candidate == now;
    if (opening) {
      d.closes_at = opening->end;
      d.window_opening = opening;
    }
    for (const auto& f : freezes) {
      if (std::optional<Span> next = f.second.NextOpeningAfter(candidate)) {
        if (!d.closes_at || next->start < *d.closes_at) d.closes_at = next->start;
      }
    }
    if (d.open) d.reason.clear();
    return d;
  }
  if (d.reason.empty()) d.reason = "no opening";
  d.reason += "; no opening within a year";
  return d;
}

}  // namespace flightdeck::releases
