// OTLP/HTTP JSON encoding of ExportTraceServiceRequest
// (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding), written as text into one
// string. Through an nlohmann tree (built, dumped and freed per batch) a span took about 9x as
// long, and tracing every request cost twice the throughput it does now (bench/README.md,
// bench/tracing).

#include <charconv>
#include <cmath>
#include <string_view>

#include "common/protojson/json_text.h"
#include "common/text/utf8.h"
#include "common/trace/internal.h"
#include "common/trace/trace.h"

namespace flightdeck::trace {
namespace {

constexpr char kScopeName[] = "flightdeck";

// Writes the request straight into one string. Span names, attribute values and status
// messages may carry bytes from requests: a byte that is not part of well-formed UTF-8 is
// written as U+FFFD rather than failing the whole batch.
class Writer {
 public:
  std::string& out() { return text_; }

  Writer& Raw(std::string_view s) {
    text_ += s;
    return *this;
  }
  // `"name":`, preceded by a comma unless it opens its object.
  Writer& Key(std::string_view name) {
    if (text_.back() != '{' && text_.back() != '[') text_ += ',';
    text_ += '"';
    text_ += name;
    text_ += "\":";
    return *this;
  }
  Writer& String(std::string_view s) {
    if (text::IsUtf8(s)) {
      protojson::AppendJsonString(s, &text_);
    } else {
      protojson::AppendJsonString(text::ToUtf8(s), &text_);
    }
    return *this;
  }
  // A string with nothing to escape (hex ids, digits).
  Writer& Quoted(std::string_view plain) { return Raw("\"").Raw(plain).Raw("\""); }
  // Protobuf's JSON mapping writes 64-bit integers as strings.
  Writer& Int64String(long long i) { return Quoted(std::to_string(i)); }
  Writer& Int64String(uint64_t i) { return Quoted(std::to_string(i)); }
  Writer& Int(int i) { return Raw(std::to_string(i)); }
  Writer& Double(double d) {
    // JSON numbers have no NaN or infinity; protobuf's mapping spells them as strings.
    if (std::isnan(d)) return Raw("\"NaN\"");
    if (std::isinf(d)) return Raw(d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    char buffer[32];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, d);  // shortest round trip
    return Raw(std::string_view(buffer, static_cast<size_t>(end - buffer)));
  }

  Writer& Value(const AttributeValue& value) {
    struct Visitor {
      Writer& w;
      void operator()(const std::string& s) const { w.Raw("{").Key("stringValue").String(s); }
      void operator()(long long i) const { w.Raw("{").Key("intValue").Int64String(i); }
      void operator()(double d) const { w.Raw("{").Key("doubleValue").Double(d); }
      void operator()(bool b) const { w.Raw("{").Key("boolValue").Raw(b ? "true" : "false"); }
    };
    std::visit(Visitor{*this}, value);
    return Raw("}");
  }
  Writer& Attribute(std::string_view key, const AttributeValue& value) {
    if (text_.back() != '[') text_ += ',';
    return Raw("{").Key("key").String(key).Key("value").Value(value).Raw("}");
  }
  Writer& Attributes(const trace::Attributes& attributes) {
    Raw("[");
    for (const auto& [key, value] : attributes) Attribute(key, value);
    return Raw("]");
  }

 private:
  std::string text_;
};

bool IsZero(const std::array<uint8_t, 8>& id) {
  for (uint8_t b : id) {
    if (b != 0) return false;
  }
  return true;
}

void WriteSpan(const SpanData& span, Writer& w) {
  w.Raw("{").Key("traceId").Quoted(span.context.TraceIdHex());
  w.Key("spanId").Quoted(span.context.SpanIdHex());
  // Empty bytes and strings are left out, as protobuf's JSON mapping does.
  if (!IsZero(span.parent_span_id)) {
    w.Key("parentSpanId").Quoted(internal::Hex(span.parent_span_id.data(), span.parent_span_id.size()));
  }
  if (!span.context.tracestate.empty()) w.Key("traceState").String(span.context.tracestate);
  w.Key("name").String(span.name);
  w.Key("kind").Int(static_cast<int>(span.kind));
  w.Key("startTimeUnixNano").Int64String(span.start_unix_nano);
  w.Key("endTimeUnixNano").Int64String(span.end_unix_nano);
  w.Key("attributes").Attributes(span.attributes);
  if (!span.events.empty()) {
    w.Key("events").Raw("[");
    for (size_t i = 0; i < span.events.size(); ++i) {
      const auto& event = span.events[i];
      w.Raw(i == 0 ? "{" : ",{").Key("timeUnixNano").Int64String(event.unix_nano);
      w.Key("name").String(event.name).Key("attributes").Attributes(event.attributes).Raw("}");
    }
    w.Raw("]");
  }
  w.Key("status").Raw("{").Key("code").Int(static_cast<int>(span.status));
  if (!span.status_message.empty()) w.Key("message").String(span.status_message);
  w.Raw("}}");
}

}  // namespace

std::string EncodeOtlpJson(const ProviderOptions& resource, const std::vector<SpanData>& spans) {
  Writer w;
  w.out().reserve(512 + 640 * spans.size());
  w.Raw("{").Key("resourceSpans").Raw("[{").Key("resource").Raw("{").Key("attributes").Raw("[");
  w.Attribute("service.name", resource.service_name);
  for (const auto& [key, value] : resource.resource_attributes) {
    // OTEL_SERVICE_NAME wins over a service.name in OTEL_RESOURCE_ATTRIBUTES (SDK spec).
    if (key != "service.name") w.Attribute(key, value);
  }
  w.Raw("]}").Key("scopeSpans").Raw("[{").Key("scope").Raw("{").Key("name").String(kScopeName);
  w.Raw("}").Key("spans").Raw("[");
  for (size_t i = 0; i < spans.size(); ++i) {
    if (i > 0) w.Raw(",");
    WriteSpan(spans[i], w);
  }
  w.Raw("]}]}]}");
  return std::move(w.out());
}

}  // namespace flightdeck::trace
