#include "services/releases/release_gauges.h"

#include <algorithm>

#include "common/clock/timestamps.h"
#include "common/metrics/metrics.h"
#include "services/releases/store.h"

namespace flightdeck::releases {
namespace {

using R = v1::Release;

std::vector<State> NonTerminalStates() {
  std::vector<State> states;
  for (int s = R::State_MIN; s <= R::State_MAX; ++s) {
    if (R::State_IsValid(s) && IsInFlight(static_cast<State>(s))) states.push_back(static_cast<State>(s));
  }
  return states;
}

}  // namespace

std::optional<Clock::TimePoint> StateDeadline(const v1::Release& r, const PolicySet& policies,
                                              std::chrono::milliseconds job_lease) {
  if (r.queued()) return std::nullopt;
  std::optional<Clock::TimePoint> deadline;
  auto earliest = [&deadline](const google::protobuf::Timestamp& ts) {
    const Clock::TimePoint t = TimeOf(ts);
    if (!deadline || t < *deadline) deadline = t;
  };
  switch (r.state()) {
    case R::CANARY:
      if (!r.paused() && r.has_next_analysis_at()) earliest(r.next_analysis_at());
      break;
    case R::BAKING:
      if (!r.paused() && r.has_next_analysis_at()) earliest(r.next_analysis_at());
      if (r.has_bake_until()) earliest(r.bake_until());
      break;
    case R::VERIFYING:
      if (r.has_verify_deadline()) earliest(r.verify_deadline());
      break;
    case R::PROMOTING:
    case R::ROLLING_BACK:
      if (r.has_updated_at()) {
        deadline = TimeOf(r.updated_at()) + policies.For(r.environment()).command_timeout + job_lease;
      }
      break;
    default:
      break;
  }
  return deadline;
}

std::map<State, StateGauge> StateGauges(const std::vector<v1::Release>& unfinished,
                                        Clock::TimePoint now, const PolicySet& policies,
                                        std::chrono::milliseconds job_lease) {
  std::map<State, StateGauge> gauges;
  for (State s : NonTerminalStates()) gauges[s];
  for (const v1::Release& r : unfinished) {
    auto it = gauges.find(r.state());
    if (it == gauges.end()) continue;  // finished between the read and here: not ours to count
    ++it->second.releases;
    const std::optional<Clock::TimePoint> deadline = StateDeadline(r, policies, job_lease);
    if (deadline && now > *deadline) {
      const double late = std::chrono::duration<double>(now - *deadline).count();
      it->second.overdue_seconds = std::max(it->second.overdue_seconds, late);
    }
    if (r.has_updated_at() && now > TimeOf(r.updated_at())) {
      const double unchanged = std::chrono::duration<double>(now - TimeOf(r.updated_at())).count();
      it->second.unchanged_seconds = std::max(it->second.unchanged_seconds, unchanged);
    }
  }
  return gauges;
}

ReleaseGauges::ReleaseGauges(ReleaseStore& store, const Clock& clock, metrics::Registry& registry,
                             const PolicySet& policies, std::chrono::milliseconds job_lease)
    : store_(store),
      clock_(clock),
      policies_(policies),
      job_lease_(job_lease),
      in_state_(registry.AddGauge("flightdeck_releases_in_state",
                                  "Releases in each non-terminal state (queued ones as PENDING).",
                                  {"state"})),
      overdue_(registry.AddGauge("flightdeck_releases_overdue_seconds",
                                 "How long the most overdue release in the state is past the time "
                                 "the pipeline had to act on it (next analysis, verification "
                                 "deadline, end of bake, the driver's command_timeout plus the "
                                 "job lease); 0 when none is.",
                                 {"state"})),
      unchanged_(registry.AddGauge("flightdeck_releases_unchanged_seconds",
                                   "How long the release in the state that changed least recently "
                                   "has gone without a change (for AWAITING_APPROVAL: waited for "
                                   "an approval); 0 when the state is empty.",
                                   {"state"})) {
  for (const auto& [state, gauge] : StateGauges({}, clock_.Now(), policies_, job_lease_)) {
    in_state_.With({StateName(state)});
    overdue_.With({StateName(state)});
    unchanged_.With({StateName(state)});
  }
}

grpc::Status ReleaseGauges::Refresh() {
  std::vector<v1::Release> unfinished;
  if (grpc::Status s = store_.Unfinished(&unfinished); !s.ok()) return s;
  for (const auto& [state, gauge] : StateGauges(unfinished, clock_.Now(), policies_, job_lease_)) {
    in_state_.With({StateName(state)}).Set(gauge.releases);
    overdue_.With({StateName(state)}).Set(gauge.overdue_seconds);
    unchanged_.With({StateName(state)}).Set(gauge.unchanged_seconds);
  }
  return grpc::Status::OK;
}

}  // namespace flightdeck::releases
