#pragma once

#include <chrono>
#include <string>

#include <grpcpp/support/status.h>

#include "common/clock/clock.h"
#include "flightdeck/v1/releases.pb.h"
#include "services/releases/smoke_runs.h"
#include "services/releases/window_store.h"

namespace flightdeck::jobs {
class Queue;
struct Job;
}  // namespace flightdeck::jobs

namespace flightdeck::releases {

// The job that runs a window's smoke suite once an opening closed, and follows the run
// (payload {"window", "opening_us", "end_us", "step"}).
inline constexpr char kWindowSmokeJob[] = "window.smoke";

// Post-maintenance verification: when an opening of a window that names a smoke_suite closes,
// the health service runs that suite; a FAILED run, or one that cannot be started, raises
// MaintenanceVerificationFailed to incidents (an incident whose title names the window).
//
// Durable and exactly once per opening: a job row per opening due at its end (each step that
// must look again is a new row due a little later), the run recorded in
// releases.window_smoke_runs, and the alert enqueued in the transaction that moves that row out
// of RUNNING, which happens once however often a step runs after a crash.
class WindowVerification {
 public:
  struct Options {
    std::chrono::milliseconds recheck{std::chrono::seconds(5)};  // between looks at a run
    // How long an unreachable health service is asked again, counted from the first look (the
    // close, unless releases was down then or the clock stepped past it), before the run counts
    // as not startable; and how long a run may stay RUNNING (counted from its start) before it
    // counts as failed.
    std::chrono::milliseconds start_grace{std::chrono::minutes(10)};
    std::chrono::milliseconds verdict_limit{std::chrono::minutes(30)};
  };

  // `smoke` null: no health service; every verification is NOT_STARTED (and alerts).
  WindowVerification(WindowStore& store, jobs::Queue& jobs, SmokeRuns* smoke, const Clock& clock,
                     Options options);
  WindowVerification(WindowStore& store, jobs::Queue& jobs, SmokeRuns* smoke, const Clock& clock)
      : WindowVerification(store, jobs, smoke, clock, Options()) {}

  // Schedules the verification of the opening in progress at `now`, else of the next one
  // (idempotent per opening). A window without a smoke_suite has none.
  grpc::Status Schedule(const v1::Window& window, Clock::TimePoint now);

  // The kWindowSmokeJob handler. A deleted window ends the chain.
  grpc::Status Run(const jobs::Job& job);

 private:
  struct Step {
    std::string window;
    Clock::TimePoint start;
    Clock::TimePoint end;
    int step = 0;
    Clock::TimePoint first_look{};  // when step 0 ran; the start grace counts from it
  };
  grpc::Status Enqueue(const Step& step, Clock::TimePoint due);
  grpc::Status LookAgain(const Step& step) {
    return Enqueue({step.window, step.start, step.end, step.step + 1, step.first_look}, clock_.Now() + options_.recheck);
  }
  // Records the final state once; a FAILED or NOT_STARTED one raises the alert in that transaction.
  grpc::Status Finish(const v1::Window& window, const Step& step, const std::string& run_id,
                      const std::string& state, const std::string& summary);

  WindowStore& store_;
  jobs::Queue& jobs_;
  SmokeRuns* smoke_;
  const Clock& clock_;
  Options options_;
};

}  // namespace flightdeck::releases
