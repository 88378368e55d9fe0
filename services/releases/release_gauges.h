#pragma once

#include <map>
#include <optional>
#include <vector>

#include <grpcpp/support/status.h>

#include "common/clock/clock.h"
#include "flightdeck/v1/releases.pb.h"
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
// waits on someone else (a person's approval, a paused analysis, the driver, a window) and has
// no deadline: CANARY and BAKING: the next analysis; VERIFYING: the verification deadline (a
// verdict, or a rollback then); BAKING also ends at bake_until. A queued release has none.
std::optional<Clock::TimePoint> StateDeadline(const v1::Release& release);

struct StateGauge {
  int releases = 0;            // releases in the state
  double overdue_seconds = 0;  // how far past its StateDeadline the latest release is (0: none)
};
// Every non-terminal state (all of them, so that an empty state reads 0), from the unfinished
// releases.
std::map<State, StateGauge> StateGauges(const std::vector<v1::Release>& unfinished,
                                        Clock::TimePoint now);

// The gauges of the releases by state (monitoring/: the "releases by state" panel and the
// FlightdeckReleaseStuck alert), one label per non-terminal state, a bounded set:
//   flightdeck_releases_in_state{state}          releases in the state now
//   flightdeck_releases_overdue_seconds{state}   the most overdue release's lateness
// Finished releases are counted by flightdeck_releases_finished_total instead. Refresh() reads
// the unfinished releases once; meant for a metrics::Refresher, never for a request.
class ReleaseGauges {
 public:
  ReleaseGauges(ReleaseStore& store, const Clock& clock, metrics::Registry& registry);
  grpc::Status Refresh();

 private:
  ReleaseStore& store_;
  const Clock& clock_;
  metrics::Family<metrics::Gauge>& in_state_;
  metrics::Family<metrics::Gauge>& overdue_;
};

}  // namespace flightdeck::releases
