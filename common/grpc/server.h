#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/server.h>

namespace flightdeck::metrics {
class Registry;
struct GrpcServerMetrics;
}  // namespace flightdeck::metrics

namespace flightdeck::rpc {

struct ServerOptions {
  std::string bind_address = "127.0.0.1";
  int port = 0;  // 0 picks a free port
  std::chrono::milliseconds shutdown_grace{10000};
};

// A gRPC server with the tracing and RED-metrics interceptors and the standard
// grpc.health.v1.Health service (overall status "" SERVING while up).
class Server {
 public:
  Server(ServerOptions options, metrics::Registry& registry);
  ~Server();
  void AddService(grpc::Service* service);  // before Start; not owned
  void Start();                             // throws std::runtime_error when it cannot bind
  int port() const { return port_; }
  // Health goes NOT_SERVING first (so balancers stop sending), then in-flight calls get up to
  // shutdown_grace to finish before they are cancelled.
  void Shutdown();

 private:
  ServerOptions options_;
  std::unique_ptr<metrics::GrpcServerMetrics> metrics_;
  std::vector<grpc::Service*> services_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

// Call first in main(), before any thread starts, so that SIGINT/SIGTERM reach only sigwait.
void BlockTerminationSignals();
// Blocks until SIGINT or SIGTERM; returns the signal number.
int WaitForTerminationSignal();

}  // namespace flightdeck::rpc
