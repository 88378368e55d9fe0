#pragma once

#include <sys/socket.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/net/egress.h"
#include "services/health/probe/event_loop.h"

// Host names for the TCP, REDIS and POSTGRES kinds. getaddrinfo blocks, so it runs on one
// resolver thread with a short-lived cache; numeric addresses never leave the engine thread.
// A slow DNS server delays only the probes that need a name resolved (each still times out on
// its own deadline).
namespace flightdeck::health::internal {

struct Address {
  sockaddr_storage storage{};
  socklen_t length = 0;
};

class Resolver {
 public:
  // `error` is empty on success (and `addresses` non-empty).
  using Done = std::function<void(const std::vector<Address>& addresses, const std::string& error)>;
  // With an egress policy, every address a name resolves to is checked with the port asked
  // for: one refused address fails the resolution with the policy's reason, so that callers
  // only ever connect to checked addresses.
  explicit Resolver(EventLoop& loop, const net::EgressPolicy* egress = nullptr);
  ~Resolver();
  // Engine thread. `done` runs on the engine thread, possibly before Resolve returns.
  void Resolve(const std::string& host, int port, Done done);

 private:
  struct Request {
    std::string host;
    int port;
    Done done;
  };
  struct CacheEntry {
    std::vector<Address> addresses;  // port 0
    std::chrono::steady_clock::time_point expires;
  };
  void Run();

  // The policy's reason when it refuses one of `addresses` (with their port), else "".
  std::string Refusal(const std::vector<Address>& addresses, int port) const;

  EventLoop& loop_;
  const net::EgressPolicy* egress_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Request> queue_;
  std::unordered_map<std::string, CacheEntry> cache_;
  bool stopping_ = false;
  std::thread thread_;
};

// "host:port", "[v6]:port". False when the port is missing or not a number.
bool SplitHostPort(const std::string& address, std::string* host, int* port);

}  // namespace flightdeck::health::internal
