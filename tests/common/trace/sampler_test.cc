#include <gtest/gtest.h>

#include <random>

#include "common/config/config.h"
#include "common/trace/trace.h"

namespace flightdeck::trace {
namespace {

using Kind = Sampler::Kind;

std::array<uint8_t, 16> RandomTraceId(std::mt19937_64& rng) {
  std::array<uint8_t, 16> id{};
  for (auto& b : id) b = static_cast<uint8_t>(rng());
  return id;
}

SpanContext Parent(bool sampled) {
  auto parent = ParseTraceparent(sampled ? "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
                                         : "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  return *parent;
}

TEST(Sampler, FromEnvKnowsEveryStandardName) {
  EXPECT_EQ(Sampler::FromEnv("always_on", "").kind(), Kind::kAlwaysOn);
  EXPECT_EQ(Sampler::FromEnv("always_off", "").kind(), Kind::kAlwaysOff);
  EXPECT_EQ(Sampler::FromEnv("traceidratio", "0.5").kind(), Kind::kTraceIdRatio);
  EXPECT_DOUBLE_EQ(Sampler::FromEnv("traceidratio", "0.5").ratio(), 0.5);
  EXPECT_EQ(Sampler::FromEnv("parentbased_always_on", "").kind(), Kind::kParentBasedAlwaysOn);
  EXPECT_EQ(Sampler::FromEnv("parentbased_always_off", "").kind(), Kind::kParentBasedAlwaysOff);
  EXPECT_EQ(Sampler::FromEnv("parentbased_traceidratio", "0.1").kind(),
            Kind::kParentBasedTraceIdRatio);
  EXPECT_DOUBLE_EQ(Sampler::FromEnv("parentbased_traceidratio", "").ratio(), 1.0);
  EXPECT_EQ(Sampler::FromEnv("", "").kind(), Kind::kParentBasedAlwaysOn);  // the default
}

TEST(Sampler, FromEnvRejectsUnknownNameNamingTheVariable) {
  try {
    Sampler::FromEnv("jaeger_remote", "");
    FAIL() << "expected ConfigError";
  } catch (const config::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("OTEL_TRACES_SAMPLER"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("jaeger_remote"), std::string::npos) << e.what();
  }
}

TEST(Sampler, FromEnvRejectsBadRatioNamingTheArgVariable) {
  for (const char* arg : {"1.5", "-0.1", "half", "0.5x", "nan"}) {
    try {
      Sampler::FromEnv("traceidratio", arg);
      FAIL() << "expected ConfigError for " << arg;
    } catch (const config::ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("OTEL_TRACES_SAMPLER_ARG"), std::string::npos)
          << e.what();
    }
  }
}

TEST(Sampler, AlwaysOnAndOffIgnoreTheParent) {
  std::mt19937_64 rng(1);
  const auto id = RandomTraceId(rng);
  const SpanContext unsampled = Parent(false);
  const SpanContext sampled = Parent(true);
  EXPECT_TRUE(Sampler(Kind::kAlwaysOn).ShouldSample(nullptr, id));
  EXPECT_TRUE(Sampler(Kind::kAlwaysOn).ShouldSample(&unsampled, id));
  EXPECT_FALSE(Sampler(Kind::kAlwaysOff).ShouldSample(nullptr, id));
  EXPECT_FALSE(Sampler(Kind::kAlwaysOff).ShouldSample(&sampled, id));
}

TEST(Sampler, ParentBasedFollowsTheParentsSampledFlag) {
  std::mt19937_64 rng(2);
  const auto id = RandomTraceId(rng);
  const SpanContext sampled = Parent(true);
  SpanContext unsampled = Parent(false);
  for (Kind kind : {Kind::kParentBasedAlwaysOn, Kind::kParentBasedAlwaysOff,
                    Kind::kParentBasedTraceIdRatio}) {
    Sampler sampler(kind, 0.0);  // a root would never be sampled by the ratio
    EXPECT_TRUE(sampler.ShouldSample(&sampled, id)) << static_cast<int>(kind);
    EXPECT_FALSE(sampler.ShouldSample(&unsampled, id)) << static_cast<int>(kind);
    unsampled.remote = false;  // a local parent is followed the same way
    EXPECT_FALSE(sampler.ShouldSample(&unsampled, id)) << static_cast<int>(kind);
  }
}

TEST(Sampler, ParentBasedUsesTheRootSamplerWithoutAParent) {
  std::mt19937_64 rng(3);
  const auto id = RandomTraceId(rng);
  const SpanContext invalid;
  EXPECT_TRUE(Sampler(Kind::kParentBasedAlwaysOn).ShouldSample(nullptr, id));
  EXPECT_TRUE(Sampler(Kind::kParentBasedAlwaysOn).ShouldSample(&invalid, id));
  EXPECT_FALSE(Sampler(Kind::kParentBasedAlwaysOff).ShouldSample(nullptr, id));
  EXPECT_FALSE(Sampler(Kind::kParentBasedTraceIdRatio, 0.0).ShouldSample(nullptr, id));
  EXPECT_TRUE(Sampler(Kind::kParentBasedTraceIdRatio, 1.0).ShouldSample(nullptr, id));
}

TEST(Sampler, RatioZeroNeverAndOneAlways) {
  std::mt19937_64 rng(4);
  std::array<uint8_t, 16> max_id;
  max_id.fill(0xff);
  EXPECT_TRUE(Sampler(Kind::kTraceIdRatio, 1.0).ShouldSample(nullptr, max_id));
  for (int i = 0; i < 1000; ++i) {
    const auto id = RandomTraceId(rng);
    ASSERT_FALSE(Sampler(Kind::kTraceIdRatio, 0.0).ShouldSample(nullptr, id));
    ASSERT_TRUE(Sampler(Kind::kTraceIdRatio, 1.0).ShouldSample(nullptr, id));
  }
}

TEST(Sampler, RatioDecidesFromTheLowEightBytes) {
  std::array<uint8_t, 16> id{};
  id.fill(0xff);  // high bytes do not matter
  for (size_t i = 8; i < 16; ++i) id[i] = 0;
  id[8] = 0x3f;  // 0x3f00... < 0.25 * 2^64 = 0x4000...
  EXPECT_TRUE(Sampler(Kind::kTraceIdRatio, 0.25).ShouldSample(nullptr, id));
  id[8] = 0x40;
  EXPECT_FALSE(Sampler(Kind::kTraceIdRatio, 0.25).ShouldSample(nullptr, id));
}

TEST(Sampler, RatioIsDeterministicAndCloseToTheRatio) {
  std::mt19937_64 rng(5);
  const Sampler sampler(Kind::kTraceIdRatio, 0.25);
  const int n = 20000;
  int sampled = 0;
  for (int i = 0; i < n; ++i) {
    const auto id = RandomTraceId(rng);
    const bool decision = sampler.ShouldSample(nullptr, id);
    ASSERT_EQ(decision, sampler.ShouldSample(nullptr, id));  // same trace, same decision
    sampled += decision ? 1 : 0;
  }
  // Binomial(20000, 0.25): sd ~61, so 0.25 +- 0.02 is ~8 sd.
  EXPECT_NEAR(static_cast<double>(sampled) / n, 0.25, 0.02);
}

}  // namespace
}  // namespace flightdeck::trace
