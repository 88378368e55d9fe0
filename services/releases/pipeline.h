#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include <grpcpp/support/status.h>
#include <nlohmann/json.hpp>

#include "common/clock/clock.h"
#include "flightdeck/v1/releases.pb.h"
#include "services/releases/driver.h"
#include "services/releases/metric_source.h"
#include "services/releases/policy.h"
#include "services/releases/predeploy_backup.h"
#include "services/releases/smoke_runs.h"
#include "services/releases/store.h"
#include "services/releases/window_gate.h"

namespace flightdeck::metrics {
class Registry;
class Counter;
template <typename T>
class Family;
}  // namespace flightdeck::metrics

namespace flightdeck::releases {

// Who asks, for the timeline.
struct Actor {
  std::string name;
  std::string trace_id;
  std::string role{};  // VIEWER | DEPLOYER | OPERATOR | ADMIN, as the gateway authenticated it
};

// The release pipeline (issue 3): admission, approval, canary steps judged by the analysis,
// promotion, verification, the bake and rollback. Every wait is a durable job (ReleaseStore::Update
// schedules them in the same transaction as the state change), so a crash loses nothing: the
// next Advance() of a release re-derives what to do from its stored state and the time, and
// driver actions carry idempotency keys so that none runs twice once it has completed.
class Pipeline {
 public:
  using DriverFactory =
      std::function<std::unique_ptr<Driver>(const std::string& kind, const EnvironmentPolicy&)>;

  // backups may be null when no environment asks for a backup before deploying.
  Pipeline(ReleaseStore& store, const Clock& clock, const PolicySet& policies,
           metrics::Registry& metrics, DriverFactory drivers,
           std::map<std::string, MetricSource*> sources, PreDeployBackups* backups = nullptr);

  // Called after an action scheduled work for now (wakes the job worker).
  void SetNudge(std::function<void()> nudge) { nudge_ = std::move(nudge); }
  // Where releases naming a smoke suite run it (null: such releases fail verification, saying
  // why).
  void SetSmokeRuns(SmokeRuns* smoke) { smoke_ = smoke; }
  // Maintenance windows and freezes gate deploys (null: no gate).
  void SetWindows(WindowGate* windows) { windows_ = windows; }

  Clock::TimePoint Now() const { return clock_.Now(); }
  const Clock& clock() const { return clock_; }

  // --- actions (release_actions.cc) ---
  grpc::Status Create(v1::CreateReleaseRequest request, const Actor& actor, v1::Release* out);
  grpc::Status Approve(const std::string& id, const std::string& comment, const Actor& actor,
                       v1::Release* out);
  grpc::Status Promote(const std::string& id, const std::string& reason, const Actor& actor,
                       v1::Release* out);
  grpc::Status Abort(const std::string& id, const std::string& reason, const Actor& actor,
                     v1::Release* out);
  // On a SUCCEEDED release that is current: restores the release that was current before it.
  grpc::Status RollBack(const std::string& id, const std::string& reason, const Actor& actor,
                        v1::Release* out);
  grpc::Status RollBackTo(const std::string& service, const std::string& environment,
                          const std::string& commit_sha, const std::string& reason,
                          const Actor& actor, v1::Release* out);
  grpc::Status Observe(const v1::PostObservationsRequest& request, const Actor& actor,
                       v1::Release* out);
  grpc::Status Verify(const v1::PostVerificationRequest& request, const Actor& actor,
                      v1::Release* out);

  // --- the engine (pipeline.cc): the handler of kAdvanceJob ---
  grpc::Status Advance(const std::string& release_id);

 private:
  // The newest release that succeeded in the environment with the commit `sha` names: the
  // full SHA, or a unique prefix of at least 7 characters. NOT_FOUND when none matches;
  // INVALID_ARGUMENT "ambiguous" listing the candidate commits when two different ones do.
  grpc::Status FindRollbackTarget(const std::string& service, const std::string& environment,
                                  const std::string& sha, v1::Release* target);
  grpc::Status StartDeploy(const v1::Release& r);
  // Create's window check (window_admission.cc): refuses, sets the release to wait for the
  // opening (queue), or records an admin's override; adds the timeline events.
  grpc::Status AdmitThroughWindows(const v1::CreateReleaseRequest& request, const Actor& actor,
                                   v1::Release* release, std::vector<NewEvent>* events);
  // PENDING before the deploy starts: checks the windows again (a freeze may have come, the
  // opening may have passed). *proceed when the deploy may start now; otherwise the release
  // waits for the next opening (a job at that time) or fails on a failed checklist.
  grpc::Status AwaitWindow(const v1::Release& r, bool* proceed);
  // The environment's pre-deploy backup: requests it, waits for it (re-checking every few
  // seconds) or fails the release when it fails. *ready when it succeeded.
  grpc::Status AwaitPreDeployBackup(const v1::Release& r, const std::string& target, bool* ready);
  grpc::Status CanaryTick(const v1::Release& r);
  // BAKING: judges the fleet's numbers each interval; a failure rolls back, a PASS at the end
  // of the bake succeeds.
  grpc::Status BakeTick(const v1::Release& r);
  // Fetches the window from the analysis' source and judges it ("threshold" or
  // "mann_whitney"); *data is the ANALYSIS event's data, with the test's numbers.
  grpc::Status JudgeWindow(const v1::Release& r, const v1::AnalysisConfig& analysis,
                           const std::string& judge, const Thresholds& thresholds,
                           const Window& window, Judgement* judgement, nlohmann::json* data);
  // VERIFYING with a smoke suite: start its run, then follow it to the verdict.
  grpc::Status SmokeTick(const v1::Release& r);
  grpc::Status RunPromotion(const v1::Release& r);
  grpc::Status FinishRollback(const v1::Release& r);
  // Moves a release to ROLLING_BACK (the next Advance runs the driver).
  grpc::Status BeginRollback(const v1::Release& r, const std::string& reason, bool aborted,
                             const std::string& actor);
  // Runs (or finds the recorded result of) one driver action. Not OK when the action could not
  // be recorded, or another run of it held its lock for longer than a command may take: the
  // step's job tries again later; the release is not failed for it.
  grpc::Status RunDriver(const v1::Release& r, const std::string& action, int weight,
                         const std::string& step_key, DriverResult* result);
  // Applies a change decided on revision r.revision(); ABORTED if the release moved on.
  grpc::Status Apply(const v1::Release& r, const ReleaseStore::ChangeFn& change,
                     v1::Release* out = nullptr);
  // other_events: see Changes::other_events.
  grpc::Status Admit(v1::Release* release, bool queue, const Actor& actor,
                     std::vector<NewEvent> events,
                     std::vector<std::pair<std::string, NewEvent>> other_events = {});
  // RollBackTo; `rolled_back`, when given, is the release RollBack undoes: its timeline gets a
  // ROLLBACK_REQUESTED event naming who, why and the new release, in the same transaction.
  grpc::Status Restore(const std::string& service, const std::string& environment,
                       const std::string& commit_sha, const std::string& reason, const Actor& actor,
                       const v1::Release* rolled_back, v1::Release* out);
  // The ALERT event when the previous finished deploy also failed (incidents will receive it).
  std::optional<NewEvent> SecondFailureAlert(const v1::Release& failing);
  void Nudge() const {
    if (nudge_) nudge_();
  }

  ReleaseStore& store_;
  const Clock& clock_;
  const PolicySet& policies_;
  DriverFactory drivers_;
  std::map<std::string, MetricSource*> sources_;
  PreDeployBackups* backups_;
  SmokeRuns* smoke_ = nullptr;
  WindowGate* windows_ = nullptr;
  metrics::Family<metrics::Counter>& finished_;
  metrics::Family<metrics::Counter>& alerts_;
  metrics::Family<metrics::Counter>& verdicts_;
  std::function<void()> nudge_;
};

// The default driver factory: "external" -> ExternalDriver, "command" -> CommandDriver with
// the environment's command and timeout.
std::unique_ptr<Driver> MakeDriver(const std::string& kind, const EnvironmentPolicy& policy);

}  // namespace flightdeck::releases
