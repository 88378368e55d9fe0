#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace flightdeck::http {

// One parsed HTTP/1.1 request. Header names are lower case; values are as sent.
struct ServerRequest {
  std::string method;  // "GET"
  std::string target;  // "/v1/releases?service=api", as sent
  std::string path;    // "/v1/releases" (not percent-decoded)
  std::string query;   // "service=api" (not decoded; empty when absent)
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string peer;  // "127.0.0.1:53122"

  // The first header of that (lower-case) name; empty when absent.
  std::string_view Header(std::string_view lower_name) const;
  bool HasHeader(std::string_view lower_name) const;
};

struct ServerResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // Content-Length is added
  std::string body;
};

class Connection;
class EventLoop;

// The answer side of one request. Every method may be called from any thread; the writes
// happen on the connection's event-loop thread, in order. A request is answered exactly once,
// by Respond() or by a stream (BeginStream, Write..., End); later calls are ignored.
class Exchange {
 public:
  Exchange(std::weak_ptr<Connection> connection, std::shared_ptr<EventLoop> loop, uint64_t seq);

  void Respond(ServerResponse response);
  // Starts a chunked response. Write() sends one chunk as soon as the socket takes it; it
  // returns false once the client is gone (or fell too far behind: the connection is then
  // closed). End() sends the last chunk.
  void BeginStream(int status, std::vector<std::pair<std::string, std::string>> headers);
  bool Write(std::string data);
  void End();

  // Runs `callback` once, on the event-loop thread, when the connection closes before the
  // answer is complete (the client went away, or the server stops). Runs at once when that
  // has already happened. Used to cancel the upstream call behind a request.
  void OnClose(std::function<void()> callback);
  bool closed() const;

 private:
  std::weak_ptr<Connection> connection_;
  std::shared_ptr<EventLoop> loop_;  // outlives the server while an answer may still come
  uint64_t seq_;  // which request of the connection this answers
};

// A small HTTP/1.1 server built for asynchronous answers: handlers run on the event-loop
// threads and must not block; they answer later, from any thread, through their Exchange.
// Keep-alive (the HTTP/1.1 default) and pipelined requests are honoured (answers go out in
// order: the next request of a connection is read once the previous one is answered),
// chunked request bodies are decoded, `Expect: 100-continue` is answered, responses may
// stream (chunked). Each loop thread owns the connections it accepted from the one shared
// listening socket, so a connection never needs a lock, and an idle connection costs a few hundred bytes.
//
// Why not Pistache (PITFALLS.md): Pistache 0.0.5 answers keep-alive requests without a
// Connection header with "Connection: Close", drops pipelined requests, and its streams break
// the server when flushed from another thread after the client has gone.
class Server {
 public:
  struct Options {
    std::string address = "127.0.0.1";
    int port = 0;  // 0: any free port (see port())
    int threads = 2;
    size_t max_header_bytes = 16 * 1024;
    size_t max_body_bytes = 1 << 20;
    // A connection with no request in progress is closed after this long.
    std::chrono::milliseconds idle_timeout{120000};
    // A request must arrive whole within this long once it has started (slow senders).
    std::chrono::milliseconds request_timeout{30000};
    // A client that falls this far behind a stream is disconnected.
    size_t max_pending_output = 8 << 20;
    // The body of the answers the server gives itself (400, 408, 413, 431, 501), so that they
    // have the application's error shape. Defaults to plain text.
    std::function<ServerResponse(int status, const std::string& message)> error_response;
  };
  using Handler = std::function<void(ServerRequest request, std::shared_ptr<Exchange> exchange)>;

  Server(Options options, Handler handler);
  ~Server();  // Stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts the loop threads; throws std::runtime_error when it cannot listen.
  void Start();
  // Graceful stop, first half: stops accepting (new connections are refused), closes idle
  // connections and lets each busy one finish its current answer (with "Connection: close").
  // Returns once none is open, or false when `grace` passed first (streams are the usual
  // reason); Stop() then closes what is left.
  bool Drain(std::chrono::milliseconds grace);
  // Closes every connection (their OnClose callbacks run) and joins the threads.
  void Stop();
  int port() const { return port_; }
  size_t open_connections() const;

 private:
  Options options_;
  Handler handler_;
  int port_ = 0;
  std::vector<std::shared_ptr<EventLoop>> loops_;
};

// "OK", "Not Found", ...
const char* ReasonPhrase(int status);

}  // namespace flightdeck::http
