#pragma once

#include <set>
#include <string>

#include <grpcpp/support/status.h>

#include "common/clock/clock.h"
#include "services/backups/store.h"

namespace flightdeck::metrics {
class Registry;
class Gauge;
template <typename T>
class Family;
}  // namespace flightdeck::metrics

namespace flightdeck::backups {

// The data a target would lose now: time since the snapshot of its newest successful backup, or
// since the target was created when it has none (it has been unprotected all along). The same
// figure as BackupTargetStatus.achieved_rpo.
std::chrono::seconds AchievedRpo(const TargetRpo& target, Clock::TimePoint now);
// The same counted from the newest successful backup whose verification PASSED: a backup never
// verified, still being verified, or whose verification FAILED is not known to restore, so it
// protects nothing (the rule retention.h follows too). What the RPO alert reads; the API's
// verified_rpo and rpo_met say the same.
std::chrono::seconds VerifiedRpo(const TargetRpo& target, Clock::TimePoint now);

// Per backup target (monitoring/: the backup RPO panel and the FlightdeckBackupRPOMissed alert):
//   flightdeck_backup_verified_rpo_seconds{target}  VerifiedRpo (the alert and the panel)
//   flightdeck_backup_rpo_seconds{target}           AchievedRpo (kept: it matches the API's
//                                                   achieved_rpo; the gap between the two is
//                                                   the backups not verified yet)
//   flightdeck_backup_rpo_target_seconds{target}    the target's rpo_target
// A deleted target's series go away at the next refresh. Refresh() is one query; meant for a
// metrics::Refresher, never for a request.
class RpoGauges {
 public:
  RpoGauges(BackupStore& store, const Clock& clock, metrics::Registry& registry);
  grpc::Status Refresh();

 private:
  BackupStore& store_;
  const Clock& clock_;
  metrics::Family<metrics::Gauge>& achieved_;
  metrics::Family<metrics::Gauge>& verified_;
  metrics::Family<metrics::Gauge>& objective_;
  std::set<std::string> exposed_;  // targets with series now (Refresh runs on one thread)
};

}  // namespace flightdeck::backups
