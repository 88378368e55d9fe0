#pragma once

#include <vector>

#include "flightdeck/v1/incidents.pb.h"

namespace flightdeck::incidents {

// Mean and p90 (nearest-rank: the smallest value with at least 90% of values at or below it)
// of durations in seconds; count 0 leaves mean and p90 at 0.
v1::DurationStats SummariseDurations(std::vector<double> seconds);

}  // namespace flightdeck::incidents
