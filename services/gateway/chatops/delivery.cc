#include "services/gateway/chatops/delivery.h"

#include <curl/curl.h>

#include <memory>

#include "common/net/curl_egress.h"

namespace flightdeck::gateway::chatops {
namespace {

size_t Discard(char*, size_t size, size_t count, void*) { return size * count; }

}  // namespace

DeliveryAttempt PostJson(const std::string& url, const std::string& body, std::chrono::milliseconds timeout,
                         const net::EgressPolicy* egress) {
  DeliveryAttempt result;
  if (url.rfind("https://", 0) != 0 && url.rfind("http://", 0) != 0) {
    result.error = "response_url is not an http(s) URL";
    return result;
  }
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) {
    result.error = "cannot start an HTTP client";
    return result;
  }
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> header_list(headers, curl_slist_free_all);
  net::CurlEgressGuard guard{egress, ""};
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &Discard);
  net::CheckEgressOnConnect(c, &guard);
  auto start = std::chrono::steady_clock::now();
  CURLcode code = curl_easy_perform(c);
  result.latency_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (code != CURLE_OK) {
    if (!guard.refusal.empty()) {
      result.error = guard.refusal;
    } else if (code == CURLE_OPERATION_TIMEDOUT) {
      result.error = "timeout after " + std::to_string(timeout.count()) + " ms";
    } else {
      result.error = curl_easy_strerror(code);
    }
    return result;
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  result.http_status = static_cast<int>(status);
  result.ok = status >= 200 && status < 300;
  if (!result.ok) result.error = "status " + std::to_string(status);
  return result;
}

}  // namespace flightdeck::gateway::chatops
