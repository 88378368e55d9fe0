#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/net/egress.h"

// The asynchronous probe engine (issue 4): probes are multiplexed on a small fixed number of
// threads — libcurl's multi interface for HTTP, non-blocking sockets on epoll for TCP and
// REDIS, libpq's non-blocking connect and query for POSTGRES, gRPC's async API for GRPC. No
// thread per target; no thread blocks for a probe's timeout; a hanging target never delays
// another's probe.
namespace flightdeck::health {

enum class ProbeKind { kHttp, kGrpc, kTcp, kPostgres, kRedis };

struct ProbeSpec {
  ProbeKind kind = ProbeKind::kHttp;
  std::string url;      // HTTP (http/https), POSTGRES (postgres://), REDIS (redis://[:pw@]host:port[/db])
  std::string address;  // GRPC, TCP: host:port
  bool head = false;    // HTTP HEAD instead of GET
  std::vector<int> expect_status;  // HTTP; empty: 200..399
  std::string body_contains;       // HTTP
  std::chrono::milliseconds max_latency{0};  // HTTP; 0: no limit
  // HTTP: false opens a new connection for this probe (new TLS handshake, no session resumed),
  // sends `Connection: close` and closes it after; it never enters the shared connection cache.
  bool reuse_connections = true;
  std::string grpc_service;        // GRPC: the service asked of grpc.health.v1 Check
  std::string grpc_tls;            // GRPC: "" / "PLAINTEXT", "TLS" or "FLIGHTDECK" (mutual TLS)
  std::string grpc_tls_server_name;  // GRPC with TLS: the name to verify; "": the address's host
  std::chrono::milliseconds timeout{1000};
};

struct ProbeOutcome {
  bool ok = false;
  double latency_ms = 0;  // from the probe's start to its answer (or to the timeout)
  std::string error;      // empty when ok: "timeout after 1000 ms", "status 503 not in [200]"
  int status_code = 0;    // HTTP status
  std::string detail;     // GRPC: the serving status name; REDIS: the reply
  // When the engine began the probe (the scheduler measures its lateness from this).
  std::chrono::system_clock::time_point started;
};

class Prober {
 public:
  // Called exactly once per Submit, on an engine thread: must be quick and must not block.
  using Callback = std::function<void(const ProbeOutcome&)>;
  struct Options {
    int http_max_connections = 0;  // 0: libcurl's default cache; reused across probes
    // Every address a probe connects to is checked against it first; a refused one fails the
    // probe with the policy's reason. Null: no check. Must outlive the prober.
    const net::EgressPolicy* egress = nullptr;
  };
  Prober();
  explicit Prober(Options options);
  ~Prober();  // Stop()s
  void Start();
  // Pending probes complete with error "prober stopped".
  void Stop();
  // Thread-safe and non-blocking: the probe starts on an engine thread at once. After Stop()
  // (or before Start() has been called and then Stop()), `done` runs at once on the caller's
  // thread with "prober stopped".
  void Submit(const ProbeSpec& spec, Callback done);
  // Probes started and not yet finished (tests, metrics).
  int InFlight() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flightdeck::health
