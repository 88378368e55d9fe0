#pragma once

#include <vector>

namespace flightdeck::releases {

// The Mann-Whitney U test (Wilcoxon rank-sum) of two independent samples, as Kayenta's judge
// uses it to ask "are the canary's values larger than the baseline's?". Pure: no I/O, no state.
struct MannWhitneyResult {
  int n_canary = 0;
  int n_baseline = 0;
  // U of the canary: the number of (canary, baseline) pairs in which the canary value is the
  // larger, ties counting one half. u_canary + u_baseline == n_canary * n_baseline.
  double u_canary = 0;
  double u_baseline = 0;
  // The normal approximation's z of u_canary (continuity and tie corrected); positive when the
  // canary ranks higher. 0 when the exact distribution was used.
  double z = 0;
  // One-sided p-value of "the canary is stochastically larger than the baseline".
  double p_greater = 1;
  // Two-sided p-value of "the two distributions differ".
  double p_two_sided = 1;
  // The exact null distribution of U was enumerated (small samples without ties); otherwise
  // the normal approximation with tie correction.
  bool exact = false;
};

// Samples whose sizes are both at most kMaxExactSamples and that have no tied values get the
// exact p-value; every other case uses the normal approximation.
constexpr int kMaxExactSamples = 20;

// Both samples must be non-empty (with an empty one the result is the default: p = 1).
MannWhitneyResult MannWhitneyU(const std::vector<double>& canary,
                               const std::vector<double>& baseline);

// The median (the mean of the two middle values for an even count); 0 for an empty sample.
double Median(std::vector<double> values);

// The standard normal's upper tail P(Z >= z).
double NormalUpperTail(double z);

}  // namespace flightdeck::releases
