// OTLP/HTTP JSON encoding of ExportTraceServiceRequest
// (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding), written as text into one
// string. Through an nlohmann tree (built, dumped and freed per batch) a span took about 9x as
// long, and tracing every request cost twice the throughput it does now (bench/README.md,
// bench/tracing).

#include <charconv>
#include <cmath>
#include <string_view>

#include "common/protojson/json_text.h"
#include "common/trace/internal.h"
#include "common/trace/trace.h"

namespace flightdeck::trace {
namespace {

constexpr char kScopeName[] = "flightdeck";
constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";  // U+FFFD

// The length of the well-formed UTF-8 sequence at the start of `s` (Unicode's table 3-7: no
// overlong forms, no surrogates, nothing above U+10FFFF), or 0.
size_t Utf8SequenceLength(std::string_view s) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const auto continuation = [&](size_t i) { return i < s.size() && (byte(i) & 0xC0) == 0x80; };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return continuation(1) ? 2 : 0;
  if (lead >= 0xE0 && lead <= 0xEF) {
    if (!continuation(1) || !continuation(2)) return 0;
    if (lead == 0xE0 && byte(1) < 0xA0) return 0;   // overlong
    if (lead == 0xED && byte(1) > 0x9F) return 0;   // a surrogate
    return 3;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    if (!continuation(1) || !continuation(2) || !continuation(3)) return 0;
    if (lead == 0xF0 && byte(1) < 0x90) return 0;   // overlong
    if (lead == 0xF4 && byte(1) > 0x8F) return 0;   // above U+10FFFF
    return 4;
  }
  return 0;
}

// Writes the request straight into one string. Span names, attribute values and status
// messages may carry bytes from requests: a byte that is not part of well-formed UTF-8 is
// written as U+FFFD rather than failing the whole batch.
class Writer {
 public:
  std::string& text() { return text_; }

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
    size_t valid = 0;
    while (valid < s.size()) {
      size_t n = Utf8SequenceLength(s.substr(valid));
      if (n == 0) break;
      valid += n;
    }
    if (valid == s.size()) {
      protojson::AppendJsonString(s, &text_);
      return *this;
    }
    std::string repaired(s.substr(0, valid));
    for (size_t i = valid; i < s.size();) {
      size_t n = Utf8SequenceLength(s.substr(i));
      if (n == 0) {
        repaired += kReplacementCharacter;
        ++i;
      } else {
        repaired.append(s, i, n);
        i += n;
      }
    }
    protojson::AppendJsonString(repaired, &text_);
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
  w.text().reserve(512 + 640 * spans.size());
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
  return std::move(w.text());
}

}  // namespace flightdeck::trace
