#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <grpcpp/support/status.h>

#include "common/clock/clock.h"
#include "services/health/probe/probe.h"
#include "services/health/store.h"
#include "services/health/thresholds.h"

namespace flightdeck::metrics {
class Registry;
class Counter;
template <typename T>
class Family;
}  // namespace flightdeck::metrics

// Turns probe results into target state, ring rows and TARGET events.
//
// Writes are batched: results accumulate in memory (per target state, per target-minute ring
// increments) and are flushed every flush_interval (FLIGHTDECK_HEALTH_FLUSH_INTERVAL, default
// 2s) in one transaction of multi-row upserts. At thousands of probes per second a row write per
// probe would cost more than the probes; a batch costs a few statements whatever its size. A
// transition wakes the flusher at once, so state changes reach the database (and watchers)
// without waiting for the interval; a crash loses at most one interval of ring counts, never a
// durable transition that was already flushed.
namespace flightdeck::health {

struct TrackedTarget {
  std::string name;
  std::string service;
  std::string environment;
  std::string role;
  std::string kind;
  Thresholds thresholds;
};

class ResultRecorder {
 public:
  struct Options {
    std::chrono::milliseconds flush_interval{2000};
  };
  ResultRecorder(HealthStore& store, Options options, metrics::Registry* metrics = nullptr);
  ~ResultRecorder();

  // Starts counting a target's results from `state` (what the store holds). Replaces settings
  // of a target already tracked, keeping its counts.
  void Adopt(const TrackedTarget& target, const ThresholdState& state,
             const std::vector<v1::ProbeResult>& recent);
  // Stops counting (the shard moved away or the target was deleted); a result still in flight
  // is dropped.
  void Drop(const std::string& name);
  bool Tracks(const std::string& name) const;

  // Counts one result. Quick and non-blocking beyond a mutex: called on probe engine threads.
  void Record(const std::string& name, Clock::TimePoint started, const ProbeOutcome& outcome);

  // Writes what accumulated; on failure the batch is kept and retried on the next flush.
  grpc::Status Flush();
  void Start();
  void Stop();  // flushes

  // Current in-memory state of a tracked target (tests).
  bool StateOf(const std::string& name, ThresholdState* out) const;

 private:
  struct Entry {
    TrackedTarget target;
    ThresholdState state;
    std::vector<v1::ProbeResult> recent;  // newest first
    bool dirty = false;
    Clock::TimePoint updated_at;
  };
  void Loop();

  HealthStore& store_;
  Options options_;
  metrics::Family<metrics::Counter>* probes_total_ = nullptr;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Entry> targets_;
  std::map<std::pair<std::string, long long>, MinuteRow> ring_;
  std::vector<v1::HealthEvent> events_;
  bool urgent_ = false;
  bool stopping_ = false;
  std::thread thread_;
  std::mutex flush_mu_;  // one flush at a time
};

}  // namespace flightdeck::health
