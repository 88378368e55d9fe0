#pragma once

#include <functional>
#include <memory>
#include <string>

namespace flightdeck::metrics {
class Registry;
}

namespace flightdeck::http {

// What /readyz reports: ok, and one line per dependency for humans.
struct Readiness {
  bool ok = false;
  std::string detail;
};

// The admin port of a service: /healthz (the process answers), /readyz (its dependencies
// answer), /metrics (Prometheus text). Binds address:port (0 picks a free port).
class AdminServer {
 public:
  AdminServer(std::string address, int port, metrics::Registry& registry,
              std::function<Readiness()> readiness);
  ~AdminServer();
  void Start();  // throws std::runtime_error when the port cannot be bound
  void Stop();
  int port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flightdeck::http
