// OTLP/HTTP JSON encoding of ExportTraceServiceRequest
// (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding).

#include <cmath>
#include <nlohmann/json.hpp>

#include "common/trace/internal.h"
#include "common/trace/trace.h"

namespace flightdeck::trace {
namespace {

using nlohmann::json;

constexpr char kScopeName[] = "flightdeck";

json EncodeValue(const AttributeValue& value) {
  struct Visitor {
    json operator()(const std::string& s) const { return {{"stringValue", s}}; }
    // Protobuf's JSON mapping writes 64-bit integers as strings.
    json operator()(long long i) const { return {{"intValue", std::to_string(i)}}; }
    json operator()(double d) const {
      // JSON numbers have no NaN or infinity; protobuf's mapping spells them as strings.
      if (std::isnan(d)) return {{"doubleValue", "NaN"}};
      if (std::isinf(d)) return {{"doubleValue", d > 0 ? "Infinity" : "-Infinity"}};
      return {{"doubleValue", d}};
    }
    json operator()(bool b) const { return {{"boolValue", b}}; }
  };
  return std::visit(Visitor{}, value);
}

json EncodeAttributes(const Attributes& attributes) {
  json out = json::array();
  for (const auto& [key, value] : attributes) {
    out.push_back({{"key", key}, {"value", EncodeValue(value)}});
  }
  return out;
}

bool IsZero(const std::array<uint8_t, 8>& id) {
  for (uint8_t b : id) {
    if (b != 0) return false;
  }
  return true;
}

json EncodeSpan(const SpanData& span) {
  json out = {
      {"traceId", span.context.TraceIdHex()},
      {"spanId", span.context.SpanIdHex()},
      {"name", span.name},
      {"kind", static_cast<int>(span.kind)},
      {"startTimeUnixNano", std::to_string(span.start_unix_nano)},
      {"endTimeUnixNano", std::to_string(span.end_unix_nano)},
      {"attributes", EncodeAttributes(span.attributes)},
  };
  // Empty bytes and strings are left out, as protobuf's JSON mapping does.
  if (!IsZero(span.parent_span_id)) {
    out["parentSpanId"] = internal::Hex(span.parent_span_id.data(), span.parent_span_id.size());
  }
  if (!span.context.tracestate.empty()) out["traceState"] = span.context.tracestate;
  if (!span.events.empty()) {
    json events = json::array();
    for (const auto& event : span.events) {
      events.push_back({{"timeUnixNano", std::to_string(event.unix_nano)},
                        {"name", event.name},
                        {"attributes", EncodeAttributes(event.attributes)}});
    }
    out["events"] = std::move(events);
  }
  json status = {{"code", static_cast<int>(span.status)}};
  if (!span.status_message.empty()) status["message"] = span.status_message;
  out["status"] = std::move(status);
  return out;
}

}  // namespace

std::string EncodeOtlpJson(const ProviderOptions& resource, const std::vector<SpanData>& spans) {
  json resource_attributes = json::array();
  resource_attributes.push_back(
      {{"key", "service.name"}, {"value", {{"stringValue", resource.service_name}}}});
  for (const auto& [key, value] : resource.resource_attributes) {
    // OTEL_SERVICE_NAME wins over a service.name in OTEL_RESOURCE_ATTRIBUTES (SDK spec).
    if (key == "service.name") continue;
    resource_attributes.push_back({{"key", key}, {"value", EncodeValue(value)}});
  }
  json encoded_spans = json::array();
  for (const auto& span : spans) encoded_spans.push_back(EncodeSpan(span));

  json scope_spans = {{"scope", {{"name", kScopeName}}}, {"spans", std::move(encoded_spans)}};
  json resource_spans = {{"resource", {{"attributes", std::move(resource_attributes)}}},
                         {"scopeSpans", json::array({std::move(scope_spans)})}};
  json request = {{"resourceSpans", json::array({std::move(resource_spans)})}};
  // Span names and attribute values may carry bytes from requests; invalid UTF-8 is replaced
  // rather than failing the whole batch.
  return request.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace flightdeck::trace
