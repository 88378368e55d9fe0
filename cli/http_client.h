#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace flightdeck::cli {

struct HttpResult {
  bool reached = false;  // false: no HTTP answer at all (DNS, refused, TLS, timeout)
  std::string transport_error;
  long status = 0;
  std::string body;
};

using Query = std::vector<std::pair<std::string, std::string>>;

// Called with each complete line of a streamed body (without its "\n" or "\r\n") as soon as
// it has arrived; returning false stops reading and closes the connection.
using LineHandler = std::function<bool(const std::string& line)>;

// The answer to GetLines. A 2xx answer of the streamed content type went to the handler line
// by line, and `body` is empty; any other answer (an error, an older gateway's JSON) is kept
// whole in `body`, since it is not a stream.
struct StreamResult : HttpResult {
  std::string content_type;  // without parameters, lower case: "application/x-ndjson"
  bool streamed = false;     // the handler saw the body
  bool stopped = false;      // the handler returned false (not a transport error)
};

// A small blocking JSON-over-HTTP client of the gateway (libcurl). Sends
// `Authorization: Bearer <token>` when a token is set, and an `Idempotency-Key` on every POST
// so that a retried write has one effect.
class HttpClient {
 public:
  struct Options {
    std::chrono::milliseconds connect_timeout{10000};
    std::chrono::milliseconds timeout{30000};
  };
  HttpClient(std::string base_url, std::string token);
  HttpClient(std::string base_url, std::string token, Options options);

  HttpResult Get(const std::string& path, const Query& query = {}) const;
  HttpResult Post(const std::string& path, const std::string& json_body) const;
  HttpResult Post(const std::string& path, const std::string& json_body,
                  const std::string& idempotency_key) const;
  // DELETE carries no Idempotency-Key: deleting twice has the same end state, and the second
  // answer (404) says so.
  HttpResult Delete(const std::string& path) const;
  // A GET whose answer is a stream of lines of `content_type` (e.g. application/x-ndjson),
  // delivered to `on_line` as they arrive: nothing but the line in progress is buffered. No
  // overall timeout applies (a stream may be quiet for as long as a canary step), only the
  // connect timeout; TCP keepalive notices a peer that went away.
  StreamResult GetLines(const std::string& path, const Query& query,
                        const std::string& content_type, const LineHandler& on_line) const;

  const std::string& base_url() const { return base_url_; }

 private:
  HttpResult Send(const char* method, const std::string& url, const std::string* body,
                  const std::vector<std::string>& extra_headers) const;
  std::string UrlWithQuery(const std::string& path, const Query& query) const;

  std::string base_url_;
  std::string token_;
  Options options_;
};

// RFC 4122 version 4 UUID from the system's random source.
std::string NewIdempotencyKey();
// Percent-encodes everything but RFC 3986 unreserved characters.
std::string UrlEscape(std::string_view text);
// The URL with any user:password@ replaced, for messages.
std::string RedactUrl(const std::string& url);

}  // namespace flightdeck::cli
