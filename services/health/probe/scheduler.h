#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/clock/clock.h"
#include "services/health/probe/probe.h"

// Runs each scheduled target's probe once per period, spread over the period so that targets
// registered together do not fire together, and measures its own lateness.
namespace flightdeck::health {

// Spreading: a target's probes fall on instants t with (t - epoch) mod period == Phase(name,
// period), where the phase is FNV-1a 64 of the name modulo the period in milliseconds. The
// first probe is the first such instant at or after `not_before` (registration + initial
// delay, or the moment this replica took the target over).
std::chrono::milliseconds Phase(const std::string& name, std::chrono::milliseconds period);
Clock::TimePoint FirstDue(const std::string& name, std::chrono::milliseconds period,
                          Clock::TimePoint not_before);

struct ScheduledTarget {
  std::string name;
  ProbeSpec spec;
  std::chrono::milliseconds period{10000};
  Clock::TimePoint not_before;
};

struct LatenessSummary {
  long long probes = 0;  // probes started since the last Reset
  double p50_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
};

class Scheduler {
 public:
  // `due`: when the probe should have started; `started`: when it did.
  using ResultSink = std::function<void(const std::string& name, Clock::TimePoint due,
                                        Clock::TimePoint started, const ProbeOutcome& outcome)>;
  // Due times are on the wall clock (`clock`, SystemClock when null; tests pass a FakeClock).
  // The scheduler sleeps on the steady clock for at most kMaxSleep at a time and re-reads the
  // wall clock when it wakes: a step forward runs each target's missed probe once, a step back
  // shifts every due time back by the step, so that neither bursts nor stalls the probes.
  Scheduler(Prober& prober, ResultSink sink, const Clock* clock = nullptr);
  ~Scheduler();
  void Start();
  void Stop();
  // Adds or replaces (settings changed: the next probe follows the new period).
  void Upsert(const ScheduledTarget& target);
  void Remove(const std::string& name);
  size_t size() const;
  // Lateness (started - due) percentiles over the probes since the last call with reset=true.
  LatenessSummary Lateness(bool reset = false);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flightdeck::health
