#pragma once

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
  // `finished` runs after each callback (the engine's in-flight count).
  explicit GrpcProbes(std::function<void()> finished);
  ~GrpcProbes();  // Stop()s
  void Start();
  // Cancels what is in flight (completing with "prober stopped") and joins the thread.
  void Stop();
  // Any thread. Takes `done` and returns true, or after Stop leaves it and returns false.
  bool Submit(const ProbeSpec& spec, Prober::Callback& done);

 private:
  struct Call;
  void Run();
  grpc::health::v1::Health::Stub* StubFor(const std::string& address);

  std::function<void()> finished_;
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
