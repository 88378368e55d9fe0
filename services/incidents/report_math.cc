#include "services/incidents/report_math.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace flightdeck::incidents {

v1::DurationStats SummariseDurations(std::vector<double> seconds) {
  v1::DurationStats stats;
  stats.set_count(static_cast<int>(seconds.size()));
  if (seconds.empty()) return stats;
  std::sort(seconds.begin(), seconds.end());
  const double sum = std::accumulate(seconds.begin(), seconds.end(), 0.0);
  stats.set_mean_seconds(sum / static_cast<double>(seconds.size()));
  // Nearest rank: the ceil(0.9 * n)-th smallest value (1-based).
  auto rank = static_cast<size_t>(std::ceil(0.9 * static_cast<double>(seconds.size())));
  rank = std::clamp<size_t>(rank, 1, seconds.size());
  stats.set_p90_seconds(seconds[rank - 1]);
  return stats;
}

}  // namespace flightdeck::incidents
