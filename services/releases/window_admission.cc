// Maintenance windows and freezes at a release's admission and when it is about to go out.
#include <nlohmann/json.hpp>

#include "common/clock/timestamps.h"
#include "common/log/log.h"
#include "services/releases/pipeline.h"
#include "services/releases/state_machine.h"
#include "services/releases/validation.h"

namespace flightdeck::releases {
namespace {

constexpr char kSystemActor[] = "flightdeck";

nlohmann::json ChecklistJson(const v1::Checklist& checklist) {
  nlohmann::json items = nlohmann::json::array();
  for (const v1::ChecklistItemState& i : checklist.items()) {
    items.push_back({{"item", i.item().name()},
                     {"state", v1::ChecklistItemState::State_Name(i.state())},
                     {"reason", i.reason()},
                     {"required", i.item().required()}});
  }
  return {{"window", checklist.window()},
          {"verdict", v1::ChecklistItemState::State_Name(checklist.verdict())},
          {"items", items}};
}

NewEvent ChecklistEvent(const v1::Checklist& checklist, const std::string& actor) {
  return {"CHECKLIST", actor,
          "checklist of window " + checklist.window() + ": " +
              v1::ChecklistItemState::State_Name(checklist.verdict()),
          ChecklistJson(checklist).dump()};
}

NewEvent WaitEvent(const WindowVerdict& v, Clock::TimePoint now, const std::string& actor) {
  return {"WINDOW_WAIT", actor, "waiting: " + DescribeWait(v, now),
          nlohmann::json{{"window", v.window},
                         {"reason", v.reason},
                         {"opens_at", v.opens_at ? FormatTime(*v.opens_at) : ""}}
              .dump()};
}

}  // namespace

grpc::Status Pipeline::AdmitThroughWindows(const v1::CreateReleaseRequest& request,
                                           const Actor& actor, v1::Release* release,
                                           std::vector<NewEvent>* events) {
  if (windows_ == nullptr) return grpc::Status::OK;
  const std::string& override_reason = request.window_override_reason();
  FieldErrors errors;
  errors.AddIfLonger("window_override_reason", override_reason, kMaxNoteCharacters);
  if (!errors.empty()) return errors.ToStatus();
  WindowVerdict v;
  if (grpc::Status s = windows_->Check(request.service(), request.environment(),
                                       release->commit_sha(), &v);
      !s.ok()) {
    return s;
  }
  const Clock::TimePoint now = clock_.Now();
  release->set_window(v.window);
  if (v.checklist) events->push_back(ChecklistEvent(*v.checklist, actor.name));
  if (v.allowed) return grpc::Status::OK;
  if (!override_reason.empty()) {
    if (actor.role != "ADMIN") {
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                          "window_override_reason: only an admin may release through a closed "
                          "window, a freeze or a failed checklist (" + v.reason + ")");
    }
    release->set_window_override(override_reason);
    events->push_back({"WINDOW_OVERRIDDEN", actor.name,
                       "window override by " + actor.name + ": " + override_reason + " (" + v.reason + ")",
                       nlohmann::json{{"reason", override_reason}, {"blocked_by", v.reason},
                                      {"window", v.window}}.dump()});
    log::Info("release window overridden", {{"service", request.service()},
                                            {"environment", request.environment()},
                                            {"actor", actor.name}, {"blocked_by", v.reason}});
    return grpc::Status::OK;
  }
  if (request.queue() && v.opens_at) {
    SetTimestamp(release->mutable_not_before(), *v.opens_at);
    events->push_back(WaitEvent(v, now, actor.name));
    return grpc::Status::OK;
  }
  std::string message = DescribeWait(v, now);
  if (v.opens_at) message += "; send \"queue\": true to wait for it";
  if (v.checklist_failed || !v.opens_at) message += "; an admin may override with window_override_reason";
  return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, message);
}

grpc::Status Pipeline::AwaitWindow(const v1::Release& r, bool* proceed) {
  *proceed = true;
  if (windows_ == nullptr || !r.window_override().empty()) return grpc::Status::OK;
  const Clock::TimePoint now = clock_.Now();
  // The job came early (a nudge): wait for the time it was queued for.
  if (r.has_not_before() && TimeOf(r.not_before()) > now) {
    *proceed = false;
    return Apply(r, [&](v1::Release&, Changes& c) {
      c.advance_at = TimeOf(r.not_before());
      return grpc::Status::OK;
    });
  }
  WindowVerdict v;
  if (grpc::Status s = windows_->Check(r.service(), r.environment(), r.commit_sha(), &v); !s.ok()) {
    return s;
  }
  const bool waited = r.has_not_before();
  if (v.allowed) {
    if (!waited) return grpc::Status::OK;
    // It waited for this opening: say so (with the checklist judged now); the next look
    // starts the deploy.
    *proceed = false;
    return Apply(r, [&](v1::Release& x, Changes& c) {
      x.clear_not_before();
      c.events.push_back({"WINDOW_OPENED", kSystemActor, "the window is open: the release goes out now",
                          nlohmann::json{{"window", v.window}}.dump()});
      if (v.checklist) c.events.push_back(ChecklistEvent(*v.checklist, kSystemActor));
      c.advance_at = c.now;
      return grpc::Status::OK;
    });
  }
  *proceed = false;
  if (v.checklist_failed || !v.opens_at) {
    return Apply(r, [&](v1::Release& x, Changes& c) {
      x.set_state(v1::Release::FAILED);
      x.set_outcome_reason(v.reason);
      x.mutable_next_action()->set_action("none");
      if (v.checklist) c.events.push_back(ChecklistEvent(*v.checklist, kSystemActor));
      c.events.push_back({"STATE_CHANGED", kSystemActor, "PENDING -> FAILED: " + v.reason,
                          nlohmann::json{{"from", "PENDING"}, {"to", "FAILED"}}.dump()});
      return grpc::Status::OK;
    });
  }
  return Apply(r, [&](v1::Release& x, Changes& c) {
    SetTimestamp(x.mutable_not_before(), *v.opens_at);
    c.events.push_back(WaitEvent(v, now, kSystemActor));
    c.advance_at = *v.opens_at;
    return grpc::Status::OK;
  });
}

}  // namespace flightdeck::releases
