#pragma once

#include <sys/types.h>

#include <chrono>

#include <map>

#include <grpcpp/channel.h>
#include <nlohmann/json.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace flightdeck::test {

// A child process with extra environment variables, stopped (SIGTERM, then SIGKILL) on
// destruction. Its stderr goes to a log file kept for failure messages.
class Process {
 public:
  Process(std::string name, std::string binary, std::map<std::string, std::string> env,
          std::vector<std::string> args = {});
  ~Process();
  void Stop();
  void Kill();  // SIGKILL, no grace
  void Signal(int sig);  // any signal, no wait (SIGSTOP/SIGCONT/SIGTERM in fault tests)
  // Waits up to `limit` for the process to exit; true when it has (and was reaped).
  bool WaitExit(std::chrono::milliseconds limit);
  bool Running();
  std::string LogTail(size_t bytes = 4000) const;
  pid_t pid() const { return pid_; }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  std::string log_path_;
  pid_t pid_ = -1;
};

// Runs a command to completion (no shell) and returns its exit code and output.
struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};
CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::map<std::string, std::string>& env = {});

int FreePort();

// An OTLP/HTTP receiver on 127.0.0.1: keeps every JSON body POSTed to /v1/traces.
class OtlpReceiver {
 public:
  OtlpReceiver();
  ~OtlpReceiver();
  std::string endpoint() const;  // http://127.0.0.1:<port>
  std::vector<std::string> Bodies() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The certificates of the processes' mutual TLS: FLIGHTDECK_TEST_TLS_DIR when scripts/test made
// them, else made once per test process with scripts/certs. Holds ca.pem and <identity>.pem/.key.
const std::string& TestTlsDir();

// A channel to a service's gRPC port that presents `identity`'s certificate ("gateway",
// "releases", ...); no identity: a client without a certificate; "plaintext": no TLS at all.
std::shared_ptr<grpc::Channel> ServiceChannel(const std::string& address, const std::string& server_identity,
                                              const std::string& identity);

// The whole control plane on free loopback ports, against a fresh database on the server of
// DATABASE_URL and the Redis of REDIS_URL. The processes speak mutual TLS to each other, with
// the certificates of TestTlsDir(), unless `extra` sets FLIGHTDECK_GRPC_INSECURE=true.
class Stack {
 public:
  // extra: additional environment for every process (e.g. OTEL_* settings).
  explicit Stack(std::map<std::string, std::string> extra = {});
  ~Stack();
  std::string gateway_url() const { return "http://127.0.0.1:" + std::to_string(http_port_); }
  std::string admin_url(const std::string& service) const;
  std::string grpc_address(const std::string& service) const;
  // A channel to `service`'s gRPC port as the process `identity` (by default the gateway, which
  // may call everything with the user role the test sends in x-flightdeck-role).
  std::shared_ptr<grpc::Channel> Channel(const std::string& service, const std::string& identity = "gateway") const;
  const std::string& admin_token() const { return admin_token_; }
  const std::string& database_url() const { return database_url_; }
  // Blocks until the gateway's /readyz answers 200 (fails the test with logs after 60 s).
  bool WaitReady();
  // kill -9 one process ("releases", "gateway", ...) and start it again with the same settings.
  void KillAndRestart(const std::string& name);
  // Fault injection (tests/chaos): kill -9 without restarting, start a stopped or killed process
  // again with its settings, pause (SIGSTOP) and resume (SIGCONT), or send any signal.
  void Kill(const std::string& name);
  void Start(const std::string& name);
  void Pause(const std::string& name);
  void Resume(const std::string& name);
  void Signal(const std::string& name, int sig);
  Process& process(const std::string& name);
  // Another replica of `name` (tests/chaos) with the same settings and ports of its own, run as
  // `prefix` + its binary when a prefix is given (e.g. a shell that changes the hostname first).
  std::unique_ptr<Process> Replica(const std::string& name, const std::string& replica_name,
                                   const std::vector<std::string>& prefix = {},
                                   const std::map<std::string, std::string>& overrides = {}) const;
  std::string Logs() const;

 private:
  // The process's "serving" log line (its ports), or {} when it did not start in time.
  static nlohmann::json WaitServing(Process& process);

  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string admin_token_;
  std::string database_url_;
  int http_port_ = 0;
  std::map<std::string, int> grpc_ports_;
  std::map<std::string, int> admin_ports_;
  struct Spec {
    std::string name;
    std::string binary;
    std::map<std::string, std::string> env;
  };
  std::vector<Spec> specs_;
  std::vector<std::unique_ptr<Process>> processes_;
};

}  // namespace flightdeck::test
