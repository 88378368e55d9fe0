#pragma once

#include <optional>
#include <string>
#include <vector>

#include <grpcpp/support/status.h>

#include "common/clock/clock.h"
#include "flightdeck/v1/releases.pb.h"
#include "services/releases/checklist.h"
#include "services/releases/policy.h"
#include "services/releases/window_store.h"
#include "services/releases/window_verification.h"
#include "services/releases/windows.h"

namespace flightdeck::jobs {
class Queue;
struct Job;
}  // namespace flightdeck::jobs

namespace flightdeck::releases {

// The job that judges a window's checklist ahead of an opening (payload {"window", "opening_us"}).
inline constexpr char kWindowCheckJob[] = "window.checklist";

// Whether a release may go out now, with what a refusal or a wait says.
struct WindowVerdict {
  bool allowed = false;
  // Closed now: the earliest time it may go out (nullopt: not within a year).
  std::optional<Clock::TimePoint> opens_at;
  std::string window;  // the environment's required window, if any
  // Why not: the freeze, the closed window, or the failed checklist items.
  std::string reason;
  // The checklist judged at this release (required window open and it has a checklist).
  std::optional<v1::Checklist> checklist;
  bool checklist_failed = false;
};

// Maintenance windows and freezes: their CRUD, when changes may next go out, their checklists,
// and the admission check the pipeline asks before a release goes out.
class WindowGate {
 public:
  WindowGate(WindowStore& store, ChecklistEvaluator& checklists, const PolicySet& policies,
             const Clock& clock);

  grpc::Status Create(v1::Window window, const std::string& actor, v1::Window* out);
  grpc::Status Get(const std::string& name, v1::Window* out);
  grpc::Status List(const std::string& service, const std::string& environment,
                    std::vector<v1::Window>* out);
  grpc::Status Delete(const std::string& name, v1::Window* out);
  grpc::Status Next(const std::string& service, const std::string& environment, v1::NextWindow* out);
  grpc::Status Checklist(const v1::GetWindowChecklistRequest& request, v1::Checklist* out);
  grpc::Status Tick(const v1::TickChecklistItemRequest& request, const std::string& actor,
                    v1::Checklist* out);

  // Judge each checklist `lead` before its window opens: a job per opening in `jobs` (set before
  // serving; without it checklists are judged only on request and at releases).
  void SetScheduledChecks(jobs::Queue* jobs, std::chrono::milliseconds lead) {
    jobs_ = jobs;
    lead_ = lead;
  }
  // Where windows naming a smoke_suite get their post-maintenance verification scheduled (set
  // before serving; without it, none runs).
  void SetVerification(WindowVerification* verification) { verification_ = verification; }
  // The kWindowCheckJob handler: evaluates the checklist for that opening (service items stay
  // PENDING), logs the verdict, raises MaintenanceChecklistFailed to incidents when it FAILs,
  // and schedules the check of the following opening. A deleted window ends the chain.
  grpc::Status RunScheduledCheck(const jobs::Job& job);

  // May a release of this commit go out now? Freezes, the environment's required window, and
  // that window's checklist (evaluated as at a release: an unticked required item fails).
  grpc::Status Check(const std::string& service, const std::string& environment,
                     const std::string& commit_sha, WindowVerdict* out);

 private:
  // Schedules the check of the first opening that starts after `after` (idempotent per opening).
  grpc::Status ScheduleCheck(const v1::Window& window, Clock::TimePoint after);
  // Sets the output-only current/next openings and the last post-window smoke run.
  void Annotate(v1::Window* window, Clock::TimePoint now) const;

  WindowStore& store_;
  ChecklistEvaluator& checklists_;
  const PolicySet& policies_;
  const Clock& clock_;
  jobs::Queue* jobs_ = nullptr;
  WindowVerification* verification_ = nullptr;
  std::chrono::milliseconds lead_{std::chrono::hours(1)};
};

// "window db-maintenance opens at 2027-03-07T02:00:00Z (in 3h12m)".
std::string DescribeWait(const WindowVerdict& verdict, Clock::TimePoint now);

}  // namespace flightdeck::releases
