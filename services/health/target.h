#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>

#include <grpcpp/support/status.h>

#include "flightdeck/v1/health.pb.h"
#include "services/health/probe/probe.h"

// What a health target is allowed to be (issue 4): validation with defaults, and what the
// probe engine and the replicas derive from it.
namespace flightdeck::health {

inline constexpr int kShardCount = 64;

// Accepted in any case; answered in these spellings.
inline const std::initializer_list<const char*> kTargetRoles = {"liveness", "readiness", "canary"};
inline const std::initializer_list<const char*> kProbeKinds = {"HTTP", "GRPC", "TCP", "POSTGRES", "REDIS"};

// Checks a target as a client sent it and normalises it in place: defaults filled in
// (initial_delay 0s, period 10s, timeout 1s, thresholds 1 and 3; HTTP: method GET,
// reuse_connections true), role lower case, kind upper case (both accepted in any case),
// output-only fields cleared. One INVALID_ARGUMENT lists every problem ("field: problem; ...").
grpc::Status ValidateTarget(v1::HealthTarget* target);

// Fills the defaults of fields added after targets were first stored (reuse_connections true
// for HTTP), so that a target stored before them reads as it behaves.
void DefaultAddedFields(v1::HealthTarget* target);

// The shard (0..kShardCount-1) a target belongs to: FNV-1a 64 of its name, so that every
// replica computes the same owner without asking anyone.
int ShardOf(const std::string& name);
uint64_t Fnv1a64(const std::string& text);

// What the probe engine needs (the target must have passed ValidateTarget).
ProbeSpec ToProbeSpec(const v1::HealthTarget& target);

// For registration: "url: <why>" or "address: <why>" when the egress policy refuses where the
// target's probe would connect, else "". A name that does not resolve now is left to the probe,
// which checks the addresses it connects to each time.
std::string DestinationRefusal(const net::EgressPolicy& policy, const ProbeSpec& spec);

// The target as it may leave the process: a password in its URL becomes ***.
void RedactTarget(v1::HealthTarget* target);

}  // namespace flightdeck::health
