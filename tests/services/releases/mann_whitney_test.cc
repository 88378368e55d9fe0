// The Mann-Whitney U statistics and the statistical judge, checked against values computed
// independently: by hand, by brute-force enumeration of every rank assignment in the test, and
// against published reference output (R's wilcox.test documentation example).
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <vector>

#include "services/releases/mann_whitney.h"
#include "services/releases/statistical_judge.h"

namespace flightdeck::releases {
namespace {

// U of `a` counted pair by pair: the definition, not the rank-sum shortcut.
double PairwiseU(const std::vector<double>& a, const std::vector<double>& b) {
  double u = 0;
  for (double x : a) {
    for (double y : b) u += x > y ? 1.0 : (x == y ? 0.5 : 0.0);
  }
  return u;
}

// Calls visit(first, second) for every way to split `pooled` into a first group of m values and
// the rest: under the null hypothesis, each is equally likely.
void ForEachSplit(const std::vector<double>& pooled, size_t m,
                  const std::function<void(const std::vector<double>&, const std::vector<double>&)>& visit) {
  const size_t n = pooled.size();
  for (unsigned mask = 0; mask < (1u << n); ++mask) {
    if (static_cast<size_t>(__builtin_popcount(mask)) != m) continue;
    std::vector<double> first, second;
    for (size_t i = 0; i < n; ++i) ((mask >> i) & 1 ? first : second).push_back(pooled[i]);
    visit(first, second);
  }
}

TEST(MannWhitneyTest, TinySamplesByHand) {
  struct Case {
    std::vector<double> canary, baseline;
    double u, p_greater, p_two_sided;
  };
  // 2 vs 2: the 6 orderings give U = 0, 1, 2, 2, 3, 4.
  // 3 vs 3: 20 orderings, U = 0..9 counted 1, 1, 2, 3, 3, 3, 3, 2, 1, 1.
  const std::vector<Case> cases = {
      {{3, 4}, {1, 2}, 4, 1.0 / 6, 2.0 / 6},
      {{1, 3}, {2, 4}, 1, 5.0 / 6, 4.0 / 6},
      {{1, 2}, {3, 4}, 0, 1.0, 2.0 / 6},
      {{4, 5, 6}, {1, 2, 3}, 9, 1.0 / 20, 2.0 / 20},
      {{2, 4, 6}, {1, 3, 5}, 6, 7.0 / 20, 14.0 / 20},
  };
  for (const Case& c : cases) {
    const MannWhitneyResult r = MannWhitneyU(c.canary, c.baseline);
    EXPECT_TRUE(r.exact);
    EXPECT_DOUBLE_EQ(r.u_canary, c.u);
    EXPECT_DOUBLE_EQ(r.u_canary, PairwiseU(c.canary, c.baseline));
    EXPECT_DOUBLE_EQ(r.u_canary + r.u_baseline, c.canary.size() * c.baseline.size());
    EXPECT_NEAR(r.p_greater, c.p_greater, 1e-12) << "U=" << c.u;
    EXPECT_NEAR(r.p_two_sided, c.p_two_sided, 1e-12) << "U=" << c.u;
  }
}

TEST(MannWhitneyTest, ExactPValueMatchesEnumerationOfEveryRanking) {
  const std::vector<double> canary = {12, 15, 7, 30};
  const std::vector<double> baseline = {3, 9, 11, 5, 8};
  std::vector<double> pooled = canary;
  pooled.insert(pooled.end(), baseline.begin(), baseline.end());
  const double observed = PairwiseU(canary, baseline);
  int total = 0, at_least = 0;
  ForEachSplit(pooled, canary.size(), [&](const std::vector<double>& a, const std::vector<double>& b) {
    ++total;
    if (PairwiseU(a, b) >= observed) ++at_least;
  });
  ASSERT_EQ(total, 126);  // C(9, 4)
  const MannWhitneyResult r = MannWhitneyU(canary, baseline);
  EXPECT_TRUE(r.exact);
  EXPECT_DOUBLE_EQ(r.u_canary, observed);
  EXPECT_NEAR(r.p_greater, static_cast<double>(at_least) / total, 1e-12);
}

TEST(MannWhitneyTest, MatchesRsWilcoxTestExample) {
  // R, ?wilcox.test (Hollander & Wolfe): wilcox.test(x, y) gives W = 35, p-value = 0.2544;
  // with alternative = "greater", p-value = 0.1272.
  const std::vector<double> x = {0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46};
  const std::vector<double> y = {1.15, 0.88, 0.90, 0.74, 1.21};
  const MannWhitneyResult r = MannWhitneyU(x, y);
  EXPECT_TRUE(r.exact);
  EXPECT_DOUBLE_EQ(r.u_canary, 35);
  EXPECT_NEAR(r.p_two_sided, 0.2544, 5e-5);
  EXPECT_NEAR(r.p_greater, 0.1272, 5e-5);
}

TEST(MannWhitneyTest, TieCorrectedNormalApproximationMatchesPermutationMoments) {
  // With ties the implementation uses the normal approximation with the tie-corrected variance.
  // That variance is exactly the variance of U over every equally likely split of the pooled
  // values; here it is computed by enumerating them, with no formula.
  const std::vector<double> canary = {2, 3, 3, 4, 5, 5, 6};
  const std::vector<double> baseline = {1, 2, 2, 3, 3, 4, 4};
  std::vector<double> pooled = canary;
  pooled.insert(pooled.end(), baseline.begin(), baseline.end());
  double sum = 0, sum_sq = 0;
  int total = 0;
  ForEachSplit(pooled, canary.size(), [&](const std::vector<double>& a, const std::vector<double>& b) {
    const double u = PairwiseU(a, b);
    sum += u;
    sum_sq += u * u;
    ++total;
  });
  ASSERT_EQ(total, 3432);  // C(14, 7)
  const double mean = sum / total;
  const double variance = sum_sq / total - mean * mean;
  const double u = PairwiseU(canary, baseline);
  const double expected_z = (u - mean - 0.5) / std::sqrt(variance);
  const double expected_p = 0.5 * std::erfc(expected_z / std::sqrt(2.0));

  const MannWhitneyResult r = MannWhitneyU(canary, baseline);
  EXPECT_FALSE(r.exact);
  EXPECT_DOUBLE_EQ(r.u_canary, u);
  EXPECT_NEAR(r.z, expected_z, 1e-9);
  EXPECT_NEAR(r.p_greater, expected_p, 1e-9);
  EXPECT_NEAR(r.p_two_sided, 2 * expected_p, 1e-9);
}

TEST(MannWhitneyTest, LargeSamplesUseTheNormalApproximation) {
  // 21 canary values all above 21 baseline values: U = 441, mean 220.5,
  // variance 21 * 21 * 43 / 12 = 1580.25, z = (441 - 220.5 - 0.5) / sqrt(1580.25).
  std::vector<double> canary, baseline;
  for (int i = 0; i < 21; ++i) {
    baseline.push_back(i);
    canary.push_back(100 + i);
  }
  const MannWhitneyResult r = MannWhitneyU(canary, baseline);
  EXPECT_FALSE(r.exact);
  EXPECT_DOUBLE_EQ(r.u_canary, 441);
  const double z = 220.0 / std::sqrt(1580.25);
  EXPECT_NEAR(r.z, z, 1e-12);
  EXPECT_NEAR(r.p_greater, 0.5 * std::erfc(z / std::sqrt(2.0)), 1e-15);
  EXPECT_LT(r.p_greater, 1e-7);
}

TEST(MannWhitneyTest, IdenticalValuesTellNothing) {
  const MannWhitneyResult r = MannWhitneyU({5, 5, 5}, {5, 5, 5, 5});
  EXPECT_DOUBLE_EQ(r.u_canary, 6);
  EXPECT_DOUBLE_EQ(r.p_greater, 1);
  EXPECT_DOUBLE_EQ(r.p_two_sided, 1);
}

TEST(MannWhitneyTest, Median) {
  EXPECT_DOUBLE_EQ(Median({3, 1, 2}), 2);
  EXPECT_DOUBLE_EQ(Median({4, 1, 3, 2}), 2.5);
  EXPECT_DOUBLE_EQ(Median({}), 0);
}

std::vector<double> Latencies(double from, double step, int count) {
  std::vector<double> out;
  for (int i = 0; i < count; ++i) out.push_back(from + step * i);
  return out;
}

TEST(StatisticalJudgeTest, ShiftedLatencyFails) {
  const Comparison c = CompareLatency({Latencies(150, 1, 30), Latencies(100, 1, 30)}, {});
  EXPECT_EQ(c.judgement.verdict, Verdict::kFail) << c.judgement.reason;
  EXPECT_TRUE(c.significant);
  EXPECT_NEAR(c.effect, (164.5 - 114.5) / 114.5, 1e-12);
  EXPECT_NE(c.judgement.reason.find("Mann-Whitney U=900"), std::string::npos) << c.judgement.reason;
}

TEST(StatisticalJudgeTest, SignificantButSmallShiftPasses) {
  // Every canary value is 2 ms above its baseline twin: detectable, but 2% is within 10%.
  const Comparison c = CompareLatency({Latencies(102, 0.1, 30), Latencies(100, 0.1, 30)}, {});
  EXPECT_TRUE(c.significant);
  EXPECT_EQ(c.judgement.verdict, Verdict::kPass) << c.judgement.reason;
}

TEST(StatisticalJudgeTest, SameDistributionPasses) {
  const Comparison c = CompareLatency({Latencies(100, 2, 25), Latencies(101, 2, 25)}, {});
  EXPECT_FALSE(c.significant);
  EXPECT_EQ(c.judgement.verdict, Verdict::kPass) << c.judgement.reason;
}

TEST(StatisticalJudgeTest, TooFewSamplesIsInconclusiveEvenWhenShifted) {
  const Comparison c = CompareLatency({Latencies(500, 1, 19), Latencies(100, 1, 30)}, {});
  EXPECT_EQ(c.judgement.verdict, Verdict::kInconclusive);
  EXPECT_NE(c.judgement.reason.find("only 19 canary / 30 baseline"), std::string::npos)
      << c.judgement.reason;
  ComparisonSettings fewer;
  fewer.min_samples = 10;
  EXPECT_EQ(CompareLatency({Latencies(500, 1, 19), Latencies(100, 1, 30)}, fewer).judgement.verdict,
            Verdict::kFail);
}

TEST(StatisticalJudgeTest, InvalidSampleFails) {
  std::vector<double> canary = Latencies(100, 1, 30);
  canary[3] = -1;
  EXPECT_EQ(CompareLatency({canary, Latencies(100, 1, 30)}, {}).judgement.verdict, Verdict::kFail);
}

TEST(StatisticalJudgeTest, CombinedVerdictIsTheWorse) {
  const Comparison pass = CompareLatency({Latencies(100, 2, 25), Latencies(101, 2, 25)}, {});
  Judgement threshold;
  threshold.verdict = Verdict::kFail;
  threshold.reason = "error rate 8.00% > 5.00%";
  EXPECT_EQ(CombineVerdicts(pass, threshold).verdict, Verdict::kFail);
  threshold.verdict = Verdict::kInconclusive;
  EXPECT_EQ(CombineVerdicts(pass, threshold).verdict, Verdict::kInconclusive);
  threshold.verdict = Verdict::kPass;
  EXPECT_EQ(CombineVerdicts(pass, threshold).verdict, Verdict::kPass);
  EXPECT_EQ(CombineVerdicts(pass, std::nullopt).verdict, Verdict::kPass);
}

}  // namespace
}  // namespace flightdeck::releases
