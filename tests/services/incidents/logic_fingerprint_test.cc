#include <cstdio>

#include <gtest/gtest.h>

#include "services/incidents/fingerprint.h"
#include "services/incidents/report_math.h"
#include "services/incidents/severity.h"

namespace flightdeck::incidents {
namespace {

// FNV-1a 64 written from the specification (http://www.isthe.com/chongo/tech/comp/fnv/),
// sorting names itself rather than trusting std::map order.
std::string ReferenceFingerprint(const std::vector<std::pair<std::string, std::string>>& labels) {
  auto sorted = labels;
  std::sort(sorted.begin(), sorted.end());
  unsigned long long hash = 0xcbf29ce484222325ULL;
  auto eat = [&hash](unsigned char byte) {
    hash ^= byte;
    hash *= 0x100000001b3ULL;
  };
  for (const auto& [name, value] : sorted) {
    for (char c : name) eat(static_cast<unsigned char>(c));
    eat(0xff);
    for (char c : value) eat(static_cast<unsigned char>(c));
    eat(0xff);
  }
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", hash);
  return buf;
}

TEST(FingerprintTest, MatchesRealAlertmanager) {
  // Posted to prometheus-alertmanager 0.25 (Debian 12) via POST /api/v2/alerts and read back
  // from GET /api/v2/alerts on 2026-11-22; the same values come from a 6-line Python FNV-1a.
  EXPECT_EQ(FingerprintHex({{"alertname", "ServiceDown"}, {"service", "api"},
                            {"environment", "production"}}),
            "02409daa2f974bfe");
  EXPECT_EQ(FingerprintHex({{"alertname", "HighResponseTime"}, {"job", "api"},
                            {"instance", "10.0.0.1:9100"}, {"severity", "warning"}}),
            "e5f30bcb3b549f1f");
  EXPECT_EQ(FingerprintHex({{"a", "b"}}), "d2b371819297f98a");
}

TEST(FingerprintTest, EmptySetIsTheOffsetBasis) {
  EXPECT_EQ(Fingerprint({}), 14695981039346656037ULL);
  EXPECT_EQ(FingerprintHex({}), "cbf29ce484222325");
}

TEST(FingerprintTest, AgreesWithReferenceImplementation) {
  const std::vector<std::vector<std::pair<std::string, std::string>>> sets = {
      {{"z", "1"}, {"a", "2"}, {"m", ""}},
      {{"alertname", "Disk"}, {"mountpoint", "/var/lib/postgresql"}, {"severity", "critical"}},
      {{"unicode", "größe ✓"}, {"Upper", "case"}, {"lower", "case"}},
      {{"k", std::string(1000, 'x')}},
  };
  for (const auto& set : sets) {
    Labels labels(set.begin(), set.end());
    EXPECT_EQ(FingerprintHex(labels), ReferenceFingerprint(set));
  }
}

TEST(FingerprintTest, SeparatorKeepsNameValueBoundaries) {
  // Without the 0xFF separators these two sets would hash the same bytes.
  EXPECT_NE(Fingerprint({{"ab", "c"}}), Fingerprint({{"a", "bc"}}));
  EXPECT_NE(Fingerprint({{"a", ""}}), Fingerprint({}));
  EXPECT_EQ(FingerprintHex({{"a", "1"}}).size(), 16u);
}

TEST(SeverityTest, LabelMapping) {
  const Severity kFallback = Severity::kSev3;
  EXPECT_EQ(SeverityFromLabel("critical", Severity::kSev2, kFallback), Severity::kSev2);
  EXPECT_EQ(SeverityFromLabel("CRITICAL", Severity::kSev1, kFallback), Severity::kSev1);
  EXPECT_EQ(SeverityFromLabel("error", Severity::kSev1, kFallback), Severity::kSev2);
  EXPECT_EQ(SeverityFromLabel("high", Severity::kSev1, kFallback), Severity::kSev2);
  EXPECT_EQ(SeverityFromLabel("warning", Severity::kSev1, kFallback), Severity::kSev3);
  EXPECT_EQ(SeverityFromLabel("info", Severity::kSev1, Severity::kSev1), Severity::kSev4);
  EXPECT_EQ(SeverityFromLabel("low", Severity::kSev1, kFallback), Severity::kSev4);
  EXPECT_EQ(SeverityFromLabel("sev1", Severity::kSev2, kFallback), Severity::kSev1);
  EXPECT_EQ(SeverityFromLabel("P4", Severity::kSev2, kFallback), Severity::kSev4);
  EXPECT_EQ(SeverityFromLabel("page-me", Severity::kSev2, Severity::kSev4), Severity::kSev4);
  EXPECT_EQ(SeverityFromLabel("", Severity::kSev2, Severity::kSev3), Severity::kSev3);
}

TEST(SeverityTest, OverrideThenLabelThenIntegrationDefault) {
  AlertInput alert;
  alert.labels = {{"alertname", "X"}, {"severity", "warning"}};
  EXPECT_EQ(SeverityOf(alert, Severity::kSev2), Severity::kSev3);
  alert.severity_override = Severity::kSev1;
  EXPECT_EQ(SeverityOf(alert, Severity::kSev2), Severity::kSev1);
  alert.severity_override.reset();
  alert.labels.erase("severity");
  EXPECT_EQ(SeverityOf(alert, Severity::kSev2), Severity::kSev3);
  alert.default_severity = Severity::kSev4;
  EXPECT_EQ(SeverityOf(alert, Severity::kSev2), Severity::kSev4);
  alert.labels["severity"] = "critical";
  EXPECT_EQ(SeverityOf(alert, Severity::kSev1), Severity::kSev1);
}

TEST(SeverityTest, NamesRoundTrip) {
  Severity s = Severity::kSev4;
  EXPECT_EQ(SeverityName(Severity::kSev1), "SEV1");
  ASSERT_TRUE(ParseSeverity("SEV2", &s));
  EXPECT_EQ(s, Severity::kSev2);
  ASSERT_TRUE(ParseSeverity("sev3", &s));
  EXPECT_EQ(s, Severity::kSev3);
  ASSERT_TRUE(ParseSeverity("1", &s));
  EXPECT_EQ(s, Severity::kSev1);
  EXPECT_FALSE(ParseSeverity("SEV5", &s));
  EXPECT_FALSE(ParseSeverity("SEV0", &s));
  EXPECT_FALSE(ParseSeverity("", &s));
  EXPECT_FALSE(ParseSeverity("SEV12", &s));
}

TEST(ReportMathTest, MeanAndNearestRankP90) {
  // 1..10: mean 5.5; nearest rank ceil(0.9*10)=9 -> 9.
  std::vector<double> v = {10, 9, 8, 7, 6, 5, 4, 3, 2, 1};
  auto stats = SummariseDurations(v);
  EXPECT_EQ(stats.count(), 10);
  EXPECT_DOUBLE_EQ(stats.mean_seconds(), 5.5);
  EXPECT_DOUBLE_EQ(stats.p90_seconds(), 9);

  // 11 values: rank ceil(9.9)=10 -> the 10th smallest.
  stats = SummariseDurations({60, 120, 180, 240, 300, 360, 420, 480, 540, 600, 3600});
  EXPECT_DOUBLE_EQ(stats.p90_seconds(), 600);
  EXPECT_NEAR(stats.mean_seconds(), 6900.0 / 11, 1e-9);
}

TEST(ReportMathTest, SmallAndEmptySets) {
  auto stats = SummariseDurations({});
  EXPECT_EQ(stats.count(), 0);
  EXPECT_EQ(stats.mean_seconds(), 0);
  EXPECT_EQ(stats.p90_seconds(), 0);
  stats = SummariseDurations({42});
  EXPECT_EQ(stats.count(), 1);
  EXPECT_DOUBLE_EQ(stats.p90_seconds(), 42);
  stats = SummariseDurations({300, 60});  // ceil(1.8)=2 -> the larger
  EXPECT_DOUBLE_EQ(stats.p90_seconds(), 300);
  EXPECT_DOUBLE_EQ(stats.mean_seconds(), 180);
}

}  // namespace
}  // namespace flightdeck::incidents
