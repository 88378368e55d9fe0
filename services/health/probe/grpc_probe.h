#pragma once

#include <grpcpp/alarm.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "grpc/health/v1/health.grpc.pb.h"
#include "services/health/probe/probe.h"

// GRPC: grpc.health.v1 Check on gRPC's async API. One completion-queue thread serves every
// call; each call carries its own deadline, so a hanging server costs nothing but the call.
namespace flightdeck::health::internal {

class GrpcProbes {
 public:
  // `finished` runs after each callback (the engine's in-flight count). With an egress policy,
  // the address is resolved on the submitting thread (once per probe: a name's addresses may
  // change), every address is checked, and the channel connects to the checked address itself.
  explicit GrpcProbes(std::function<void()> finished, const net::EgressPolicy* egress = nullptr);
  ~GrpcProbes();  // Stop()s
  void Start();
  // Cancels what is in flight (completing with "prober stopped") and joins the thread.
  void Stop();
  // Any thread. Takes `done` and returns true, or after Stop leaves it and returns false.
  bool Submit(const ProbeSpec& spec, Prober::Callback& done);

 private:
  struct Call;
  void Run();
  // `target` is what the channel connects to, `spec.address` the name the server is told; TLS
  // as spec.grpc_tls says.
  grpc::health::v1::Health::Stub* StubFor(const std::string& target, const ProbeSpec& spec);
  // The channel target ("ipv4:10.0.0.1:50051") of a checked address of `address`, or the
  // address as is without a policy; "" with *refusal set when refused or unresolvable.
  std::string CheckedTarget(const std::string& address, std::string* refusal) const;

  std::function<void()> finished_;
  const net::EgressPolicy* egress_;
  grpc::CompletionQueue cq_;
  std::mutex mu_;
  bool stopping_ = false;
  bool started_ = false;
  std::unordered_set<Call*> in_flight_;
  // One channel per address, kept: reconnecting every period would cost a handshake each time.
  std::unordered_map<std::string, std::unique_ptr<grpc::health::v1::Health::Stub>> stubs_;
  std::thread thread_;
};

// "NOT_SERVING", "timeout after 1000 ms", "connection refused", ...; empty when SERVING.
std::string GrpcError(const grpc::Status& status, int serving_status,
                      std::chrono::milliseconds timeout);

}  // namespace flightdeck::health::internal
