#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/http/server.h"
#include "common/trace/trace.h"

namespace flightdeck::metrics {
struct HttpMetrics;
}

namespace flightdeck::gateway {

using Headers = std::vector<std::pair<std::string, std::string>>;

// The HttpCalls alive. An answer runs through the fronts and records into the gateway's
// metrics, and a call may still be answering after its client has gone (its upstream call or
// audit write under way), so Gateway::Shutdown waits for none before the gateway is destroyed.
class LiveCalls {
 public:
  // False when some were still alive after `timeout`.
  bool WaitNone(std::chrono::milliseconds timeout);

 private:
  friend class HttpCall;
  void Enter();
  void Leave();

  std::mutex mu_;
  std::condition_variable none_;
  int alive_ = 0;
};

// One HTTP request through any of the gateway's fronts: its request id (echoed or made), its
// server span, RED metrics, and the answer, sent once. Shared by the callbacks that carry the
// request across threads; every method may be called from any thread.
class HttpCall {
 public:
  HttpCall(http::ServerRequest request, std::shared_ptr<http::Exchange> exchange,
           metrics::HttpMetrics& metrics, LiveCalls& live);
  ~HttpCall();

  // Names the route (the metrics label and the span name) and starts the server span,
  // continuing the caller's W3C trace context when it is valid.
  void StartSpan(std::string route);

  // Fields every answer of this call carries (its rate-limit state), replacing those set
  // before; set before answering.
  void SetAnswerHeaders(Headers headers);

  // A whole answer.
  void Send(int status, std::string body, Headers headers = {},
            std::string content_type = "application/json");
  // A streamed answer: chunks as they come, then End().
  void BeginStream(int status, Headers headers, std::string content_type);
  bool Write(std::string chunk);
  void End();
  bool streaming() const { return streaming_; }
  bool answered() const { return answered_; }

  const http::ServerRequest& request() const { return request_; }
  const std::string& request_id() const { return request_id_; }
  const std::string& route() const { return route_; }
  const trace::SpanContext& trace_context() const;
  std::optional<std::string> BearerToken() const;
  http::Exchange& exchange() { return *exchange_; }

 private:
  void Record(int status);

  http::ServerRequest request_;
  std::shared_ptr<http::Exchange> exchange_;
  metrics::HttpMetrics& metrics_;
  LiveCalls& live_;
  std::string request_id_;
  std::string route_ = "unmatched";
  std::optional<trace::Span> span_;
  Headers answer_headers_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::atomic<bool> answered_{false};
  bool streaming_ = false;
  int stream_status_ = 200;
};

}  // namespace flightdeck::gateway
