#include "services/health/recorder.h"

#include "common/clock/timestamps.h"
#include "common/log/log.h"
#include "common/metrics/metrics.h"
#include "common/text/utf8.h"

namespace flightdeck::health {
namespace {

constexpr size_t kRecentResults = 10;

// What a target answered (a gRPC status message, a Redis reply, a PostgreSQL server's error in
// its own encoding) may hold any bytes; a result is a proto string and jsonb, which take neither
// bytes that are not UTF-8 nor a NUL. Made storable here, where every kind's outcome passes: one
// such answer used to fail the write of the whole batch of results it was in.
v1::ProbeResult ToResult(Clock::TimePoint at, const ProbeOutcome& o) {
  v1::ProbeResult r;
  SetTimestamp(r.mutable_at(), at);
  r.set_ok(o.ok);
  r.set_latency_ms(o.latency_ms);
  r.set_error(text::ToStorableText(o.error));
  r.set_status_code(o.status_code);
  r.set_detail(text::ToStorableText(o.detail));
  return r;
}

}  // namespace

ResultRecorder::ResultRecorder(HealthStore& store, Options options, metrics::Registry* metrics)
    : store_(store), options_(options) {
  if (metrics != nullptr) {
    probes_total_ = &metrics->AddCounter("flightdeck_health_probes_total",
                                         "Probe results counted, by kind and result.", {"kind", "result"});
  }
}

ResultRecorder::~ResultRecorder() { Stop(); }

void ResultRecorder::Adopt(const TrackedTarget& target, const ThresholdState& state,
                           const std::vector<v1::ProbeResult>& recent) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = targets_.find(target.name);
  if (it != targets_.end()) {
    it->second.target = target;
    return;
  }
  Entry& e = targets_[target.name];
  e.target = target;
  e.state = state;
  e.recent = recent;
}

void ResultRecorder::Drop(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  targets_.erase(name);
}

bool ResultRecorder::Tracks(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  return targets_.count(name) > 0;
}

bool ResultRecorder::StateOf(const std::string& name, ThresholdState* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = targets_.find(name);
  if (it == targets_.end()) return false;
  *out = it->second.state;
  return true;
}

void ResultRecorder::Record(const std::string& name, Clock::TimePoint started, const ProbeOutcome& outcome) {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = targets_.find(name);
    if (it == targets_.end()) return;
    Entry& e = it->second;
    if (probes_total_ != nullptr) {
      probes_total_->With({e.target.kind, outcome.ok ? "success" : "failure"}).Inc();
    }
    v1::HealthStatus before = e.state.status;
    v1::ProbeResult result = ToResult(started, outcome);
    if (ApplyResult(e.target.thresholds, outcome.ok, started, &e.state)) {
      v1::HealthEvent ev;
      SetTimestamp(ev.mutable_at(), started);
      ev.set_kind("TARGET");
      ev.set_target(name);
      ev.set_service(e.target.service);
      ev.set_environment(e.target.environment);
      ev.set_from(before);
      ev.set_to(e.state.status);
      if (outcome.ok) {
        ev.set_reason(std::to_string(e.state.consecutive_successes) + " consecutive successes");
      } else {
        ev.set_reason(std::to_string(e.state.consecutive_failures) + " consecutive failures: " +
                      result.error());
      }
      events_.push_back(std::move(ev));
      urgent_ = wake = true;
    }
    e.recent.insert(e.recent.begin(), result);
    if (e.recent.size() > kRecentResults) e.recent.resize(kRecentResults);
    e.dirty = true;
    if (started > e.updated_at) e.updated_at = started;

    long long minute = MinuteOf(started);
    MinuteRow& row = ring_[{name, minute}];
    row.minute = minute;
    ++row.probes;
    if (outcome.ok) ++row.successes;
    ++row.latency[LatencyBucket(outcome.latency_ms)];
  }
  if (wake) cv_.notify_all();
}

grpc::Status ResultRecorder::Flush() {
  std::lock_guard<std::mutex> flush_lock(flush_mu_);
  std::vector<StateUpdate> states;
  std::vector<RingIncrement> ring;
  std::vector<v1::HealthEvent> events;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [name, e] : targets_) {
      if (!e.dirty) continue;
      StateUpdate u;
      u.target = name;
      u.state = e.state;
      if (!e.recent.empty()) u.last_result = e.recent.front();
      u.recent = e.recent;
      u.updated_at = e.updated_at;
      states.push_back(std::move(u));
      e.dirty = false;
    }
    for (auto& [key, row] : ring_) ring.push_back({key.first, row});
    ring_.clear();
    events.swap(events_);
    urgent_ = false;
  }
  if (states.empty() && ring.empty() && events.empty()) return grpc::Status::OK;
  grpc::Status s = store_.WriteBatch(states, ring, events);
  if (s.ok()) return s;
  log::Warn("health: writing probe results failed; keeping them for the next flush",
            {{"error", s.error_message()}, {"states", static_cast<long long>(states.size())}});
  // Put the batch back, merged with whatever arrived meanwhile.
  std::lock_guard<std::mutex> lock(mu_);
  for (const StateUpdate& u : states) {
    auto it = targets_.find(u.target);
    if (it != targets_.end()) it->second.dirty = true;
  }
  for (const RingIncrement& r : ring) {
    MinuteRow& row = ring_[{r.target, r.row.minute}];
    row.minute = r.row.minute;
    row.probes += r.row.probes;
    row.successes += r.row.successes;
    for (int i = 0; i < kLatencyBuckets; ++i) row.latency[i] += r.row.latency[i];
  }
  events_.insert(events_.begin(), events.begin(), events.end());
  return s;
}

void ResultRecorder::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void ResultRecorder::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  (void)Flush();
}

void ResultRecorder::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, options_.flush_interval, [this] { return stopping_ || urgent_; });
    if (stopping_) break;
    lock.unlock();
    (void)Flush();
    lock.lock();
  }
}

}  // namespace flightdeck::health
