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
  CannedResponse() = default;
  CannedResponse(int status_code, std::string body_text)
      : status(status_code), body(std::move(body_text)) {}

  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  // A streamed answer (Transfer-Encoding: chunked) when not empty: `body` is ignored and each
  // chunk is sent and flushed on its own, `before_chunk(i)` (when set) being called before
  // chunk i goes out, so that a test can hold the stream until the client has shown what it
  // got. Streams are written from their own thread, so that the client can make other
  // requests while one is open.
  std::vector<std::string> chunks;
  std::function<void(size_t index)> before_chunk;
};

// A one-connection-at-a-time HTTP/1.1 server on 127.0.0.1 that records each request and
// answers with whatever the handler returns (Connection: close); streamed answers are
// written beside it.
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
  void Stream(int fd, CannedResponse response);

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::vector<std::thread> streams_;  // only the Serve thread adds to it
  mutable std::mutex mu_;
  std::vector<RecordedRequest> requests_;
};

}  // namespace flightdeck::cli::testing
