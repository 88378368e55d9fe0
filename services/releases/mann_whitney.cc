#include "services/releases/mann_whitney.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace flightdeck::releases {
namespace {

// The number of ways, among all C(m+n, m) equally likely orderings under the null hypothesis,
// that m values of one sample beat exactly u of the n values of the other: the recurrence
// f(m, n, u) = f(m-1, n, u-n) + f(m, n-1, u) (the largest value belongs to one sample or the
// other), tabulated. Returns the counts for u = 0..m*n.
std::vector<double> ExactUCounts(int m, int n) {
  // table[i][j] holds the distribution for sizes (i, j); built row by row.
  std::vector<std::vector<std::vector<double>>> table(
      m + 1, std::vector<std::vector<double>>(n + 1));
  for (int i = 0; i <= m; ++i) {
    for (int j = 0; j <= n; ++j) {
      std::vector<double>& dist = table[i][j];
      dist.assign(static_cast<size_t>(i * j + 1), 0.0);
      if (i == 0 || j == 0) {
        dist[0] = 1;
        continue;
      }
      // The largest value is from the first sample: it beats all j others.
      const std::vector<double>& first = table[i - 1][j];
      for (size_t u = 0; u < first.size(); ++u) dist[u + j] += first[u];
      // The largest value is from the second sample: it adds nothing to U.
      const std::vector<double>& second = table[i][j - 1];
      for (size_t u = 0; u < second.size(); ++u) dist[u] += second[u];
    }
  }
  return table[m][n];
}

}  // namespace

double NormalUpperTail(double z) { return 0.5 * std::erfc(z / std::sqrt(2.0)); }

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t mid = values.size() / 2;
  if (values.size() % 2 == 1) return values[mid];
  return (values[mid - 1] + values[mid]) / 2;
}

MannWhitneyResult MannWhitneyU(const std::vector<double>& canary,
                               const std::vector<double>& baseline) {
  MannWhitneyResult result;
  result.n_canary = static_cast<int>(canary.size());
  result.n_baseline = static_cast<int>(baseline.size());
  if (canary.empty() || baseline.empty()) return result;

  // Rank the pooled values (average ranks for ties), remembering each tie group's size.
  std::vector<std::pair<double, bool>> pooled;  // value, from the canary
  pooled.reserve(canary.size() + baseline.size());
  for (double v : canary) pooled.emplace_back(v, true);
  for (double v : baseline) pooled.emplace_back(v, false);
  std::sort(pooled.begin(), pooled.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  double canary_rank_sum = 0;
  double tie_term = 0;  // sum of t^3 - t over tie groups
  bool ties = false;
  for (size_t i = 0; i < pooled.size();) {
    size_t j = i;
    while (j < pooled.size() && pooled[j].first == pooled[i].first) ++j;
    const double t = static_cast<double>(j - i);
    const double average_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2;
    for (size_t k = i; k < j; ++k) {
      if (pooled[k].second) canary_rank_sum += average_rank;
    }
    if (t > 1) {
      ties = true;
      tie_term += t * t * t - t;
    }
    i = j;
  }
  const double n1 = result.n_canary;
  const double n2 = result.n_baseline;
  result.u_canary = canary_rank_sum - n1 * (n1 + 1) / 2;
  result.u_baseline = n1 * n2 - result.u_canary;

  if (!ties && result.n_canary <= kMaxExactSamples && result.n_baseline <= kMaxExactSamples) {
    const std::vector<double> counts = ExactUCounts(result.n_canary, result.n_baseline);
    double total = 0;
    for (double c : counts) total += c;
    const long long u = std::llround(result.u_canary);
    double at_least = 0;  // P(U >= u)
    double at_most = 0;   // P(U <= u)
    for (long long k = 0; k < static_cast<long long>(counts.size()); ++k) {
      if (k >= u) at_least += counts[k];
      if (k <= u) at_most += counts[k];
    }
    result.exact = true;
    result.p_greater = at_least / total;
    result.p_two_sided = std::min(1.0, 2 * std::min(at_least, at_most) / total);
    return result;
  }

  const double n = n1 + n2;
  const double mean = n1 * n2 / 2;
  const double variance = n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1)));
  if (variance <= 0) {
    // Every value is the same: nothing tells the samples apart.
    result.p_greater = 1;
    result.p_two_sided = 1;
    return result;
  }
  const double sd = std::sqrt(variance);
  const double diff = result.u_canary - mean;
  // Continuity correction of one half towards the mean.
  const double corrected = diff > 0 ? diff - 0.5 : (diff < 0 ? diff + 0.5 : 0);
  result.z = corrected / sd;
  result.p_greater = NormalUpperTail((diff - 0.5) / sd);
  result.p_two_sided = std::min(1.0, 2 * NormalUpperTail(std::abs(result.z)));
  return result;
}

}  // namespace flightdeck::releases
