#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

// A small HTTP/1.1 server for probe tests, on 127.0.0.1 and a port of the kernel's choosing.
// The path picks the behaviour:
//   /ok            200 "ok"
//   /fail          503 "unavailable"
//   /slow/<ms>     200 "ok" after <ms> milliseconds
//   /hang          reads the request and never answers (until the server stops)
//   anything else  404
// Connections are kept alive (even after `Connection: close`, so that tests see the client
// close them); one thread per connection is plenty for tests.
namespace flightdeck::test {

class HttpTestServer {
 public:
  HttpTestServer();  // listening when it returns; throws std::runtime_error otherwise
  ~HttpTestServer();
  int port() const { return port_; }
  std::string Url(const std::string& path) const;
  int requests() const { return requests_.load(); }
  // Requests that carried `Connection: close`.
  int close_requests() const { return close_requests_.load(); }
  // Connections the client closed (the server saw end of stream).
  int closed_by_client() const { return closed_by_client_.load(); }
  int connections() {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<int>(connections_.size());
  }

 private:
  void Accept();
  void Serve(int fd);

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<int> requests_{0};
  std::atomic<int> close_requests_{0};
  std::atomic<int> closed_by_client_{0};
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable stopped_cv_;
  std::vector<int> connections_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

}  // namespace flightdeck::test
