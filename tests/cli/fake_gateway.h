#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace flightdeck::cli::testing {

struct RecordedRequest {
  std::string method;
  std::string target;                          // path and query, as sent
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

struct CannedResponse {
  int status = 200;
  std::string body;
};

// A one-connection-at-a-time HTTP/1.1 server on 127.0.0.1 that records each request and
// answers with whatever the handler returns (Connection: close).
class FakeGateway {
 public:
  using Handler = std::function<CannedResponse(const RecordedRequest&)>;
  explicit FakeGateway(Handler handler);
  ~FakeGateway();
  FakeGateway(const FakeGateway&) = delete;
  FakeGateway& operator=(const FakeGateway&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<RecordedRequest> requests() const;

 private:
  void Serve();

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mu_;
  std::vector<RecordedRequest> requests_;
};

}  // namespace flightdeck::cli::testing
