#include <gtest/gtest.h>

#include <map>

#include "common/config/config.h"
#include "common/trace/trace.h"

namespace flightdeck::trace {
namespace {

ProviderOptions FromMap(std::map<std::string, std::string> values) {
  return OptionsFromEnv(config::Env::FromMap(std::move(values)), "flightdeck-releases");
}

// The ConfigError message for these variables; fails the test when nothing is thrown.
std::string ErrorFor(std::map<std::string, std::string> values) {
  try {
    FromMap(std::move(values));
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected ConfigError";
  return "";
}

TEST(OptionsFromEnv, DefaultsWithoutVariables) {
  ProviderOptions options = FromMap({});
  EXPECT_EQ(options.service_name, "flightdeck-releases");
  EXPECT_FALSE(options.traces_url.has_value());  // no endpoint: nothing is exported
  EXPECT_FALSE(options.disabled);
  EXPECT_EQ(options.sampler.kind(), Sampler::Kind::kParentBasedAlwaysOn);
  EXPECT_EQ(options.schedule_delay, std::chrono::milliseconds(5000));
  EXPECT_EQ(options.export_timeout, std::chrono::milliseconds(10000));
  EXPECT_EQ(options.max_queue_size, 2048u);
  EXPECT_EQ(options.max_export_batch_size, 512u);
  EXPECT_TRUE(options.headers.empty());
  EXPECT_TRUE(options.resource_attributes.empty());
}

TEST(OptionsFromEnv, ReadsEveryVariable) {
  ProviderOptions options = FromMap({
      {"OTEL_SDK_DISABLED", "true"},
      {"OTEL_SERVICE_NAME", "releases-canary"},
      {"OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=prod%20eu, team=platform"},
      {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"},
      {"OTEL_EXPORTER_OTLP_HEADERS", "api-key=secret%3D1,x-tenant=a"},
      {"OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"},
      {"OTEL_EXPORTER_OTLP_TIMEOUT", "2500"},
      {"OTEL_BSP_SCHEDULE_DELAY", "100"},
      {"OTEL_BSP_MAX_QUEUE_SIZE", "64"},
      {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "16"},
      {"OTEL_TRACES_SAMPLER", "parentbased_traceidratio"},
      {"OTEL_TRACES_SAMPLER_ARG", "0.125"},
  });
  EXPECT_TRUE(options.disabled);
  EXPECT_EQ(options.service_name, "releases-canary");
  ASSERT_EQ(options.resource_attributes.size(), 2u);
  EXPECT_EQ(options.resource_attributes[0].first, "deployment.environment");
  EXPECT_EQ(std::get<std::string>(options.resource_attributes[0].second), "prod eu");
  EXPECT_EQ(options.resource_attributes[1].first, "team");
  EXPECT_EQ(options.traces_url, "http://collector:4318/v1/traces");
  ASSERT_EQ(options.headers.size(), 2u);
  EXPECT_EQ(options.headers[0], (std::pair<std::string, std::string>("api-key", "secret=1")));
  EXPECT_EQ(options.export_timeout, std::chrono::milliseconds(2500));
  EXPECT_EQ(options.schedule_delay, std::chrono::milliseconds(100));
  EXPECT_EQ(options.max_queue_size, 64u);
  EXPECT_EQ(options.max_export_batch_size, 16u);
  EXPECT_EQ(options.sampler.kind(), Sampler::Kind::kParentBasedTraceIdRatio);
  EXPECT_DOUBLE_EQ(options.sampler.ratio(), 0.125);
}

TEST(OptionsFromEnv, BaseEndpointGetsOneSlashBeforeV1Traces) {
  EXPECT_EQ(FromMap({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/"}}).traces_url,
            "http://c:4318/v1/traces");
  EXPECT_EQ(FromMap({{"OTEL_EXPORTER_OTLP_ENDPOINT", "https://c/otlp/"}}).traces_url,
            "https://c/otlp/v1/traces");
}

TEST(OptionsFromEnv, TracesEndpointIsUsedAsGivenAndWins) {
  EXPECT_EQ(FromMap({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://base:4318"},
                     {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces:9999/custom"}})
                .traces_url,
            "http://traces:9999/custom");
}

TEST(OptionsFromEnv, TracesHeadersOverrideGeneralOnesOfTheSameName) {
  auto options = FromMap({{"OTEL_EXPORTER_OTLP_HEADERS", "API-Key=general,x-a=1"},
                          {"OTEL_EXPORTER_OTLP_TRACES_HEADERS", "api-key=traces"}});
  ASSERT_EQ(options.headers.size(), 2u);
  EXPECT_EQ(options.headers[0].first, "x-a");
  EXPECT_EQ(options.headers[1], (std::pair<std::string, std::string>("api-key", "traces")));
}

TEST(OptionsFromEnv, ServiceNameFallsBackToResourceAttribute) {
  EXPECT_EQ(FromMap({{"OTEL_RESOURCE_ATTRIBUTES", "service.name=from-resource"}}).service_name,
            "from-resource");
  EXPECT_EQ(FromMap({{"OTEL_RESOURCE_ATTRIBUTES", "service.name=from-resource"},
                     {"OTEL_SERVICE_NAME", "explicit"}})
                .service_name,
            "explicit");
}

TEST(OptionsFromEnv, OnlyHttpJsonProtocolIsAccepted) {
  for (const char* variable : {"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"}) {
    for (const char* protocol : {"grpc", "http/protobuf"}) {
      const std::string message = ErrorFor({{variable, protocol}});
      EXPECT_NE(message.find(variable), std::string::npos) << message;
      EXPECT_NE(message.find("only http/json is supported"), std::string::npos) << message;
    }
  }
  // The traces-specific variable wins over the general one.
  EXPECT_NO_THROW(FromMap({{"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"},
                           {"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json"}}));
}

TEST(OptionsFromEnv, MalformedValuesNameTheirVariable) {
  const std::map<std::string, std::string> bad[] = {
      {{"OTEL_RESOURCE_ATTRIBUTES", "novalue"}},
      {{"OTEL_RESOURCE_ATTRIBUTES", "k=%zz"}},
      {{"OTEL_RESOURCE_ATTRIBUTES", "=v"}},
      {{"OTEL_EXPORTER_OTLP_HEADERS", "api-key"}},
      {{"OTEL_EXPORTER_OTLP_HEADERS", "x=a%0d%0aInjected: 1"}},
      {{"OTEL_EXPORTER_OTLP_TRACES_HEADERS", "bad name=1"}},
      {{"OTEL_EXPORTER_OTLP_ENDPOINT", "ftp://collector"}},
      {{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "not a url"}},
      {{"OTEL_EXPORTER_OTLP_TIMEOUT", "10s"}},
      {{"OTEL_BSP_SCHEDULE_DELAY", "-1"}},
      {{"OTEL_BSP_MAX_QUEUE_SIZE", "0"}},
      {{"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "many"}},
      {{"OTEL_SDK_DISABLED", "maybe"}},
      {{"OTEL_TRACES_SAMPLER", "sometimes"}},
      {{"OTEL_TRACES_SAMPLER", "traceidratio"}, {"OTEL_TRACES_SAMPLER_ARG", "2"}},
  };
  for (const auto& values : bad) {
    const std::string variable = values.rbegin()->first;
    const std::string message = ErrorFor(values);
    EXPECT_NE(message.find(variable), std::string::npos) << variable << ": " << message;
  }
}

TEST(OptionsFromEnv, HeaderValuesStayOutOfErrorMessages) {
  const std::string message = ErrorFor({{"OTEL_EXPORTER_OTLP_HEADERS", "ok=1,s3cr3t-token"}});
  EXPECT_EQ(message.find("s3cr3t"), std::string::npos) << message;
}

TEST(OptionsFromEnv, BatchSizeMustFitTheQueue) {
  const std::string message =
      ErrorFor({{"OTEL_BSP_MAX_QUEUE_SIZE", "10"}, {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "20"}});
  EXPECT_NE(message.find("OTEL_BSP_MAX_EXPORT_BATCH_SIZE"), std::string::npos) << message;
  // Only the queue given: the default batch size shrinks to fit.
  EXPECT_EQ(FromMap({{"OTEL_BSP_MAX_QUEUE_SIZE", "10"}}).max_export_batch_size, 10u);
}

}  // namespace
}  // namespace flightdeck::trace
