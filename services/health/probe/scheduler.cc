#include "services/health/probe/scheduler.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <queue>
#include <thread>
#include <unordered_map>
#include <vector>

#include "services/health/probe/lateness_histogram.h"

namespace flightdeck::health {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

long long MicrosOf(Clock::TimePoint t) {
  return std::chrono::duration_cast<microseconds>(t.time_since_epoch()).count();
}

Clock::TimePoint AtMicros(long long us) {
  return Clock::TimePoint(std::chrono::duration_cast<Clock::TimePoint::duration>(microseconds(us)));
}

// The longest the scheduler sleeps before it looks at the wall clock again: how long a step of
// the clock back can go unnoticed.
constexpr milliseconds kMaxSleep{250};
// A step back smaller than this is scheduling noise, not a clock jump (the loop may read the
// clock on two threads' behalf a little out of order).
constexpr long long kJumpBackToleranceUs = 50'000;

const SystemClock kSystemClock;

// Floor division that also rounds negative quotients down.
long long FloorDiv(long long a, long long b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

bool SameSpec(const ProbeSpec& a, const ProbeSpec& b) {
  return a.kind == b.kind && a.url == b.url && a.address == b.address && a.head == b.head &&
         a.expect_status == b.expect_status && a.body_contains == b.body_contains &&
         a.max_latency == b.max_latency && a.reuse_connections == b.reuse_connections &&
         a.grpc_service == b.grpc_service &&
         a.grpc_tls == b.grpc_tls && a.grpc_tls_server_name == b.grpc_tls_server_name &&
         a.timeout == b.timeout;
}

}  // namespace

milliseconds Phase(const std::string& name, milliseconds period) {
  if (period.count() <= 0) return milliseconds(0);
  uint64_t hash = 14695981039346656037ULL;  // FNV-1a 64
  for (unsigned char c : name) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  return milliseconds(static_cast<long long>(hash % static_cast<uint64_t>(period.count())));
}

Clock::TimePoint FirstDue(const std::string& name, milliseconds period,
                          Clock::TimePoint not_before) {
  if (period.count() <= 0) return not_before;
  long long period_us = period.count() * 1000;
  long long phase_us = Phase(name, period).count() * 1000;
  long long from = MicrosOf(not_before);
  // The smallest phase + k * period that is >= not_before.
  long long k = -FloorDiv(-(from - phase_us), period_us);
  return AtMicros(phase_us + k * period_us);
}

struct Scheduler::Impl {
  struct Slot {
    ScheduledTarget target;
    bool in_use = false;
    uint32_t generation = 0;  // bumped when the timing changes: older heap entries are stale
    uint64_t flight = 0;      // the probe in flight (0: none); one at a time per target
  };
  struct Due {
    long long at_us;
    uint32_t slot;
    uint32_t generation;
    bool operator>(const Due& o) const { return at_us > o.at_us; }
  };
  // Shared with the callbacks of probes in flight, which may outlive the Scheduler.
  struct Core {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<Slot> slots;
    std::vector<uint32_t> free_slots;
    std::unordered_map<std::string, uint32_t> index;
    std::priority_queue<Due, std::vector<Due>, std::greater<Due>> heap;
    internal::LatenessHistogram lateness;
    uint64_t next_flight = 1;
    bool stopping = false;
    int sinks_running = 0;
    ResultSink sink;
  };

  struct PendingProbe {
    ProbeSpec spec;
    std::string name;
    Clock::TimePoint due;
    uint32_t slot;
    uint64_t flight;
  };

  Impl(Prober& p, ResultSink sink, const Clock& c)
      : prober(p), clock(c), core(std::make_shared<Core>()) {
    core->sink = std::move(sink);
  }

  long long NowUs() const { return MicrosOf(clock.Now()); }
  void Run();
  // The wall clock stepped back by back_us: every due time moves back by as much, so that each
  // probe comes as long after the previous one as it would have without the step.
  void ShiftBack(long long back_us);
  void Launch(PendingProbe probe);
  void Schedule(uint32_t slot, Clock::TimePoint not_before) {
    Slot& s = core->slots[slot];
    s.generation++;
    auto due = FirstDue(s.target.name, s.target.period, not_before);
    core->heap.push(Due{MicrosOf(due), slot, s.generation});
  }

  Prober& prober;
  const Clock& clock;
  std::shared_ptr<Core> core;
  std::thread thread;
  bool started = false;
};

void Scheduler::Impl::Run() {
  std::unique_lock<std::mutex> lock(core->mu);
  std::vector<PendingProbe> batch;
  long long last_now = NowUs();
  while (!core->stopping) {
    long long now = NowUs();
    if (now + kJumpBackToleranceUs < last_now) ShiftBack(last_now - now);
    last_now = now;
    while (!core->heap.empty() && core->heap.top().at_us <= now) {
      Due due = core->heap.top();
      core->heap.pop();
      Slot& s = core->slots[due.slot];
      if (!s.in_use || s.generation != due.generation) continue;
      long long period_us = s.target.period.count() * 1000;
      long long next = due.at_us + period_us;
      // After a stall longer than a period, skip the missed instants rather than burst them.
      if (next <= now) next = MicrosOf(FirstDue(s.target.name, s.target.period, AtMicros(now + 1)));
      core->heap.push(Due{next, due.slot, due.generation});
      if (s.flight != 0) continue;  // the previous probe still runs (timeout >= period)
      s.flight = core->next_flight++;
      batch.push_back({s.target.spec, s.target.name, AtMicros(due.at_us), due.slot, s.flight});
    }
    if (!batch.empty()) {
      // Submitting outside the lock: a stopped prober completes the probe on this thread.
      lock.unlock();
      for (auto& launch : batch) Launch(std::move(launch));
      batch.clear();
      lock.lock();
      continue;
    }
    // A relative wait on the steady clock: an absolute wall-clock deadline would oversleep by
    // any step back of the clock.
    microseconds sleep = kMaxSleep;
    if (!core->heap.empty()) sleep = std::min(sleep, microseconds(core->heap.top().at_us - now));
    core->cv.wait_for(lock, sleep);
  }
}

void Scheduler::Impl::ShiftBack(long long back_us) {
  std::vector<Due> entries;
  entries.reserve(core->heap.size());
  while (!core->heap.empty()) {
    entries.push_back(core->heap.top());
    core->heap.pop();
  }
  for (Due& due : entries) {
    const Slot& s = core->slots[due.slot];
    if (!s.in_use || s.generation != due.generation) continue;  // stale: drop it
    // Not snapped back onto the phase: time the loop did not see pass (between the step and
    // its wake-up) would otherwise add up to a period to the wait.
    due.at_us -= back_us;
    core->heap.push(due);
  }
}

void Scheduler::Impl::Launch(PendingProbe probe) {
  std::shared_ptr<Core> c = core;
  prober.Submit(probe.spec, [c, name = std::move(probe.name), due = probe.due, slot = probe.slot,
                             flight = probe.flight](const ProbeOutcome& o) {
    std::unique_lock<std::mutex> lock(c->mu);
    Slot& s = c->slots[slot];
    bool current = s.in_use && s.flight == flight;
    if (current) s.flight = 0;
    if (o.error == "prober stopped") return;
    c->lateness.Add(std::chrono::duration<double, std::milli>(o.started - due).count());
    if (!current || c->stopping) return;  // removed meanwhile, or nobody listens any more
    ++c->sinks_running;
    lock.unlock();
    c->sink(name, due, o.started, o);
    lock.lock();
    // Only Stop waits for the sinks; waking the scheduler thread (on the same condition) after
    // every probe would cost it a futex wake and a pass over the heap per probe.
    if (--c->sinks_running == 0 && c->stopping) c->cv.notify_all();
  });
}

Scheduler::Scheduler(Prober& prober, ResultSink sink, const Clock* clock)
    : impl_(std::make_unique<Impl>(prober, std::move(sink), clock != nullptr ? *clock : kSystemClock)) {}

Scheduler::~Scheduler() { Stop(); }

void Scheduler::Start() {
  std::lock_guard<std::mutex> lock(impl_->core->mu);
  if (impl_->started || impl_->core->stopping) return;
  impl_->started = true;
  impl_->thread = std::thread([this] { impl_->Run(); });
}

void Scheduler::Stop() {
  std::unique_lock<std::mutex> lock(impl_->core->mu);
  impl_->core->stopping = true;
  impl_->core->cv.notify_all();
  lock.unlock();
  if (impl_->thread.joinable()) impl_->thread.join();
  lock.lock();
  // After Stop returns the sink is never called again.
  impl_->core->cv.wait(lock, [this] { return impl_->core->sinks_running == 0; });
}

void Scheduler::Upsert(const ScheduledTarget& target) {
  std::lock_guard<std::mutex> lock(impl_->core->mu);
  Impl::Core& core = *impl_->core;
  auto it = core.index.find(target.name);
  if (it != core.index.end()) {
    Impl::Slot& s = core.slots[it->second];
    bool timing_changed =
        s.target.period != target.period || s.target.not_before != target.not_before;
    if (!timing_changed && SameSpec(s.target.spec, target.spec)) return;
    s.target = target;
    if (timing_changed) {
      impl_->Schedule(it->second, std::max(target.not_before, impl_->clock.Now()));
      core.cv.notify_all();
    }
    return;
  }
  uint32_t slot;
  if (!core.free_slots.empty()) {
    slot = core.free_slots.back();
    core.free_slots.pop_back();
  } else {
    slot = static_cast<uint32_t>(core.slots.size());
    core.slots.emplace_back();
  }
  Impl::Slot& s = core.slots[slot];
  s.target = target;
  s.in_use = true;
  s.flight = 0;
  core.index.emplace(target.name, slot);
  impl_->Schedule(slot, std::max(target.not_before, impl_->clock.Now()));
  core.cv.notify_all();
}

void Scheduler::Remove(const std::string& name) {
  std::lock_guard<std::mutex> lock(impl_->core->mu);
  Impl::Core& core = *impl_->core;
  auto it = core.index.find(name);
  if (it == core.index.end()) return;
  Impl::Slot& s = core.slots[it->second];
  s.in_use = false;
  s.generation++;
  s.flight = 0;
  s.target = ScheduledTarget{};
  core.free_slots.push_back(it->second);
  core.index.erase(it);
}

size_t Scheduler::size() const {
  std::lock_guard<std::mutex> lock(impl_->core->mu);
  return impl_->core->index.size();
}

LatenessSummary Scheduler::Lateness(bool reset) {
  std::lock_guard<std::mutex> lock(impl_->core->mu);
  auto& h = impl_->core->lateness;
  LatenessSummary summary;
  summary.probes = h.count();
  summary.p50_ms = h.Quantile(0.50);
  summary.p99_ms = h.Quantile(0.99);
  summary.max_ms = h.max_ms();
  if (reset) h.Reset();
  return summary;
}

}  // namespace flightdeck::health
