#pragma once

#include <optional>
#include <string>
#include <vector>

#include "services/releases/canary_analysis.h"
#include "services/releases/mann_whitney.h"

namespace flightdeck::releases {

// Latency samples of both versions over one analysis window.
struct VersionSamples {
  std::vector<double> canary;
  std::vector<double> baseline;
};

struct ComparisonSettings {
  double confidence = 0.95;
  double effect_size = 0.1;  // the canary's median may be this fraction above the baseline's
  int min_samples = 20;      // per version
};

// The statistical verdict and the numbers behind it (all of them go into the ANALYSIS event).
struct Comparison {
  Judgement judgement;
  MannWhitneyResult test;
  double canary_median = 0;
  double baseline_median = 0;
  // (canary median - baseline median) / baseline median; +infinity when the baseline median is
  // 0 and the canary's is not.
  double effect = 0;
  bool significant = false;  // test.p_greater < 1 - confidence
  bool tested = false;       // enough valid samples: the test ran and the numbers above are set
};

// Kayenta-style: FAIL when the canary's latency is larger than the baseline's with the given
// confidence (one-sided Mann-Whitney U) and by more than the effect size; PASS otherwise. Fewer
// than min_samples for either version is INCONCLUSIVE, never PASS; a negative or non-finite
// sample FAILs as an invalid observation.
Comparison CompareLatency(const VersionSamples& samples, const ComparisonSettings& settings);

// The mann_whitney judge of one window: the latency comparison, and, when the observation has
// request counts, the threshold judgement of them too. The worse verdict wins (FAIL, then
// INCONCLUSIVE, then PASS); the reason names both parts.
Judgement CombineVerdicts(const Comparison& comparison,
                          const std::optional<Judgement>& threshold_judgement);

}  // namespace flightdeck::releases
