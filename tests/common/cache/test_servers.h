#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace flightdeck::cache::testing {

// A free 127.0.0.1 TCP port right now (bound to port 0, then released).
int FreeLoopbackPort();

// A private redis-server on 127.0.0.1:port, no persistence, killed when destroyed.
class RedisProcess {
 public:
  explicit RedisProcess(int port, std::vector<std::string> extra_args = {});
  ~RedisProcess();
  RedisProcess(const RedisProcess&) = delete;
  RedisProcess& operator=(const RedisProcess&) = delete;

  // Starts it and waits until it accepts connections; false (with a message) when it does not
  // within a few seconds.
  bool Start(std::string* error);
  void Stop();  // SIGKILL and reap: an abrupt outage, as when a node dies
  int port() const { return port_; }
  pid_t pid() const { return pid_; }  // for SIGSTOP/SIGCONT (a hung Redis)
  std::string url(const std::string& userinfo = "", int db = 0) const;

 private:
  int port_;
  std::vector<std::string> extra_args_;
  pid_t pid_ = -1;
};

// A TCP listener that completes the handshake (the kernel's backlog does) and never answers:
// what a Redis stuck in a long command or a black-holed proxy looks like to a client.
class SilentListener {
 public:
  SilentListener();
  ~SilentListener();
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

}  // namespace flightdeck::cache::testing
