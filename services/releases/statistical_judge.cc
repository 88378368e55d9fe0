#include "services/releases/statistical_judge.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace flightdeck::releases {
namespace {

std::string Number(double value, const char* format = "%.4g") {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, value);
  return buf;
}

int Severity(Verdict v) {
  switch (v) {
    case Verdict::kFail:
      return 2;
    case Verdict::kInconclusive:
      return 1;
    case Verdict::kPass:
      return 0;
  }
  return 1;
}

bool AllValid(const std::vector<double>& values) {
  for (double v : values) {
    if (!std::isfinite(v) || v < 0) return false;
  }
  return true;
}

}  // namespace

Comparison CompareLatency(const VersionSamples& samples, const ComparisonSettings& settings) {
  Comparison c;
  c.test.n_canary = static_cast<int>(samples.canary.size());
  c.test.n_baseline = static_cast<int>(samples.baseline.size());
  const std::string counts = std::to_string(c.test.n_canary) + " canary / " +
                             std::to_string(c.test.n_baseline) + " baseline latency samples";
  if (!AllValid(samples.canary) || !AllValid(samples.baseline)) {
    c.judgement.verdict = Verdict::kFail;
    c.judgement.reason = "invalid observation: a negative or non-finite latency sample (" + counts + ")";
    return c;
  }
  const int min_samples = std::max(1, settings.min_samples);
  if (c.test.n_canary < min_samples || c.test.n_baseline < min_samples) {
    c.judgement.verdict = Verdict::kInconclusive;
    c.judgement.reason = "only " + counts + " (< " + std::to_string(min_samples) + " minimum each)";
    return c;
  }
  c.test = MannWhitneyU(samples.canary, samples.baseline);
  c.tested = true;
  c.canary_median = Median(samples.canary);
  c.baseline_median = Median(samples.baseline);
  if (c.baseline_median > 0) {
    c.effect = (c.canary_median - c.baseline_median) / c.baseline_median;
  } else {
    c.effect = c.canary_median > 0 ? std::numeric_limits<double>::infinity() : 0;
  }
  const double alpha = 1 - settings.confidence;
  c.significant = c.test.p_greater < alpha;
  const bool shifted = c.significant && c.effect > settings.effect_size;
  c.judgement.verdict = shifted ? Verdict::kFail : Verdict::kPass;
  const std::string effect_text =
      std::isinf(c.effect) ? "+inf" : Number(c.effect * 100, "%+.1f") + "%";
  c.judgement.reason =
      std::string("latency median ") + Number(c.canary_median) + " ms vs baseline " +
      Number(c.baseline_median) + " ms (" + effect_text + ", allowed +" +
      Number(settings.effect_size * 100, "%.1f") + "%); Mann-Whitney U=" + Number(c.test.u_canary, "%.1f") +
      (c.test.exact ? ", exact" : ", z=" + Number(c.test.z, "%.3f")) +
      " p=" + Number(c.test.p_greater, "%.3g") + (c.significant ? " < " : " >= ") +
      Number(alpha, "%.3g") + " (" + counts + ")";
  return c;
}

Judgement CombineVerdicts(const Comparison& comparison,
                          const std::optional<Judgement>& threshold_judgement) {
  Judgement combined = comparison.judgement;
  if (!threshold_judgement) return combined;
  combined.error_rate = threshold_judgement->error_rate;
  if (Severity(threshold_judgement->verdict) > Severity(combined.verdict)) {
    combined.verdict = threshold_judgement->verdict;
  }
  combined.reason = comparison.judgement.reason + "; " + threshold_judgement->reason;
  return combined;
}

}  // namespace flightdeck::releases
