#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <grpcpp/support/status.h>

#include "common/clock/clock.h"
#include "common/secrets/secrets.h"
#include "flightdeck/v1/health.pb.h"
#include "services/health/result_ring.h"
#include "services/health/thresholds.h"

namespace flightdeck::db {
class Pool;
}
namespace flightdeck::jobs {
class Queue;
}

// The health schema's SQL (migrations/health/0002_targets.sql). Every call maps database errors
// to a grpc::Status; no exception leaves this file.
namespace flightdeck::health {

inline constexpr char kAlertJob[] = "health_alert";

struct TargetRecord {
  v1::HealthTarget target;  // settings with the real URL, plus state fields when loaded
  int shard = 0;
  long long revision = 0;
  bool deleted = false;
  Clock::TimePoint created_at;
  ThresholdState state;
  std::vector<v1::ProbeResult> recent;  // newest first, up to 10
};

// One target's state after a batch of results.
struct StateUpdate {
  std::string target;
  ThresholdState state;
  v1::ProbeResult last_result;
  std::vector<v1::ProbeResult> recent;  // newest first
  Clock::TimePoint updated_at;
};

struct RingIncrement {
  std::string target;
  MinuteRow row;
};

struct ServiceHealthRow {
  std::string service;
  std::string environment;
  v1::HealthStatus status = v1::UNKNOWN;
  Clock::TimePoint since;
  std::string reason;
  bool alert_firing = false;
};

struct EventFilter {
  std::string service;
  std::string environment;
  std::string kind;
};

class HealthStore {
 public:
  // `jobs` schedules alert deliveries with the event that records them (may be null: record only).
  // `keys` seal the credentials in POSTGRES/REDIS target URLs (target_secrets.h); null or empty:
  // no master key, and targets whose URL has a password are refused.
  HealthStore(db::Pool& pool, jobs::Queue* jobs, const secrets::KeyRing* keys = nullptr);

  // Targets. Create revives a soft-deleted name; ALREADY_EXISTS on a live one.
  grpc::Status CreateTarget(const v1::HealthTarget& target, const std::string& actor,
                            Clock::TimePoint now, TargetRecord* out);
  grpc::Status GetTarget(const std::string& name, TargetRecord* out);
  grpc::Status ListTargets(const std::string& service, const std::string& environment,
                           const std::string& after_name, int limit, std::vector<TargetRecord>* out);
  grpc::Status DeleteTarget(const std::string& name, Clock::TimePoint now);
  // Removes soft-deleted targets (and their state and ring) deleted before `before`.
  grpc::Status PurgeDeleted(Clock::TimePoint before, int* purged = nullptr);
  grpc::Status TargetsInShards(const std::vector<int>& shards, std::vector<TargetRecord>* out);
  // Targets (deleted ones too) changed after `revision`, in revision order; `max_revision` is
  // the newest seen (unchanged when none).
  grpc::Status ChangesSince(long long revision, std::vector<TargetRecord>* out, long long* max_revision);
  grpc::Status MaxRevision(long long* out);
  // Every live target with its state (the evaluator's input).
  grpc::Status AllTargets(std::vector<TargetRecord>* out);

  // Results, batched: states, ring increments and TARGET events in one transaction.
  grpc::Status WriteBatch(const std::vector<StateUpdate>& states, const std::vector<RingIncrement>& ring,
                          const std::vector<v1::HealthEvent>& events);
  grpc::Status RingRows(const std::string& name, long long from_minute, long long to_minute,
                        std::vector<MinuteRow>* out);

  // Events.
  grpc::Status ListEvents(const EventFilter& filter, long long before_id, int limit,
                          std::vector<v1::HealthEvent>* out);  // newest first
  grpc::Status EventsAfter(long long after_id, const std::string& service,
                           const std::string& environment, int limit,
                           std::vector<v1::HealthEvent>* out);  // oldest first
  grpc::Status MaxEventId(long long* out);
  grpc::Status GetEvent(long long id, v1::HealthEvent* out);
  grpc::Status SetDelivery(long long event_id, const std::string& delivery);

  // Service health: the evaluator's verdicts. SaveServiceHealth stores `row` together with its
  // events (SERVICE, ALERT); an ALERT with delivery "pending" enqueues its delivery job in the
  // same transaction. Event ids are written back.
  grpc::Status LoadServiceHealth(std::vector<ServiceHealthRow>* out);
  grpc::Status SaveServiceHealth(const ServiceHealthRow& row, std::vector<v1::HealthEvent>* events,
                                 Clock::TimePoint now);
  grpc::Status GetServiceHealth(const std::string& service, const std::string& environment,
                                std::vector<ServiceHealthRow>* out);

  // Replicas and shard leases (coordinator.h). Times are the caller's clock.
  // Records the heartbeat, forgets replicas silent for `lease`, and returns the live count.
  grpc::Status Heartbeat(const std::string& owner, Clock::TimePoint now,
                         std::chrono::milliseconds lease, int* live_replicas);
  // Extends the leases `owner` still holds; returns those shards.
  grpc::Status RenewLeases(const std::string& owner, Clock::TimePoint expires_at, std::vector<int>* shards);
  // Takes up to `count` unowned or expired shards.
  grpc::Status AcquireShards(const std::string& owner, int count, Clock::TimePoint now,
                             Clock::TimePoint expires_at, std::vector<int>* shards);
  grpc::Status ReleaseShards(const std::string& owner, const std::vector<int>& shards);
  // Gives every lease back and removes the replica (a clean stop).
  grpc::Status Leave(const std::string& owner);

 private:
  db::Pool& pool_;
  jobs::Queue* jobs_;
  const secrets::KeyRing& keys_;
};

}  // namespace flightdeck::health
