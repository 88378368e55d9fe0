#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>

#include "common/trace/trace.h"

namespace flightdeck::metrics {
class Counter;
}

namespace flightdeck::trace {

struct ExportCounters {
  metrics::Counter* exported = nullptr;  // flightdeck_trace_spans_exported_total
  metrics::Counter* dropped = nullptr;   // flightdeck_trace_spans_dropped_total
};

// The default processor: queues ended spans and POSTs them as OTLP/HTTP JSON from one
// background thread. The queue is bounded and a failed POST is not retried, so a dead collector
// costs the service nothing but the lost spans, which are counted.
class BatchSpanProcessor : public SpanProcessor {
 public:
  using Counters = ExportCounters;

  // options.traces_url must be set.
  BatchSpanProcessor(ProviderOptions options, Counters counters = {});
  ~BatchSpanProcessor() override;

  // A mutex-protected push and, at a full batch, a notify: never waits for the network.
  void OnEnd(SpanData span) override;
  // Sends what is queued, giving up after options.export_timeout; later spans are dropped.
  void Shutdown() override;

  uint64_t exported() const { return exported_.load(); }
  uint64_t dropped() const { return dropped_.load(); }

 private:
  class HttpSender;  // libcurl, used by the worker thread only

  void Run();
  // Sends up to one batch from the queue; `lock` is released while the POST runs.
  void ExportBatch(std::unique_lock<std::mutex>& lock, HttpSender& sender,
                   std::chrono::milliseconds timeout);
  void CountExported(uint64_t n);
  void CountDropped(uint64_t n);

  const ProviderOptions options_;
  const Counters counters_;
  std::atomic<uint64_t> exported_{0};
  std::atomic<uint64_t> dropped_{0};

  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<SpanData> queue_;  // guarded by mu_
  bool stopping_ = false;       // guarded by mu_
  std::chrono::steady_clock::time_point stop_requested_;  // guarded by mu_
  bool joined_ = false;         // guarded by shutdown_mu_
  std::mutex shutdown_mu_;
  std::thread worker_;
};

}  // namespace flightdeck::trace
