#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <vector>

#include <grpcpp/support/status.h>

#include "common/clock/clock.h"
#include "flightdeck/v1/releases.pb.h"
#include "services/releases/policy.h"
#include "services/releases/state_machine.h"

namespace flightdeck::metrics {
class Registry;
class Gauge;
template <typename T>
class Family;
}  // namespace flightdeck::metrics

namespace flightdeck::releases {

class ReleaseStore;

// When the pipeline must next act on the release in its state, or nullopt when the release
// waits on someone else (a person's approval, a paused analysis, a window) and has no deadline:
// CANARY and BAKING: the next analysis; VERIFYING: the verification deadline (a verdict, or a
// rollback then); BAKING also ends at bake_until. PROMOTING and ROLLING_BACK run the driver in
// one step, due as the state begins: updated_at + the environment's command_timeout (how long
// the driver may take; the external driver answers at once) + `job_lease` (how long the step of
// a replica that died waits for another to take it over). A queued release has none.
std::optional<Clock::TimePoint> StateDeadline(const v1::Release& release, const PolicySet& policies,
                                              std::chrono::milliseconds job_lease);

struct StateGauge {
  int releases = 0;            // releases in the state
  double overdue_seconds = 0;  // how far past its StateDeadline the latest release is (0: none)
  // How long the release of the state that changed least recently has gone unchanged
  // (now - updated_at; 0: none). For AWAITING_APPROVAL: how long it has waited for a person.
  double unchanged_seconds = 0;
};
// Every non-terminal state (all of them, so that an empty state reads 0), from the unfinished
// releases.
std::map<State, StateGauge> StateGauges(const std::vector<v1::Release>& unfinished,
                                        Clock::TimePoint now, const PolicySet& policies,
                                        std::chrono::milliseconds job_lease);

// The gauges of the releases by state (monitoring/: the "releases by state" panel and the
// FlightdeckReleaseStuck and FlightdeckReleaseAwaitingApproval alerts), one label per
// non-terminal state, a bounded set:
//   flightdeck_releases_in_state{state}           releases in the state now
//   flightdeck_releases_overdue_seconds{state}    the most overdue release's lateness
//   flightdeck_releases_unchanged_seconds{state}  the longest time a release of it went unchanged
// Finished releases are counted by flightdeck_releases_finished_total instead. Refresh() reads
// the unfinished releases once; meant for a metrics::Refresher, never for a request.
class ReleaseGauges {
 public:
  // `job_lease`: the releases job workers' lease (FLIGHTDECK_JOBS_LEASE), see StateDeadline.
  ReleaseGauges(ReleaseStore& store, const Clock& clock, metrics::Registry& registry,
                const PolicySet& policies, std::chrono::milliseconds job_lease);
  grpc::Status Refresh();

 private:
  ReleaseStore& store_;
  const Clock& clock_;
  const PolicySet& policies_;
  const std::chrono::milliseconds job_lease_;
  metrics::Family<metrics::Gauge>& in_state_;
  metrics::Family<metrics::Gauge>& overdue_;
  metrics::Family<metrics::Gauge>& unchanged_;
};

}  // namespace flightdeck::releases
