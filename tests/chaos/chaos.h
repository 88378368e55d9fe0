#pragma once

// Shared pieces of the fault-injection suite (tests/chaos): a seeded random source, the size of
// a run, the per-scenario figures it prints, and private PostgreSQL/Redis servers for the
// scenarios that restart or stop them (the shared test stores are never touched).
#include <chrono>
#include <random>
#include <string>
#include <vector>

namespace flightdeck::test::chaos {

// FD_CHAOS_ITERATIONS scales a run: each scenario multiplies its CI-sized count by it (1 in
// CI; bench/chaos passes more). FD_CHAOS_SEED fixes the random choices (printed on every run).
int Scale();
std::mt19937& Random();
int Uniform(int lo, int hi);  // inclusive
std::chrono::milliseconds UniformMs(int lo, int hi);

// What one scenario did: printed as a table row on stdout and, when FD_CHAOS_REPORT names a
// file, appended to it as a JSON line (bench/chaos collects them).
class Figures {
 public:
  explicit Figures(std::string scenario) : scenario_(std::move(scenario)) {}
  ~Figures();  // prints the row
  void Iteration() { ++iterations_; }
  void Fault() { ++faults_; }
  // Records an invariant violation: fails the test with the message and counts it.
  void Violation(const std::string& what);
  void Recovery(std::chrono::milliseconds took) { recovery_ms_.push_back(double(took.count())); }
  // Any other figure (e.g. "504 latency"), reported as its median and p99.
  void Sample(const std::string& name, double value);
  int violations() const { return violations_; }

 private:
  std::string scenario_;
  int iterations_ = 0;
  int faults_ = 0;
  int violations_ = 0;
  std::vector<double> recovery_ms_;
  std::vector<std::pair<std::string, std::vector<double>>> samples_;
};

double Percentile(std::vector<double> values, double p);  // nearest rank; 0 when empty

// A private PostgreSQL 15 cluster or Redis on a free loopback port, started with
// scripts/lib/datastores.sh exactly as scripts/test starts the shared ones, removed on
// destruction.
class PrivatePostgres {
 public:
  PrivatePostgres();
  ~PrivatePostgres();
  const std::string& url() const { return url_; }
  // Stops the server (pg_ctl -m fast or immediate) and starts it again on the same port;
  // returns false (and fails the test) when it does not come back.
  bool Restart(const std::string& mode);
  bool Stop(const std::string& mode);
  bool Start();

 private:
  std::string dir_;
  int port_ = 0;
  std::string url_;
};

class PrivateRedis {
 public:
  PrivateRedis();
  ~PrivateRedis();
  const std::string& url() const { return url_; }
  bool Stop();
  bool Start();
  int pid() const;  // the server's pid (for SIGSTOP/SIGCONT), -1 when not running
  bool FlushAll();

 private:
  std::string dir_;
  int port_ = 0;
  std::string url_;
};

// Runs `bash -c script` with datastores.sh sourced and the arguments as $1...; returns the
// exit code and leaves stdout in *out.
int RunDatastores(const std::string& script, const std::vector<std::string>& args,
                  std::string* out = nullptr);

}  // namespace flightdeck::test::chaos
