#pragma once

#include <chrono>
#include <functional>
#include <string>

#include <grpcpp/support/status.h>

#include "common/metrics/refresher.h"

namespace flightdeck::runtime {

// How often the processes re-read the gauges that come from the database (job backlog,
// releases by state, backup RPO): Prometheus's default scrape interval, so that a scrape sees
// a value at most one interval old and one query per interval per replica is the whole cost.
inline constexpr std::chrono::seconds kGaugeRefreshInterval{15};

// A metrics::Refresher function that runs `refresh` and logs a failure as a warning naming
// `what` (the gauges keep their last values meanwhile).
metrics::Refresher::Refresh LoggedRefresh(std::string what, std::function<grpc::Status()> refresh);

}  // namespace flightdeck::runtime
