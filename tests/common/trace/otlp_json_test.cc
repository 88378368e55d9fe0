#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "common/trace/trace.h"

namespace flightdeck::trace {
namespace {

using nlohmann::json;

SpanData ChildSpan() {
  SpanData span;
  span.context = *ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                                   "rojo=1");
  span.parent_span_id = {0xab, 0xcd, 0, 0, 0, 0, 0, 0x01};
  span.name = "flightdeck.v1.ReleaseService/GetRelease";
  span.kind = SpanKind::kServer;
  span.start_unix_nano = 1700000000123456789ULL;
  span.end_unix_nano = 1700000000223456789ULL;
  span.attributes = {{"rpc.system", std::string("grpc")},
                     {"rpc.grpc.status_code", 5LL},
                     {"ratio", 0.25},
                     {"cached", true}};
  span.events.push_back({"retry", 1700000000200000000ULL, {{"attempt", 2LL}}});
  span.status = StatusCode::kError;
  span.status_message = "release \"x\" not found\n";
  return span;
}

ProviderOptions Resource() {
  ProviderOptions options;
  options.service_name = "flightdeck-releases";
  options.resource_attributes = {{"deployment.environment", std::string("staging")},
                                 {"service.name", std::string("ignored")}};
  return options;
}

json AttributeNamed(const json& attributes, const std::string& key) {
  for (const auto& a : attributes) {
    if (a.at("key") == key) return a.at("value");
  }
  return nullptr;
}

TEST(EncodeOtlpJson, HasTheExportTraceServiceRequestShape) {
  const json body = json::parse(EncodeOtlpJson(Resource(), {ChildSpan()}));
  ASSERT_EQ(body.at("resourceSpans").size(), 1u);
  const json& rs = body["resourceSpans"][0];

  const json& resource_attributes = rs.at("resource").at("attributes");
  EXPECT_EQ(AttributeNamed(resource_attributes, "service.name"),
            json({{"stringValue", "flightdeck-releases"}}));
  EXPECT_EQ(AttributeNamed(resource_attributes, "deployment.environment"),
            json({{"stringValue", "staging"}}));
  int service_names = 0;
  for (const auto& a : resource_attributes) service_names += a["key"] == "service.name" ? 1 : 0;
  EXPECT_EQ(service_names, 1);

  ASSERT_EQ(rs.at("scopeSpans").size(), 1u);
  EXPECT_EQ(rs["scopeSpans"][0].at("scope").at("name"), "flightdeck");
  ASSERT_EQ(rs["scopeSpans"][0].at("spans").size(), 1u);
  const json& span = rs["scopeSpans"][0]["spans"][0];
  EXPECT_EQ(span.at("traceId"), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(span.at("spanId"), "00f067aa0ba902b7");
  EXPECT_EQ(span.at("parentSpanId"), "abcd000000000001");
  EXPECT_EQ(span.at("traceState"), "rojo=1");
  EXPECT_EQ(span.at("name"), "flightdeck.v1.ReleaseService/GetRelease");
  EXPECT_EQ(span.at("kind"), 2);
  EXPECT_EQ(span.at("startTimeUnixNano"), "1700000000123456789");
  EXPECT_EQ(span.at("endTimeUnixNano"), "1700000000223456789");

  const json& attributes = span.at("attributes");
  EXPECT_EQ(AttributeNamed(attributes, "rpc.system"), json({{"stringValue", "grpc"}}));
  EXPECT_EQ(AttributeNamed(attributes, "rpc.grpc.status_code"), json({{"intValue", "5"}}));
  EXPECT_EQ(AttributeNamed(attributes, "ratio"), json({{"doubleValue", 0.25}}));
  EXPECT_EQ(AttributeNamed(attributes, "cached"), json({{"boolValue", true}}));

  ASSERT_EQ(span.at("events").size(), 1u);
  EXPECT_EQ(span["events"][0].at("name"), "retry");
  EXPECT_EQ(span["events"][0].at("timeUnixNano"), "1700000000200000000");
  EXPECT_EQ(AttributeNamed(span["events"][0].at("attributes"), "attempt"),
            json({{"intValue", "2"}}));

  EXPECT_EQ(span.at("status").at("code"), 2);
  EXPECT_EQ(span["status"].at("message"), "release \"x\" not found\n");
}

TEST(EncodeOtlpJson, RootSpanHasNoParentAndUnsetStatusHasNoMessage) {
  SpanData root = ChildSpan();
  root.parent_span_id = {};
  root.context.tracestate.clear();
  root.status = StatusCode::kUnset;
  root.status_message.clear();
  root.events.clear();
  const json span =
      json::parse(EncodeOtlpJson(Resource(), {root}))["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
  EXPECT_FALSE(span.contains("parentSpanId"));
  EXPECT_FALSE(span.contains("traceState"));
  EXPECT_EQ(span.at("status"), json({{"code", 0}}));
}

TEST(EncodeOtlpJson, EscapesStringsAndSurvivesInvalidUtf8AndNonFiniteDoubles) {
  SpanData span = ChildSpan();
  span.name = "quote\" backslash\\ tab\t ctl\x01 bad\xff utf8 é";
  span.attributes = {{"nan", std::numeric_limits<double>::quiet_NaN()},
                     {"inf", std::numeric_limits<double>::infinity()}};
  const std::string text = EncodeOtlpJson(Resource(), {span});
  json body;
  ASSERT_NO_THROW(body = json::parse(text)) << text;
  const json& encoded = body["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
  const std::string name = encoded.at("name");
  EXPECT_EQ(name.rfind("quote\" backslash\\ tab\t ctl\x01 bad", 0), 0u) << name;
  EXPECT_NE(name.find("utf8 é"), std::string::npos) << name;
  EXPECT_EQ(AttributeNamed(encoded["attributes"], "nan"), json({{"doubleValue", "NaN"}}));
  EXPECT_EQ(AttributeNamed(encoded["attributes"], "inf"), json({{"doubleValue", "Infinity"}}));
}

TEST(EncodeOtlpJson, ReplacesEachByteOutsideWellFormedUtf8) {
  SpanData span = ChildSpan();
  // A stray continuation byte, a truncated sequence, an overlong '/', a surrogate, a code point
  // above U+10FFFF; then well-formed two-, three- and four-byte sequences, kept as they are.
  span.name = std::string("a\x80" "b\xE2\x82" "c\xC0\xAF\xED\xA0\x80\xF4\x90\x80\x80") +
              "é€\xF0\x9F\x9A\x80";
  span.attributes = {{"note", std::string("ok \xFF")}};
  const json encoded =
      json::parse(EncodeOtlpJson(Resource(), {span}))["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
  const std::string r = "\xEF\xBF\xBD";  // U+FFFD
  EXPECT_EQ(encoded.at("name"), "a" + r + "b" + r + r + "c" + r + r + r + r + r + r + r + r + r +
                                    "é€\xF0\x9F\x9A\x80");
  EXPECT_EQ(AttributeNamed(encoded.at("attributes"), "note"), json({{"stringValue", "ok " + r}}));
}

TEST(EncodeOtlpJson, WritesDoublesThatReadBackExactly) {
  SpanData span = ChildSpan();
  const std::vector<double> values = {0.1, -2.5e-308, 1e300, 3.0, 1.0 / 3, -0.0};
  span.attributes.clear();
  for (size_t i = 0; i < values.size(); ++i) span.attributes.emplace_back(std::to_string(i), values[i]);
  const json encoded =
      json::parse(EncodeOtlpJson(Resource(), {span}))["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
  for (size_t i = 0; i < values.size(); ++i) {
    const json value = AttributeNamed(encoded.at("attributes"), std::to_string(i)).at("doubleValue");
    EXPECT_EQ(value.get<double>(), values[i]) << i;
  }
}

TEST(EncodeOtlpJson, KeepsEverySpanOfABatch) {
  std::vector<SpanData> spans(3, ChildSpan());
  spans[1].name = "second";
  spans[2].kind = SpanKind::kConsumer;
  const json encoded = json::parse(EncodeOtlpJson(Resource(), spans));
  const json& out = encoded["resourceSpans"][0]["scopeSpans"][0]["spans"];
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[1]["name"], "second");
  EXPECT_EQ(out[2]["kind"], 5);
}

}  // namespace
}  // namespace flightdeck::trace
