// The process-wide tracer provider: options, sampler and span processor.

#include "common/metrics/metrics.h"
#include "common/trace/batch_processor.h"
#include "common/trace/internal.h"
#include "common/trace/trace.h"

namespace flightdeck::trace {
namespace internal {
namespace {

// One of the two globals STYLE.md allows. Read on every span start and end, so it is an
// immutable snapshot swapped atomically rather than a mutex-guarded object. Never destroyed:
// gRPC and pool threads may still end spans while static destructors run at exit.
std::shared_ptr<const Provider>& ProviderSlot() {
  static auto* slot = new std::shared_ptr<const Provider>(std::make_shared<const Provider>());
  return *slot;
}

std::shared_ptr<const Provider> Swap(std::shared_ptr<const Provider> next) {
  return std::atomic_exchange(&ProviderSlot(), std::move(next));
}

void ShutdownProcessorOf(const std::shared_ptr<const Provider>& provider) {
  if (provider && provider->processor) provider->processor->Shutdown();
}

}  // namespace

std::shared_ptr<const Provider> CurrentProvider() { return std::atomic_load(&ProviderSlot()); }

}  // namespace internal

void InitProvider(ProviderOptions options, metrics::Registry* metrics) {
  auto provider = std::make_shared<internal::Provider>();
  if (!options.disabled && options.traces_url) {
    BatchSpanProcessor::Counters counters;
    if (metrics != nullptr) {
      counters.exported = &metrics
                               ->AddCounter("flightdeck_trace_spans_exported_total",
                                            "Spans accepted by the OTLP endpoint.")
                               .With({});
      counters.dropped = &metrics
                              ->AddCounter("flightdeck_trace_spans_dropped_total",
                                           "Spans lost: queue full, export failed or shut down.")
                              .With({});
    }
    provider->processor = std::make_shared<BatchSpanProcessor>(options, counters);
  }
  provider->options = std::move(options);
  internal::ShutdownProcessorOf(internal::Swap(std::move(provider)));
}

void SetProcessorForTesting(std::shared_ptr<SpanProcessor> processor, Sampler sampler) {
  auto provider = std::make_shared<internal::Provider>();
  provider->options = internal::CurrentProvider()->options;
  provider->options.sampler = sampler;
  provider->processor = std::move(processor);
  internal::Swap(std::move(provider));
}

void ShutdownProvider() {
  auto previous = internal::CurrentProvider();
  auto next = std::make_shared<internal::Provider>();
  next->options = previous->options;
  internal::ShutdownProcessorOf(internal::Swap(std::move(next)));
}

}  // namespace flightdeck::trace
