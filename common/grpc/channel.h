#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <grpcpp/channel.h>

namespace flightdeck::rpc {

// A channel to another Flightdeck service ("host:port") that carries the caller's trace
// context (client interceptor) and reconnects quickly after the peer restarts.
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address);

// gRPC 1.51 deadlines take system_clock time points (PITFALLS.md).
inline std::chrono::system_clock::time_point DeadlineAfter(std::chrono::milliseconds d) {
  return std::chrono::system_clock::now() + d;
}

}  // namespace flightdeck::rpc
