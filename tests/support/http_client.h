#pragma once

#include <map>
#include <string>

namespace flightdeck::test {

struct HttpResponse {
  long status = 0;  // 0: no answer (connection refused, timeout)
  std::string body;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string error;
};

// A blocking HTTP/1.1 client for tests (libcurl). Headers are "Name: value" pairs.
HttpResponse HttpRequest(const std::string& method, const std::string& url,
                         const std::string& body = "",
                         const std::map<std::string, std::string>& headers = {},
                         long timeout_ms = 10000);

}  // namespace flightdeck::test
