#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace flightdeck::metrics {
class Registry;
}
namespace flightdeck::config {
class Env;
}

namespace flightdeck::trace {

// W3C Trace Context (https://www.w3.org/TR/trace-context/).
struct SpanContext {
  std::array<uint8_t, 16> trace_id{};
  std::array<uint8_t, 8> span_id{};
  uint8_t flags = 0;       // bit 0: sampled
  std::string tracestate;  // carried as received (already validated)
  bool remote = false;

  bool IsValid() const;  // non-zero trace and span ids
  bool sampled() const { return (flags & 0x01) != 0; }
  std::string TraceIdHex() const;
  std::string SpanIdHex() const;
};

// Parses a traceparent header. Invalid input (wrong length or characters, version ff, all-zero
// ids, a version-00 header with trailing data) yields nullopt: the caller then starts a new
// trace, as the spec says. An invalid tracestate is dropped, the traceparent is kept.
std::optional<SpanContext> ParseTraceparent(std::string_view traceparent,
                                            std::string_view tracestate = {});
std::string FormatTraceparent(const SpanContext& context);  // "00-<trace>-<span>-<flags>"

// OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG semantics.
class Sampler {
 public:
  enum class Kind {
    kAlwaysOn,
    kAlwaysOff,
    kTraceIdRatio,
    kParentBasedAlwaysOn,
    kParentBasedAlwaysOff,
    kParentBasedTraceIdRatio
  };
  Sampler(Kind kind = Kind::kParentBasedAlwaysOn, double ratio = 1.0);
  // name as in OTEL_TRACES_SAMPLER; arg as in OTEL_TRACES_SAMPLER_ARG (ratio, default 1.0).
  // Throws config::ConfigError naming the variable on bad values.
  static Sampler FromEnv(const std::string& name, const std::string& arg);
  // parent: the parent context, if any (local or remote).
  bool ShouldSample(const SpanContext* parent, const std::array<uint8_t, 16>& trace_id) const;
  Kind kind() const { return kind_; }
  double ratio() const { return ratio_; }

 private:
  Kind kind_;
  double ratio_;
};

enum class SpanKind { kInternal = 1, kServer = 2, kClient = 3, kProducer = 4, kConsumer = 5 };
enum class StatusCode { kUnset = 0, kOk = 1, kError = 2 };

using AttributeValue = std::variant<std::string, long long, double, bool>;
using Attributes = std::vector<std::pair<std::string, AttributeValue>>;

// Everything the exporter needs about one ended span.
struct SpanData {
  SpanContext context;
  std::array<uint8_t, 8> parent_span_id{};  // zero for a root span
  std::string name;
  SpanKind kind = SpanKind::kInternal;
  uint64_t start_unix_nano = 0;
  uint64_t end_unix_nano = 0;
  Attributes attributes;
  struct Event {
    std::string name;
    uint64_t unix_nano = 0;
    Attributes attributes;
  };
  std::vector<Event> events;
  StatusCode status = StatusCode::kUnset;
  std::string status_message;
};

// A span, ended when End() is called or it is destroyed. Move-only.
// With Activation::kActivate it is the current span of the constructing thread until it ends;
// spans activated on one thread must end in reverse order on that thread (RAII scopes do).
class Span {
 public:
  enum class Activation { kActivate, kDetached };

  // Child of the thread's current span, or a new root trace when there is none.
  explicit Span(std::string name, SpanKind kind = SpanKind::kInternal,
                Activation activation = Activation::kActivate);
  // Child of an explicit parent (remote from a header, or a span living on another thread);
  // an invalid parent starts a new root trace.
  Span(std::string name, SpanKind kind, const SpanContext& parent,
       Activation activation = Activation::kActivate);
  Span(Span&& other) noexcept;
  Span& operator=(Span&&) = delete;
  Span(const Span&) = delete;
  ~Span();

  void SetAttribute(std::string key, AttributeValue value);
  void AddEvent(std::string name, Attributes attributes = {});
  void SetStatus(StatusCode code, std::string message = {});
  void End();

  const SpanContext& context() const;
  // Sampled, not ended, and the process exports spans: attributes are worth building.
  bool recording() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The context of the thread's current span (invalid when none).
SpanContext CurrentContext();

// Makes a context current on this thread for a scope without owning a span, so that work done
// on a thread pool on behalf of a span (log lines, child spans) joins its trace.
class ScopedContext {
 public:
  explicit ScopedContext(const SpanContext& context);
  ~ScopedContext();
  ScopedContext(const ScopedContext&) = delete;
  ScopedContext& operator=(const ScopedContext&) = delete;

 private:
  uint64_t entry_id_;  // this scope's entry in the thread's context stack
};

// Receives ended, sampled spans. Implementations must never block the caller.
class SpanProcessor {
 public:
  virtual ~SpanProcessor() = default;
  virtual void OnEnd(SpanData span) = 0;
  virtual void Shutdown() = 0;  // flush what is queued, bounded in time
};

struct ProviderOptions {
  std::string service_name;                 // OTEL_SERVICE_NAME or the process name
  Attributes resource_attributes;           // OTEL_RESOURCE_ATTRIBUTES
  Sampler sampler;                          // OTEL_TRACES_SAMPLER(_ARG)
  std::optional<std::string> traces_url;    // OTEL_EXPORTER_OTLP_ENDPOINT + "/v1/traces", or
                                            // OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as given
  std::vector<std::pair<std::string, std::string>> headers;  // OTEL_EXPORTER_OTLP_(TRACES_)HEADERS
  std::chrono::milliseconds schedule_delay{5000};            // OTEL_BSP_SCHEDULE_DELAY
  std::chrono::milliseconds export_timeout{10000};           // OTEL_EXPORTER_OTLP_TIMEOUT
  size_t max_queue_size = 2048;                              // OTEL_BSP_MAX_QUEUE_SIZE
  size_t max_export_batch_size = 512;                        // OTEL_BSP_MAX_EXPORT_BATCH_SIZE
  bool disabled = false;                                     // OTEL_SDK_DISABLED
};

// Reads the OTEL_* variables; throws config::ConfigError naming the variable on bad values.
// OTEL_EXPORTER_OTLP_PROTOCOL must be http/json (the only protocol implemented).
ProviderOptions OptionsFromEnv(const config::Env& env, const std::string& default_service_name);

// The process-wide tracer provider (one of the two allowed globals). Without Init, spans are
// created and propagated but never exported. metrics (optional) gets
// flightdeck_trace_spans_exported_total and flightdeck_trace_spans_dropped_total.
void InitProvider(ProviderOptions options, metrics::Registry* metrics = nullptr);
// Replaces the processor (tests use an in-memory one).
void SetProcessorForTesting(std::shared_ptr<SpanProcessor> processor, Sampler sampler = Sampler());
// Flushes, bounded by export_timeout. Call it before exit: spans still queued then are lost.
void ShutdownProvider();

// OTLP/HTTP JSON body for a batch of spans (the exporter's wire format; exposed for tests).
std::string EncodeOtlpJson(const ProviderOptions& resource, const std::vector<SpanData>& spans);

}  // namespace flightdeck::trace
