#pragma once

#include <memory>
#include <optional>
#include <string>

#include <grpcpp/support/status.h>

#include "common/clock/clock.h"
#include "flightdeck/v1/releases.pb.h"
#include "services/releases/windows.h"

namespace grpc {
class Channel;
}

namespace flightdeck::releases {

class ReleaseStore;
class WindowStore;

// What the backups service knows about a target's verified backups.
class BackupFacts {
 public:
  virtual ~BackupFacts() = default;
  // When the newest backup of the target whose restore verification PASSED was verified
  // (nullopt: none among its recent backups). NOT_FOUND for an unknown target.
  virtual grpc::Status LastVerified(const std::string& target,
                                    std::optional<Clock::TimePoint>* verified_at) = 0;
};

// Over gRPC to flightdeck-backups (ListBackups of the target's SUCCEEDED backups).
std::unique_ptr<BackupFacts> MakeBackupFactsClient(std::shared_ptr<grpc::Channel> channel);

// What a checklist is evaluated for.
struct ChecklistScope {
  std::string service;      // empty: items about a service stay PENDING
  std::string environment;
  std::string commit_sha;   // empty: STAGING_SUCCEEDED stays PENDING
  // At a release in the window: a required item still waiting for a person is a FAIL then.
  bool at_release = false;
};

// Evaluates a window's checklist for its current (else next) opening from Flightdeck's own
// facts, with "within N" measured back from the opening while it is ahead, else from now: backups verified (backups service), rollbacks and staging successes (this service's
// releases), and the manual ticks. Items it cannot judge are MANUAL (a person ticks them) or
// PENDING (judged at a release). The verdict: FAIL if a required item failed, else PENDING if
// a required item waits, else PASS.
class ChecklistEvaluator {
 public:
  // backups may be null: BACKUP_VERIFIED items then FAIL saying the backups service is not
  // configured (FLIGHTDECK_BACKUPS_ADDR).
  ChecklistEvaluator(WindowStore& windows, ReleaseStore& releases, BackupFacts* backups);

  grpc::Status Evaluate(const v1::Window& window, const Span& opening, const ChecklistScope& scope,
                        Clock::TimePoint now, v1::Checklist* out);

 private:
  // The time freshness is measured at, and how a reason names it.
  struct Reference {
    Clock::TimePoint time;
    std::string what;  // "now", "the opening at 2027-03-07T02:00:00Z"
  };
  void EvaluateBackups(const v1::ChecklistItem& item, const Reference& at,
                       v1::ChecklistItemState* state);
  grpc::Status EvaluateRollback(const v1::ChecklistItem& item, const ChecklistScope& scope,
                                const Reference& at, v1::ChecklistItemState* state);
  grpc::Status EvaluateStaging(const v1::ChecklistItem& item, const ChecklistScope& scope,
                               v1::ChecklistItemState* state);

  WindowStore& windows_;
  ReleaseStore& releases_;
  BackupFacts* backups_;
};

// "1d", "24h", "90m" for reasons.
std::string HumanDuration(std::chrono::seconds d);

}  // namespace flightdeck::releases
