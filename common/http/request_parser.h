#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/http/server.h"

namespace flightdeck::http {

struct ParseLimits {
  size_t max_header_bytes = 16 * 1024;
  size_t max_body_bytes = 1 << 20;
};

// What the start of a connection's buffered bytes holds.
struct ParseOutcome {
  enum Kind {
    kIncomplete,  // more bytes are needed
    kRequest,     // one whole request, `consumed` bytes long
    kError,       // the bytes are not an acceptable request: answer `status` and close
  } kind = kIncomplete;
  ServerRequest request;  // kRequest (peer not set)
  size_t consumed = 0;
  bool keep_alive = true;  // kRequest: the connection stays open after the answer
  bool http10 = false;
  // kIncomplete: the headers asked for "100 Continue" before the body is sent.
  bool expects_continue = false;
  int status = 0;  // kError: 400, 413, 431
  std::string message;
};

// Parses one HTTP/1.1 (or 1.0) request from the front of `buffer`: the request line, header
// fields (lower-cased names; obsolete line folding refused), and a body framed by
// Content-Length or chunked Transfer-Encoding (trailers dropped). Requests with both framings,
// duplicate differing Content-Lengths or an unknown Transfer-Encoding are refused, the usual
// ways of smuggling a request past a proxy. Pure: fuzzed by fuzz/http_request_fuzz.cc.
ParseOutcome ParseRequest(std::string_view buffer, const ParseLimits& limits);

}  // namespace flightdeck::http
