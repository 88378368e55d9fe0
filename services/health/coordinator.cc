#include "services/health/coordinator.h"

#include <algorithm>

#include "common/clock/timestamps.h"
#include "common/log/log.h"
#include "services/health/probe/scheduler.h"
#include "services/health/target.h"

namespace flightdeck::health {
namespace {

constexpr int kFullReloadEvery = 30;

TrackedTarget Tracked(const v1::HealthTarget& t) {
  TrackedTarget out;
  out.name = t.name();
  out.service = t.service();
  out.environment = t.environment();
  out.role = t.role();
  out.kind = t.kind();
  out.thresholds.success = t.success_threshold();
  out.thresholds.failure = t.failure_threshold();
  return out;
}

}  // namespace

Coordinator::Coordinator(HealthStore& store, Scheduler& scheduler, ResultRecorder& recorder,
                         const Clock& clock, Options options)
    : store_(store), scheduler_(scheduler), recorder_(recorder), clock_(clock), options_(std::move(options)) {}

Coordinator::~Coordinator() { Stop(); }

void Coordinator::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void Coordinator::Stop(bool release) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!thread_.joinable() && leases_.empty() && loaded_.empty()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> tick(tick_mu_);
  std::set<int> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [shard, expiry] : leases_) all.insert(shard);
  }
  UnloadShards(all);
  if (release) {
    if (grpc::Status s = store_.Leave(options_.owner); !s.ok()) {
      log::Warn("health: giving back shard leases failed; they expire on their own",
                {{"error", s.error_message()}});
    }
  }
}

bool Coordinator::Owns(int shard) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = leases_.find(shard);
  return it != leases_.end() && clock_.Now() < it->second;
}

std::vector<int> Coordinator::OwnedShards() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<int> out;
  Clock::TimePoint now = clock_.Now();
  for (const auto& [shard, expiry] : leases_) {
    if (now < expiry) out.push_back(shard);
  }
  return out;
}

size_t Coordinator::LoadedTargets() const {
  std::lock_guard<std::mutex> lock(mu_);
  return loaded_.size();
}

void Coordinator::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    lock.unlock();
    (void)Tick();
    lock.lock();
    // Wake for the next reload, or earlier when a lease would expire before it (a failing
    // renewal must still stop the probes on time).
    Clock::TimePoint now = clock_.Now();
    Clock::TimePoint wake = now + options_.reload_interval;
    for (const auto& [shard, expiry] : leases_) wake = std::min(wake, expiry);
    auto wait = std::max(std::chrono::milliseconds(1),
                         std::chrono::duration_cast<std::chrono::milliseconds>(wake - now));
    cv_.wait_for(lock, wait, [this] { return stopping_; });
  }
}

void Coordinator::DropExpired(Clock::TimePoint now) {
  std::set<int> expired;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [shard, expiry] : leases_) {
      if (now >= expiry) expired.insert(shard);
    }
  }
  if (expired.empty()) return;
  log::Warn("health: shard leases expired before renewal; stopped probing them",
            {{"owner", options_.owner}, {"shards", static_cast<long long>(expired.size())}});
  UnloadShards(expired);
}

grpc::Status Coordinator::Tick() {
  std::lock_guard<std::mutex> tick(tick_mu_);
  Clock::TimePoint now = clock_.Now();
  DropExpired(now);
  if (!revision_known_) {
    if (grpc::Status s = store_.MaxRevision(&revision_); !s.ok()) return s;
    revision_known_ = true;
  }

  if (now >= next_lease_work_) {
    next_lease_work_ = now + options_.lease / 3;
    int live = 1;
    if (grpc::Status s = store_.Heartbeat(options_.owner, now, options_.lease, &live); !s.ok()) {
      return s;
    }
    int fair = (kShardCount + std::max(live, 1) - 1) / std::max(live, 1);

    // Our view of the expiry starts from `now`, read before the statements run.
    Clock::TimePoint expiry = now + options_.lease;
    std::vector<int> renewed;
    if (grpc::Status s = store_.RenewLeases(options_.owner, expiry, &renewed); !s.ok()) return s;
    std::set<int> lost;
    {
      std::lock_guard<std::mutex> lock(mu_);
      std::set<int> kept(renewed.begin(), renewed.end());
      for (const auto& [shard, old] : leases_) {
        if (!kept.count(shard)) lost.insert(shard);
      }
      for (int shard : renewed) {
        if (!leases_.count(shard)) taken_at_[shard] = now;  // ours again after a lapse
        leases_[shard] = expiry;
      }
    }
    UnloadShards(lost);
    // Shards renewed after our view had lapsed were unloaded: load them back.
    std::vector<int> reloaded;
    for (int shard : renewed) {
      std::lock_guard<std::mutex> lock(mu_);
      if (taken_at_[shard] == now) reloaded.push_back(shard);
    }
    if (!reloaded.empty()) LoadShards(reloaded, now);

    int owned = static_cast<int>(renewed.size());
    if (owned > fair) {
      // Give back the highest shards: shard 0 (the evaluator's) moves only when it must.
      std::sort(renewed.begin(), renewed.end());
      std::vector<int> excess(renewed.end() - (owned - fair), renewed.end());
      UnloadShards(std::set<int>(excess.begin(), excess.end()));
      if (grpc::Status s = store_.ReleaseShards(options_.owner, excess); !s.ok()) return s;
    } else if (owned < fair) {
      std::vector<int> acquired;
      if (grpc::Status s = store_.AcquireShards(options_.owner, fair - owned, now, expiry, &acquired);
          !s.ok()) {
        return s;
      }
      if (!acquired.empty()) {
        {
          std::lock_guard<std::mutex> lock(mu_);
          for (int shard : acquired) {
            leases_[shard] = expiry;
            taken_at_[shard] = now;
          }
        }
        log::Info("health: took shard leases",
                  {{"owner", options_.owner}, {"shards", static_cast<long long>(acquired.size())}});
        LoadShards(acquired, now);
      }
    }
  }

  bool full = ++reloads_ % kFullReloadEvery == 0;
  return Reload(full);
}

void Coordinator::LoadShards(const std::vector<int>& shards, Clock::TimePoint takeover) {
  std::vector<TargetRecord> records;
  if (grpc::Status s = store_.TargetsInShards(shards, &records); !s.ok()) {
    log::Warn("health: loading the targets of new shards failed; retried on the next full reload",
              {{"error", s.error_message()}});
    return;
  }
  for (const TargetRecord& r : records) Apply(r, takeover);
}

void Coordinator::UnloadShards(const std::set<int>& shards) {
  if (shards.empty()) return;
  std::vector<std::string> names;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (int shard : shards) {
      leases_.erase(shard);
      taken_at_.erase(shard);
    }
    for (const auto& [name, revision] : loaded_) {
      if (shards.count(ShardOf(name))) names.push_back(name);
    }
  }
  for (const std::string& name : names) Unload(name);
}

grpc::Status Coordinator::Reload(bool full) {
  if (full) {
    std::vector<int> owned = OwnedShards();
    std::vector<TargetRecord> records;
    if (grpc::Status s = store_.TargetsInShards(owned, &records); !s.ok()) return s;
    std::set<std::string> present;
    for (const TargetRecord& r : records) present.insert(r.target.name());
    std::vector<std::string> gone;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& [name, revision] : loaded_) {
        if (!present.count(name)) gone.push_back(name);
      }
    }
    for (const std::string& name : gone) Unload(name);
    for (const TargetRecord& r : records) {
      Clock::TimePoint floor;
      {
        std::lock_guard<std::mutex> lock(mu_);
        auto it = taken_at_.find(r.shard);
        if (it != taken_at_.end()) floor = it->second;
      }
      Apply(r, floor);
    }
    return grpc::Status::OK;
  }
  std::vector<TargetRecord> changed;
  long long max_revision = revision_;
  if (grpc::Status s = store_.ChangesSince(revision_, &changed, &max_revision); !s.ok()) return s;
  revision_ = max_revision;
  for (const TargetRecord& r : changed) {
    Clock::TimePoint floor;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = taken_at_.find(r.shard);
      if (it == taken_at_.end()) continue;  // not ours
      floor = it->second;
    }
    Apply(r, floor);
  }
  return grpc::Status::OK;
}

void Coordinator::Apply(const TargetRecord& r, Clock::TimePoint not_before_floor) {
  const std::string& name = r.target.name();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = loaded_.find(name);
    if (it != loaded_.end() && it->second == r.revision && !r.deleted) return;
    if (it == loaded_.end() && r.deleted) return;
  }
  if (r.deleted || !Owns(r.shard)) {
    Unload(name);
    return;
  }
  ScheduledTarget st;
  st.name = name;
  st.spec = ToProbeSpec(r.target);
  st.period = MillisOf(r.target.period());
  st.not_before = std::max(EarliestProbe(r.created_at, MillisOf(r.target.initial_delay())), not_before_floor);
  // A new revision is a new target (a revived name): counts start from what the store holds.
  recorder_.Drop(name);
  recorder_.Adopt(Tracked(r.target), r.state, r.recent);
  scheduler_.Upsert(st);
  std::lock_guard<std::mutex> lock(mu_);
  loaded_[name] = r.revision;
}

void Coordinator::Unload(const std::string& name) {
  scheduler_.Remove(name);
  recorder_.Drop(name);
  std::lock_guard<std::mutex> lock(mu_);
  loaded_.erase(name);
}

}  // namespace flightdeck::health
