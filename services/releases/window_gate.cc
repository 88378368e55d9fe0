#include "services/releases/window_gate.h"

#include <nlohmann/json.hpp>

#include "common/alerts/alerts.h"
#include "common/clock/timestamps.h"
#include "common/jobs/jobs.h"
#include "common/log/log.h"
#include "services/releases/validation.h"

namespace flightdeck::releases {
namespace {

grpc::Status Invalid(const std::string& message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

grpc::Status CheckName(const std::string& name, const std::string& field = "name") {
  if (name.empty()) return Invalid(field + ": is required");
  if (!IsDnsLabel(name)) return Invalid(field + ": \"" + name + "\" is not a window name");
  return grpc::Status::OK;
}

grpc::Status CheckScope(const std::string& service, const std::string& environment) {
  FieldErrors errors;
  if (service.empty()) errors.Add("service", "is required");
  else if (!IsDnsLabel(service)) errors.Add("service", "must be a service name (a lower-case DNS label)");
  if (environment.empty()) errors.Add("environment", "is required");
  else if (!IsDnsLabel(environment)) errors.Add("environment", "must be an environment name (a lower-case DNS label)");
  return errors.ToStatus();
}

std::string In(std::chrono::seconds d) {
  long long s = d.count();
  if (s < 60) return std::to_string(s) + "s";
  std::string out;
  if (s >= 86400) out += std::to_string(s / 86400) + "d", s %= 86400;
  if (s >= 3600) out += std::to_string(s / 3600) + "h", s %= 3600;
  if (s >= 60) out += std::to_string(s / 60) + "m";
  return out;
}

}  // namespace

std::string DescribeWait(const WindowVerdict& verdict, Clock::TimePoint now) {
  if (!verdict.opens_at) return verdict.reason;
  return verdict.reason + "; changes may next go out at " + FormatTime(*verdict.opens_at) + " (in " +
         In(std::chrono::duration_cast<std::chrono::seconds>(*verdict.opens_at - now)) + ")";
}

WindowGate::WindowGate(WindowStore& store, ChecklistEvaluator& checklists,
                       const PolicySet& policies, const Clock& clock)
    : store_(store), checklists_(checklists), policies_(policies), clock_(clock) {}

void WindowGate::Annotate(v1::Window* window, Clock::TimePoint now) const {
  window->clear_current();
  window->clear_next();
  WindowCalendar calendar(*window);
  if (std::optional<Span> s = calendar.OpeningAt(now)) {
    SetTimestamp(window->mutable_current()->mutable_start(), s->start);
    SetTimestamp(window->mutable_current()->mutable_end(), s->end);
  }
  if (std::optional<Span> s = calendar.NextOpeningAfter(now)) {
    SetTimestamp(window->mutable_next()->mutable_start(), s->start);
    SetTimestamp(window->mutable_next()->mutable_end(), s->end);
  }
  window->clear_last_smoke();
  if (!window->smoke_suite().empty()) {
    // Best effort: a window is still worth showing when its last run cannot be read.
    v1::WindowSmokeResult last;
    if (store_.LastSmoke(window->name(), &last).ok()) *window->mutable_last_smoke() = last;
  }
}

grpc::Status WindowGate::Create(v1::Window window, const std::string& actor, v1::Window* out) {
  window.clear_current();
  window.clear_next();
  window.clear_created_at();
  window.clear_created_by();
  window.clear_last_smoke();
  if (grpc::Status s = ValidateWindow(window); !s.ok()) return s;
  const Clock::TimePoint now = clock_.Now();
  // A window that can never be open again is a mistake ("0 0 30 2 *", a range in the past).
  WindowCalendar calendar(window);
  if (!calendar.OpeningAt(now) && !calendar.NextOpeningAfter(now)) {
    return Invalid(std::string(window.schedule().empty() ? "ranges" : "schedule") +
                   ": the window never opens from now on");
  }
  window.set_created_by(actor);
  SetTimestamp(window.mutable_created_at(), now);
  if (grpc::Status s = store_.Create(window); !s.ok()) return s;
  if (!window.checklist().empty()) {
    if (grpc::Status s = ScheduleCheck(window, now); !s.ok()) {
      log::Warn("could not schedule the checklist check of a window",
                {{"window", window.name()}, {"error", s.error_message()}});
    }
  }
  if (verification_ != nullptr) {
    if (grpc::Status s = verification_->Schedule(window, now); !s.ok()) {
      log::Warn("could not schedule the post-maintenance verification of a window",
                {{"window", window.name()}, {"error", s.error_message()}});
    }
  }
  Annotate(&window, now);
  *out = window;
  return grpc::Status::OK;
}

grpc::Status WindowGate::Get(const std::string& name, v1::Window* out) {
  if (grpc::Status s = CheckName(name); !s.ok()) return s;
  if (grpc::Status s = store_.Get(name, out); !s.ok()) return s;
  Annotate(out, clock_.Now());
  return grpc::Status::OK;
}

grpc::Status WindowGate::List(const std::string& service, const std::string& environment,
                              std::vector<v1::Window>* out) {
  std::vector<v1::Window> all;
  if (grpc::Status s = store_.List(&all); !s.ok()) return s;
  const Clock::TimePoint now = clock_.Now();
  out->clear();
  for (v1::Window& w : all) {
    // A filter left empty matches any; a window's empty list covers every name.
    if (!Covers(w, service.empty() && !w.services().empty() ? w.services(0) : service,
                environment.empty() && !w.environments().empty() ? w.environments(0) : environment)) {
      continue;
    }
    Annotate(&w, now);
    out->push_back(std::move(w));
  }
  return grpc::Status::OK;
}

grpc::Status WindowGate::Delete(const std::string& name, v1::Window* out) {
  if (grpc::Status s = CheckName(name); !s.ok()) return s;
  return store_.Delete(name, out);
}

grpc::Status WindowGate::Next(const std::string& service, const std::string& environment,
                              v1::NextWindow* out) {
  if (grpc::Status s = CheckScope(service, environment); !s.ok()) return s;
  std::vector<v1::Window> windows;
  if (grpc::Status s = store_.List(&windows); !s.ok()) return s;
  const Clock::TimePoint now = clock_.Now();
  const std::string& required = policies_.For(environment).requires_window;
  GateDecision d = DecideGate(windows, required, service, environment, now);
  out->Clear();
  out->set_service(service);
  out->set_environment(environment);
  out->set_open(d.open);
  out->set_required_window(required);
  out->set_reason(d.reason);
  if (d.opens_at) SetTimestamp(out->mutable_opens_at(), *d.opens_at);
  if (d.closes_at) SetTimestamp(out->mutable_closes_at(), *d.closes_at);
  if (!d.window_opening) return grpc::Status::OK;
  for (const v1::Window& w : windows) {
    if (w.name() != required || w.checklist().empty()) continue;
    ChecklistScope scope{service, environment, "", false};
    return checklists_.Evaluate(w, *d.window_opening, scope, now, out->mutable_checklist());
  }
  return grpc::Status::OK;
}

grpc::Status WindowGate::Checklist(const v1::GetWindowChecklistRequest& request, v1::Checklist* out) {
  if (grpc::Status s = CheckName(request.name()); !s.ok()) return s;
  v1::Window window;
  if (grpc::Status s = store_.Get(request.name(), &window); !s.ok()) return s;
  const Clock::TimePoint now = clock_.Now();
  std::optional<Span> opening = WindowCalendar(window).CurrentOrNext(now);
  if (!opening) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "window \"" + window.name() + "\" has no opening now or later");
  }
  ChecklistScope scope{request.service(), request.environment(), request.commit_sha(), false};
  if (grpc::Status s = checklists_.Evaluate(window, *opening, scope, now, out); !s.ok()) return s;
  Annotate(&window, now);
  if (window.has_last_smoke()) *out->mutable_last_smoke() = window.last_smoke();
  return grpc::Status::OK;
}

grpc::Status WindowGate::Tick(const v1::TickChecklistItemRequest& request, const std::string& actor,
                              v1::Checklist* out) {
  FieldErrors errors;
  errors.Add(CheckName(request.name()));
  if (request.item().empty()) errors.Add("item", "is required");
  errors.AddIfLonger("note", request.note(), kMaxNoteCharacters);
  if (!errors.empty()) return errors.ToStatus();
  v1::Window window;
  if (grpc::Status s = store_.Get(request.name(), &window); !s.ok()) return s;
  const v1::ChecklistItem* item = nullptr;
  for (const v1::ChecklistItem& i : window.checklist()) {
    if (i.name() == request.item()) item = &i;
  }
  if (item == nullptr) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "item: window \"" + window.name() +
                                                         "\" has no checklist item \"" + request.item() + "\"");
  }
  const Clock::TimePoint now = clock_.Now();
  std::optional<Span> opening = WindowCalendar(window).CurrentOrNext(now);
  if (!opening) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "window \"" + window.name() + "\" has no opening now or later to tick for");
  }
  if (grpc::Status s = store_.Tick(window.name(), opening->start, {item->name(), actor, now, request.note()});
      !s.ok()) {
    return s;
  }
  if (grpc::Status s = checklists_.Evaluate(window, *opening, ChecklistScope{}, now, out); !s.ok()) return s;
  Annotate(&window, now);
  if (window.has_last_smoke()) *out->mutable_last_smoke() = window.last_smoke();
  return grpc::Status::OK;
}

grpc::Status WindowGate::Check(const std::string& service, const std::string& environment,
                               const std::string& commit_sha, WindowVerdict* out) {
  *out = WindowVerdict();
  std::vector<v1::Window> windows;
  if (grpc::Status s = store_.List(&windows); !s.ok()) return s;
  const Clock::TimePoint now = clock_.Now();
  const std::string& required = policies_.For(environment).requires_window;
  out->window = required;
  GateDecision d = DecideGate(windows, required, service, environment, now);
  out->opens_at = d.opens_at;
  if (!d.open) {
    out->reason = d.reason;
    return grpc::Status::OK;
  }
  out->allowed = true;
  // The required window is open: its checklist, judged for this release.
  for (const v1::Window& w : windows) {
    if (w.name() != required || w.checklist().empty() || !d.window_opening) continue;
    v1::Checklist checklist;
    ChecklistScope scope{service, environment, commit_sha, true};
    if (grpc::Status s = checklists_.Evaluate(w, *d.window_opening, scope, now, &checklist); !s.ok()) {
      return s;
    }
    if (checklist.verdict() == v1::ChecklistItemState::FAIL) {
      out->allowed = false;
      out->checklist_failed = true;
      out->opens_at.reset();
      std::string failures;
      for (const v1::ChecklistItemState& i : checklist.items()) {
        if (i.item().required() && i.state() == v1::ChecklistItemState::FAIL) {
          failures += (failures.empty() ? "" : "; ") + i.item().name() + ": " + i.reason();
        }
      }
      out->reason = "the checklist of window \"" + w.name() + "\" failed (" + failures + ")";
    }
    out->checklist = checklist;
  }
  return grpc::Status::OK;
}

grpc::Status WindowGate::ScheduleCheck(const v1::Window& window, Clock::TimePoint after) {
  if (jobs_ == nullptr) return grpc::Status::OK;
  std::optional<Span> next = WindowCalendar(window).NextOpeningAfter(after);
  if (!next) return grpc::Status::OK;
  const Clock::TimePoint due = std::max(clock_.Now(), next->start - lead_);
  const std::string opening_us = std::to_string(ToMicros(next->start));
  grpc::Status s = jobs_->Enqueue(kWindowCheckJob, "window-check:" + window.name() + ":" + opening_us,
                                  nlohmann::json{{"window", window.name()},
                                                 {"opening_us", ToMicros(next->start)}}.dump(),
                                  due);
  return s.error_code() == grpc::StatusCode::ALREADY_EXISTS ? grpc::Status::OK : s;
}

grpc::Status WindowGate::RunScheduledCheck(const jobs::Job& job) {
  nlohmann::json payload = nlohmann::json::parse(job.payload, nullptr, false);
  if (!payload.is_object() || !payload.contains("window") || !payload.contains("opening_us")) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "window check job without window/opening_us");
  }
  v1::Window window;
  grpc::Status s = store_.Get(payload.value("window", ""), &window);
  if (s.error_code() == grpc::StatusCode::NOT_FOUND) return grpc::Status::OK;  // deleted
  if (!s.ok()) return s;
  const Clock::TimePoint start = FromMicros(payload.value("opening_us", 0LL));
  std::optional<Span> opening = WindowCalendar(window).OpeningAt(start);
  if (opening && !window.checklist().empty()) {
    v1::Checklist checklist;
    if (s = checklists_.Evaluate(window, *opening, ChecklistScope{}, clock_.Now(), &checklist); !s.ok()) {
      return s;
    }
    const std::string verdict = v1::ChecklistItemState::State_Name(checklist.verdict());
    log::Info("maintenance checklist judged ahead of the opening",
              {{"window", window.name()}, {"opening", FormatTime(opening->start)}, {"verdict", verdict}});
    if (checklist.verdict() == v1::ChecklistItemState::FAIL) {
      std::string failures;
      for (const v1::ChecklistItemState& i : checklist.items()) {
        if (i.item().required() && i.state() == v1::ChecklistItemState::FAIL) {
          failures += (failures.empty() ? "" : "; ") + i.item().name() + ": " + i.reason();
        }
      }
      nlohmann::json alert = {
          {"labels",
           {{"alertname", "MaintenanceChecklistFailed"}, {"severity", "warning"},
            {"window", window.name()}}},
          {"annotations",
           {{"summary", "the checklist of maintenance window " + window.name() + " opening at " +
                            FormatTime(opening->start) + " failed: " + failures}}}};
      s = jobs_->Enqueue(alerts::kSendAlertJob,
                         "alert:window:" + window.name() + ":" + std::to_string(ToMicros(opening->start)),
                         alerts::JobPayload("releases", alert.dump()), clock_.Now(), alerts::DeliveryRetry());
      if (!s.ok() && s.error_code() != grpc::StatusCode::ALREADY_EXISTS) return s;
    }
  }
  return ScheduleCheck(window, start);
}

}  // namespace flightdeck::releases
