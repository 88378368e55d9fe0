#include "services/backups/rpo_gauges.h"

#include "common/metrics/metrics.h"

namespace flightdeck::backups {
namespace {

// Unprotected since the target's creation when it has no such snapshot.
std::chrono::seconds DataAtRisk(const TargetRpo& target, std::optional<Clock::TimePoint> snapshot,
                                Clock::TimePoint now) {
  const Clock::TimePoint since = snapshot.value_or(target.created_at);
  if (now <= since) return std::chrono::seconds(0);
  return std::chrono::duration_cast<std::chrono::seconds>(now - since);
}

}  // namespace

std::chrono::seconds AchievedRpo(const TargetRpo& target, Clock::TimePoint now) {
  return DataAtRisk(target, target.last_snapshot, now);
}

std::chrono::seconds VerifiedRpo(const TargetRpo& target, Clock::TimePoint now) {
  return DataAtRisk(target, target.last_verified_snapshot, now);
}

RpoGauges::RpoGauges(BackupStore& store, const Clock& clock, metrics::Registry& registry)
    : store_(store),
      clock_(clock),
      achieved_(registry.AddGauge("flightdeck_backup_rpo_seconds",
                                  "Seconds since the snapshot of the target's newest successful "
                                  "backup (since its creation when it has none): the data a "
                                  "restore now would lose.",
                                  {"target"})),
      verified_(registry.AddGauge("flightdeck_backup_verified_rpo_seconds",
                                  "Seconds since the snapshot of the target's newest successful "
                                  "backup whose verification passed (since its creation when it "
                                  "has none): the data a restore known to work would lose.",
                                  {"target"})),
      objective_(registry.AddGauge("flightdeck_backup_rpo_target_seconds",
                                   "The target's recovery point objective (rpo_target).",
                                   {"target"})) {}

grpc::Status RpoGauges::Refresh() {
  std::vector<TargetRpo> targets;
  if (grpc::Status s = store_.RpoFacts("", &targets); !s.ok()) return s;
  const Clock::TimePoint now = clock_.Now();
  std::set<std::string> seen;
  for (const TargetRpo& t : targets) {
    seen.insert(t.target);
    achieved_.With({t.target}).Set(static_cast<double>(AchievedRpo(t, now).count()));
    verified_.With({t.target}).Set(static_cast<double>(VerifiedRpo(t, now).count()));
    objective_.With({t.target}).Set(static_cast<double>(t.rpo_target.count()));
  }
  for (const std::string& gone : exposed_) {
    if (seen.count(gone)) continue;
    achieved_.Remove({gone});
    verified_.Remove({gone});
    objective_.Remove({gone});
  }
  exposed_ = std::move(seen);
  return grpc::Status::OK;
}

}  // namespace flightdeck::backups
