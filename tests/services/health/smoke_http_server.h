#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace flightdeck::health::testing {

struct SeenRequest {
  std::string method;
  std::string path;  // with the query
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
};

struct Reply {
  int status = 200;
  std::string body;
  int delay_ms = 0;  // before answering
};

// An HTTP/1.1 server on 127.0.0.1 (port 0) answering each connection on its own thread, so that
// concurrent checks really overlap. Connection: close after every answer.
class SmokeHttpServer {
 public:
  using Handler = std::function<Reply(const SeenRequest&)>;
  explicit SmokeHttpServer(Handler handler);
  ~SmokeHttpServer();

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  std::vector<SeenRequest> requests() const;
  // The largest number of requests being answered at the same moment so far.
  int max_in_flight() const { return max_in_flight_.load(); }

 private:
  void Accept();
  void Serve(int fd);

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> in_flight_{0};
  std::atomic<int> max_in_flight_{0};
  std::thread acceptor_;
  mutable std::mutex mu_;
  std::vector<std::thread> workers_;
  std::vector<SeenRequest> requests_;
};

}  // namespace flightdeck::health::testing
