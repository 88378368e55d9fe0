#include "services/releases/canary_analysis.h"

#include <tuple>
#include <vector>

#include <gtest/gtest.h>

namespace flightdeck::releases {
namespace {

Observation Saw(long long requests, long long errors, std::optional<double> p99 = std::nullopt) {
  Observation o;
  o.requests = requests;
  o.errors = errors;
  o.p99_latency_ms = p99;
  return o;
}

TEST(CanaryAnalysisTest, ErrorRateJustUnderTheLimitPasses) {
  Judgement j = Judge(Saw(1000, 49), Thresholds{});
  EXPECT_EQ(j.verdict, Verdict::kPass);
  EXPECT_EQ(j.reason, "error rate 4.90% <= 5.00% (49 errors / 1000 requests)");
  EXPECT_DOUBLE_EQ(j.error_rate, 0.049);
}

TEST(CanaryAnalysisTest, ErrorRateExactlyAtTheLimitPasses) {
  Judgement j = Judge(Saw(1000, 50), Thresholds{});
  EXPECT_EQ(j.verdict, Verdict::kPass) << j.reason;
  EXPECT_EQ(j.reason, "error rate 5.00% <= 5.00% (50 errors / 1000 requests)");
}

TEST(CanaryAnalysisTest, ErrorRateJustOverTheLimitFails) {
  Judgement j = Judge(Saw(1000, 51), Thresholds{});
  EXPECT_EQ(j.verdict, Verdict::kFail);
  EXPECT_EQ(j.reason, "error rate 5.10% > 5.00% (51 errors / 1000 requests)");
}

TEST(CanaryAnalysisTest, EightPercentErrorsFailWithTheNumbersInTheReason) {
  Judgement j = Judge(Saw(1000, 80), Thresholds{});
  EXPECT_EQ(j.verdict, Verdict::kFail);
  EXPECT_EQ(j.reason, "error rate 8.00% > 5.00% (80 errors / 1000 requests)");
  EXPECT_DOUBLE_EQ(j.error_rate, 0.08);
}

TEST(CanaryAnalysisTest, LimitsThatAreNotExactInBinaryStillPassAtTheEdge) {
  // 0.07 * 100 and 0.29 * 100 are not exactly 7 and 29 in floating point.
  for (auto [rate, requests, errors] : std::vector<std::tuple<double, long long, long long>>{
           {0.07, 100, 7}, {0.29, 100, 29}, {0.1, 30, 3}, {0.01, 1000000, 10000}}) {
    Thresholds t;
    t.max_error_rate = rate;
    t.min_requests = 1;
    EXPECT_EQ(Judge(Saw(requests, errors), t).verdict, Verdict::kPass)
        << errors << "/" << requests << " at " << rate;
    EXPECT_EQ(Judge(Saw(requests, errors + 1), t).verdict, Verdict::kFail)
        << errors + 1 << "/" << requests << " at " << rate;
  }
}

TEST(CanaryAnalysisTest, RateJustOverTheLimitIsNotPrintedAsEqualToIt) {
  Judgement j = Judge(Saw(100000, 5001), Thresholds{});
  EXPECT_EQ(j.verdict, Verdict::kFail);
  EXPECT_EQ(j.reason, "error rate 5.001% > 5.000% (5001 errors / 100000 requests)");
}

TEST(CanaryAnalysisTest, ZeroErrorsAllowedMeansAnyErrorFails) {
  Thresholds t;
  t.max_error_rate = 0;
  EXPECT_EQ(Judge(Saw(1000, 0), t).verdict, Verdict::kPass);
  EXPECT_EQ(Judge(Saw(1000, 1), t).verdict, Verdict::kFail);
}

TEST(CanaryAnalysisTest, ZeroRequestsIsInconclusiveNotPass) {
  Judgement j = Judge(Saw(0, 0), Thresholds{});
  EXPECT_EQ(j.verdict, Verdict::kInconclusive);
  EXPECT_EQ(j.reason, "no requests in the window");
  Thresholds one;
  one.min_requests = 1;
  EXPECT_EQ(Judge(Saw(0, 0), one).verdict, Verdict::kInconclusive);
}

TEST(CanaryAnalysisTest, FewerRequestsThanTheMinimumIsInconclusiveEvenWithErrors) {
  Judgement j = Judge(Saw(12, 12), Thresholds{});
  EXPECT_EQ(j.verdict, Verdict::kInconclusive);
  EXPECT_EQ(j.reason, "only 12 requests (< 100 minimum)");
  EXPECT_EQ(Judge(Saw(99, 0), Thresholds{}).verdict, Verdict::kInconclusive);
}

TEST(CanaryAnalysisTest, ExactlyTheMinimumNumberOfRequestsIsJudged) {
  EXPECT_EQ(Judge(Saw(100, 0), Thresholds{}).verdict, Verdict::kPass);
  EXPECT_EQ(Judge(Saw(100, 6), Thresholds{}).verdict, Verdict::kFail);
}

TEST(CanaryAnalysisTest, MissingObservationIsInconclusiveWithTheSourcesReason) {
  Judgement j = Judge(std::nullopt, Thresholds{}, "no observations pushed since 12:00:00Z");
  EXPECT_EQ(j.verdict, Verdict::kInconclusive);
  EXPECT_EQ(j.reason, "no data: no observations pushed since 12:00:00Z");
  EXPECT_EQ(Judge(std::nullopt, Thresholds{}).reason, "no data");
}

TEST(CanaryAnalysisTest, SlowCanaryFailsEvenWithAGoodErrorRate) {
  Thresholds t;
  t.max_p99_latency_ms = 800;
  Judgement j = Judge(Saw(1000, 10, 950), t);
  EXPECT_EQ(j.verdict, Verdict::kFail);
  EXPECT_NE(j.reason.find("p99 latency 950 ms > 800 ms"), std::string::npos) << j.reason;
}

TEST(CanaryAnalysisTest, LatencyAtTheLimitPasses) {
  Thresholds t;
  t.max_p99_latency_ms = 800;
  Judgement j = Judge(Saw(1000, 10, 800), t);
  EXPECT_EQ(j.verdict, Verdict::kPass);
  EXPECT_EQ(j.reason, "error rate 1.00% <= 5.00% (10 errors / 1000 requests); "
                      "p99 latency 800 ms <= 800 ms");
  EXPECT_EQ(Judge(Saw(1000, 10, 800.5), t).verdict, Verdict::kFail);
}

TEST(CanaryAnalysisTest, LatencyLimitWithoutALatencyMeasurementIsInconclusive) {
  Thresholds t;
  t.max_p99_latency_ms = 800;
  Judgement j = Judge(Saw(1000, 10), t);
  EXPECT_EQ(j.verdict, Verdict::kInconclusive);
  EXPECT_NE(j.reason.find("no p99 latency reported"), std::string::npos) << j.reason;
  // Bad errors are still a FAIL, whatever the latency.
  EXPECT_EQ(Judge(Saw(1000, 80), t).verdict, Verdict::kFail);
}

TEST(CanaryAnalysisTest, LatencyWithoutALimitIsReportedButNotJudged) {
  Judgement j = Judge(Saw(1000, 10, 5000), Thresholds{});
  EXPECT_EQ(j.verdict, Verdict::kPass);
  EXPECT_NE(j.reason.find("p99 latency 5000 ms"), std::string::npos) << j.reason;
}

TEST(CanaryAnalysisTest, ImpossibleCountsFailWithAClearReason) {
  Judgement more = Judge(Saw(100, 120), Thresholds{});
  EXPECT_EQ(more.verdict, Verdict::kFail);
  EXPECT_EQ(more.reason, "invalid observation: more errors than requests "
                         "(120 errors / 100 requests)");
  EXPECT_EQ(Judge(Saw(-5, 0), Thresholds{}).verdict, Verdict::kFail);
  EXPECT_EQ(Judge(Saw(1000, -1), Thresholds{}).verdict, Verdict::kFail);
  EXPECT_EQ(Judge(Saw(1000, 0, -3), Thresholds{}).verdict, Verdict::kFail);
}

TEST(CanaryAnalysisTest, VerdictNamesAreWhatTheTimelineShows) {
  EXPECT_STREQ(VerdictName(Verdict::kPass), "PASS");
  EXPECT_STREQ(VerdictName(Verdict::kFail), "FAIL");
  EXPECT_STREQ(VerdictName(Verdict::kInconclusive), "INCONCLUSIVE");
}

// Runs verdicts through Apply and returns the decisions.
std::vector<Decision> Decide(const std::vector<Verdict>& verdicts, const Thresholds& t,
                          Streaks* streaks_out = nullptr) {
  Streaks streaks;
  std::vector<Decision> decisions;
  for (Verdict v : verdicts) decisions.push_back(Apply(streaks, v, t));
  if (streaks_out) *streaks_out = streaks;
  return decisions;
}

constexpr Verdict P = Verdict::kPass;
constexpr Verdict F = Verdict::kFail;
constexpr Verdict I = Verdict::kInconclusive;
constexpr Decision kGo = Decision::kContinue;
constexpr Decision kBack = Decision::kRollBack;
constexpr Decision kPause = Decision::kPause;

TEST(CanaryAnalysisTest, DefaultLimitRollsBackOnTheFirstFailure) {
  EXPECT_EQ(Decide({P, P, F}, Thresholds{}), (std::vector<Decision>{kGo, kGo, kBack}));
}

TEST(CanaryAnalysisTest, FailureLimitCountsOnlyConsecutiveFailures) {
  Thresholds t;
  t.failure_limit = 2;
  // FAIL, PASS, FAIL does not roll back: the PASS in between reset the streak.
  EXPECT_EQ(Decide({F, P, F}, t), (std::vector<Decision>{kGo, kGo, kGo}));
  // One more FAIL makes two in a row.
  EXPECT_EQ(Decide({F, P, F, F}, t), (std::vector<Decision>{kGo, kGo, kGo, kBack}));
}

TEST(CanaryAnalysisTest, InconclusiveLimitPausesForAHuman) {
  Thresholds t;  // inconclusive_limit 3
  Streaks streaks;
  EXPECT_EQ(Decide({I, I, I}, t, &streaks), (std::vector<Decision>{kGo, kGo, kPause}));
  EXPECT_EQ(streaks.inconclusive, 3);
  EXPECT_EQ(streaks.fail, 0);
}

TEST(CanaryAnalysisTest, APassResetsTheInconclusiveStreak) {
  Thresholds t;
  EXPECT_EQ(Decide({I, I, P, I, I}, t), (std::vector<Decision>(5, kGo)));
  EXPECT_EQ(Decide({I, I, P, I, I, I}, t).back(), kPause);
}

TEST(CanaryAnalysisTest, FailAndInconclusiveResetEachOthersStreak) {
  Thresholds t;
  t.failure_limit = 2;
  Streaks streaks;
  EXPECT_EQ(Decide({F, I, F, I, I}, t, &streaks), (std::vector<Decision>(5, kGo)));
  EXPECT_EQ(streaks.fail, 0);
  EXPECT_EQ(streaks.inconclusive, 2);
  EXPECT_EQ(Decide({I, I, F, I, I, I}, t).back(), kPause);
}

TEST(CanaryAnalysisTest, StreaksCarryOverBetweenCallsOfTheSameStep) {
  Thresholds t;
  t.failure_limit = 3;
  Streaks streaks{2, 0};  // as stored on the release after two FAILs
  EXPECT_EQ(Apply(streaks, F, t), kBack);
  EXPECT_EQ(streaks.fail, 3);
}

}  // namespace
}  // namespace flightdeck::releases
