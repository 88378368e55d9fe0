#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/support/status.h>

#include "common/clock/clock.h"
#include "services/health/recorder.h"
#include "services/health/store.h"

namespace flightdeck::health {

class Scheduler;

// Shares the targets among replicas (DESIGN.md §2, issue 4). Targets hash into 64 shards
// (target.h); each shard is leased in health.shard_leases by one replica at a time. Every
// lease/3 a replica heartbeats, renews its leases, takes unowned or expired shards up to its
// fair share (ceil(64 / live replicas)) and gives back shards above it. It stops probing a
// shard the moment its own view of the lease expiry passes: that view is taken from the clock
// *before* the renewal statement, so it never outlasts the lease in the database, and another
// replica only takes a shard whose lease has expired. Probe instants are a fixed phase of the
// target's period (scheduler.h), so a target that changes hands keeps its spacing.
//
// The targets of owned shards are loaded into the Scheduler and the ResultRecorder; changes
// arrive by revision every reload_interval, with a full reconciliation every 30 reloads
// because a revision taken by a transaction that commits late can be skipped by the
// incremental read.
class Coordinator {
 public:
  struct Options {
    std::string owner;                          // unique per replica, e.g. host:pid
    std::chrono::milliseconds lease{15000};     // FLIGHTDECK_HEALTH_LEASE
    std::chrono::milliseconds reload_interval{1000};
  };
  Coordinator(HealthStore& store, Scheduler& scheduler, ResultRecorder& recorder, const Clock& clock,
              Options options);
  ~Coordinator();

  void Start();
  // A clean stop gives the leases back so that others take over at once. release=false
  // simulates a crash (tests): the leases simply expire.
  void Stop(bool release = true);

  // One round of lease work and target loading (the loop calls it; tests may too).
  grpc::Status Tick();

  // Whether this replica may act for the shard now (its own view of the lease).
  bool Owns(int shard) const;
  std::vector<int> OwnedShards() const;
  size_t LoadedTargets() const;

 private:
  void Loop();
  void DropExpired(Clock::TimePoint now);
  void LoadShards(const std::vector<int>& shards, Clock::TimePoint takeover);
  void UnloadShards(const std::set<int>& shards);
  grpc::Status Reload(bool full);
  void Apply(const TargetRecord& record, Clock::TimePoint not_before_floor);
  void Unload(const std::string& name);

  HealthStore& store_;
  Scheduler& scheduler_;
  ResultRecorder& recorder_;
  const Clock& clock_;
  Options options_;

  std::mutex tick_mu_;  // one Tick at a time
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
  std::map<int, Clock::TimePoint> leases_;          // shard -> our view of its expiry
  std::map<int, Clock::TimePoint> taken_at_;        // shard -> when we took it
  std::map<std::string, long long> loaded_;         // target -> revision in the scheduler
  long long revision_ = 0;
  bool revision_known_ = false;
  int reloads_ = 0;
  Clock::TimePoint next_lease_work_;
};

}  // namespace flightdeck::health
