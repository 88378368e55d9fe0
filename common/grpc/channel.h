#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <grpcpp/channel.h>

namespace flightdeck::rpc {

// A channel to another Flightdeck service ("host:port") that carries the caller's trace
// context (client interceptor) and reconnects quickly after the peer restarts. With mutual TLS
// the server must prove it is `peer_identity` ("releases"): its certificate names it, whatever
// the address.
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address, const std::string& peer_identity);

// gRPC 1.51 deadlines take system_clock time points (PITFALLS.md).
inline std::chrono::system_clock::time_point DeadlineAfter(std::chrono::milliseconds d) {
  return std::chrono::system_clock::now() + d;
}

}  // namespace flightdeck::rpc
