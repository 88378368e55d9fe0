#include "services/releases/window_verification.h"

#include <nlohmann/json.hpp>

#include "common/alerts/alerts.h"
#include "common/clock/timestamps.h"
#include "common/jobs/jobs.h"
#include "common/log/log.h"
#include "services/releases/windows.h"

namespace flightdeck::releases {
namespace {

bool Transient(const grpc::Status& s) {
  return s.error_code() == grpc::StatusCode::UNAVAILABLE ||
         s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
}

}  // namespace

WindowVerification::WindowVerification(WindowStore& store, jobs::Queue& jobs, SmokeRuns* smoke,
                                       const Clock& clock, Options options)
    : store_(store), jobs_(jobs), smoke_(smoke), clock_(clock), options_(options) {}

grpc::Status WindowVerification::Schedule(const v1::Window& window, Clock::TimePoint now) {
  if (window.smoke_suite().empty()) return grpc::Status::OK;
  WindowCalendar calendar(window);
  std::optional<Span> opening = calendar.OpeningAt(now);
  if (!opening) opening = calendar.NextOpeningAfter(now);
  if (!opening) return grpc::Status::OK;
  return Enqueue({window.name(), opening->start, opening->end, 0}, opening->end);
}

grpc::Status WindowVerification::Enqueue(const Step& step, Clock::TimePoint due) {
  const std::string opening_us = std::to_string(ToMicros(step.start));
  std::string key = "window-smoke:" + step.window + ":" + opening_us;
  if (step.step > 0) key += ":" + std::to_string(step.step);
  grpc::Status s = jobs_.Enqueue(kWindowSmokeJob, key,
                                 nlohmann::json{{"window", step.window},
                                                {"opening_us", ToMicros(step.start)},
                                                {"end_us", ToMicros(step.end)},
                                                {"step", step.step},
                                                {"first_look_us", ToMicros(step.first_look)}}.dump(),
                                 due);
  return s.error_code() == grpc::StatusCode::ALREADY_EXISTS ? grpc::Status::OK : s;
}

grpc::Status WindowVerification::Run(const jobs::Job& job) {
  nlohmann::json payload = nlohmann::json::parse(job.payload, nullptr, false);
  if (!payload.is_object() || !payload.contains("window") || !payload.contains("opening_us") ||
      !payload.contains("end_us")) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "window smoke job without window/opening_us/end_us");
  }
  const Clock::TimePoint now = clock_.Now();
  // Jobs written before first_look_us existed, and step 0, look for the first time now.
  const long long first_look_us = payload.value("first_look_us", 0LL);
  const Step step{payload.value("window", ""), FromMicros(payload.value("opening_us", 0LL)),
                  FromMicros(payload.value("end_us", 0LL)), payload.value("step", 0),
                  first_look_us > 0 ? FromMicros(first_look_us) : now};
  v1::Window window;
  grpc::Status s = store_.Get(step.window, &window);
  if (s.error_code() == grpc::StatusCode::NOT_FOUND) return grpc::Status::OK;  // deleted
  if (!s.ok()) return s;
  if (window.smoke_suite().empty()) return grpc::Status::OK;
  if (step.step == 0) {
    // The chain: the next opening's verification, scheduled before this one's can fail.
    if (std::optional<Span> next = WindowCalendar(window).NextOpeningAfter(step.start)) {
      if (s = Enqueue({window.name(), next->start, next->end, 0}, next->end); !s.ok()) return s;
    }
  }
  const std::string& suite = window.smoke_suite();
  v1::WindowSmokeResult recorded;
  s = store_.Smoke(window.name(), step.start, &recorded);
  if (s.ok() && recorded.state() != "RUNNING") return grpc::Status::OK;  // already judged
  if (!s.ok() && s.error_code() != grpc::StatusCode::NOT_FOUND) return s;

  if (smoke_ == nullptr) {
    return Finish(window, step, "", "NOT_STARTED", "smoke suite " + suite + ": no health service is configured");
  }
  if (!s.ok()) {  // not started yet
    std::string run_id;
    s = smoke_->Start(suite, "window " + window.name(), "", &run_id);
    if (Transient(s) && now < step.first_look + options_.start_grace) return LookAgain(step);
    if (!s.ok()) {
      return Finish(window, step, "", "NOT_STARTED",
                    "smoke suite " + suite + " could not be started: " + s.error_message());
    }
    v1::WindowSmokeResult started;
    SetTimestamp(started.mutable_occurrence()->mutable_start(), step.start);
    SetTimestamp(started.mutable_occurrence()->mutable_end(), step.end);
    started.set_suite(suite);
    started.set_run_id(run_id);
    started.set_state("RUNNING");
    started.set_summary("smoke run " + run_id + " of suite " + suite + " started");
    SetTimestamp(started.mutable_updated_at(), now);
    bool wrote = false;
    if (s = store_.StartSmoke(window.name(), started, &wrote); !s.ok()) return s;
    if (!wrote) return grpc::Status::OK;  // another step recorded a run for this opening
    log::Info("post-maintenance smoke run started",
              {{"window", window.name()}, {"suite", suite}, {"run_id", run_id}});
    return LookAgain(step);
  }
  std::string state;
  std::string summary;
  s = smoke_->State(recorded.run_id(), &state, &summary);
  if (Transient(s) || (s.ok() && state == "RUNNING")) {
    // The limit counts from when the run started, which is the close unless the service was
    // down at the close or the clock stepped past it: a run started late is given its time.
    const Clock::TimePoint started_at = std::max(step.end, TimeOf(recorded.updated_at()));
    if (now < started_at + options_.verdict_limit) return LookAgain(step);
    return Finish(window, step, recorded.run_id(), "FAILED",
                  "smoke run " + recorded.run_id() + ": no verdict within " +
                      std::to_string(std::chrono::duration_cast<std::chrono::minutes>(options_.verdict_limit).count()) +
                      "m of its start");
  }
  if (!s.ok()) {
    return Finish(window, step, recorded.run_id(), "FAILED", "smoke run " + recorded.run_id() + ": " + s.error_message());
  }
  return Finish(window, step, recorded.run_id(), state == "PASSED" ? "PASSED" : "FAILED",
                "smoke run " + recorded.run_id() + ": " + summary);
}

grpc::Status WindowVerification::Finish(const v1::Window& window, const Step& step, const std::string& run_id,
                                        const std::string& state, const std::string& summary) {
  const Clock::TimePoint now = clock_.Now();
  v1::WindowSmokeResult result;
  SetTimestamp(result.mutable_occurrence()->mutable_start(), step.start);
  SetTimestamp(result.mutable_occurrence()->mutable_end(), step.end);
  result.set_suite(window.smoke_suite());
  result.set_run_id(run_id);
  result.set_state(state);
  result.set_summary(summary);
  SetTimestamp(result.mutable_updated_at(), now);
  auto alert = [&](pqxx::transaction_base& tx) {
    if (state == "PASSED") return grpc::Status::OK;
    nlohmann::json body = {
        {"labels",
         {{"alertname", "MaintenanceVerificationFailed"}, {"severity", "critical"},
          {"window", window.name()}}},
        {"annotations",
         {{"summary", "post-maintenance verification of window " + window.name() + " (closed at " +
                          FormatTime(step.end) + ") failed: " + summary}}}};
    grpc::Status s = jobs_.EnqueueIn(tx, alerts::kSendAlertJob,
                                     "alert:window-smoke:" + window.name() + ":" + std::to_string(ToMicros(step.start)),
                                     alerts::JobPayload("releases", body.dump()), now, alerts::DeliveryRetry());
    return s.error_code() == grpc::StatusCode::ALREADY_EXISTS ? grpc::Status::OK : s;
  };
  bool finished = false;
  if (grpc::Status s = store_.FinishSmoke(window.name(), result, alert, &finished); !s.ok()) return s;
  if (finished) {
    log::Info("post-maintenance verification judged",
              {{"window", window.name()}, {"opening", FormatTime(step.start)}, {"state", state},
               {"summary", summary}});
  }
  return grpc::Status::OK;
}

}  // namespace flightdeck::releases
