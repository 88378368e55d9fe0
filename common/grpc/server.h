#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/server.h>

namespace flightdeck::metrics {
class Registry;
struct GrpcServerMetrics;
}  // namespace flightdeck::metrics

namespace flightdeck::rpc {

// The caller's certificate identity ("gateway"), the gRPC path and the user role the call
// carries (x-flightdeck-role; nullopt when absent) -> OK, or the status the call fails with.
using CallAuthorizer = std::function<grpc::Status(std::string_view identity, std::string_view path,
                                                  std::optional<std::string_view> role)>;

struct ServerOptions {
  std::string bind_address = "127.0.0.1";
  int port = 0;  // 0 picks a free port
  std::chrono::milliseconds shutdown_grace{10000};
  // Decides every call before a handler sees it, with mutual TLS (no identities otherwise);
  // empty: every authenticated caller may call everything.
  CallAuthorizer authorize;
  // Threads of the synchronous server that wait for the next call after finishing one (server.cc
  // says why this is not gRPC's default of 2). Calls beyond them still get threads of their own.
  int idle_call_threads = 64;
  // Threads that take calls from the completion queue of the methods served there
  // (ServeOnQueue); none without such methods.
  int queue_threads = 2;
};

// A gRPC server with the tracing and RED-metrics interceptors and the standard
// grpc.health.v1.Health service (overall status "" SERVING while up). Its port speaks mutual
// TLS unless the process was set up for plaintext (common/grpc/transport.h).
class Server {
 public:
  Server(ServerOptions options, metrics::Registry& registry);
  ~Server();
  void AddService(grpc::Service* service);  // before Start; not owned
  // Methods of an added service that are served on a completion queue (queued_unary.h) rather
  // than on the synchronous server's call threads: `post` posts their first requests for calls
  // once the server is up. Before Start.
  void ServeOnQueue(std::function<void(grpc::ServerCompletionQueue*)> post);
  void Start();                             // throws std::runtime_error when it cannot bind
  int port() const { return port_; }
  // Health goes NOT_SERVING first (so balancers stop sending), then in-flight calls get up to
  // shutdown_grace to finish before they are cancelled.
  void Shutdown();

 private:
  ServerOptions options_;
  std::unique_ptr<metrics::GrpcServerMetrics> metrics_;
  std::vector<grpc::Service*> services_;
  std::vector<std::function<void(grpc::ServerCompletionQueue*)>> queued_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<grpc::ServerCompletionQueue> queue_;
  std::vector<std::thread> queue_threads_;
  int port_ = 0;
};

// Call first in main(), before any thread starts, so that SIGINT/SIGTERM reach only sigwait.
void BlockTerminationSignals();

// Call once in main() of every process that uses gRPC, before it starts. Debian builds Abseil
// without NDEBUG, which leaves absl::Mutex's deadlock detection on: every lock of a mutex
// records itself in a process-wide lock graph, and gRPC creates and locks several per call.
// That cost 2-4x per lock of a fresh mutex and ~3% of a service's CPU under load (perf,
// bench/README.md); Abseil's release builds have it off, and so does Flightdeck.
void DisableAbseilDeadlockDetection();
// Blocks until SIGINT or SIGTERM; returns the signal number.
int WaitForTerminationSignal();

}  // namespace flightdeck::rpc
