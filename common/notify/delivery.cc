#include "common/notify/delivery.h"

#include <mutex>

#include <curl/curl.h>

#include "common/net/curl_egress.h"
#include "common/notify/signature.h"

namespace flightdeck::notify {
namespace {

size_t DiscardBody(char*, size_t size, size_t nmemb, void*) { return size * nmemb; }

void GlobalInitCurl() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

DeliveryResult Deliver(const DeliveryRequest& request) {
  DeliveryResult result;
  const auto started = std::chrono::steady_clock::now();
  GlobalInitCurl();
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    result.error = "could not create an HTTP client";
    return result;
  }
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "Content-Type: application/json");
  headers = curl_slist_append(headers, ("User-Agent: " + request.user_agent).c_str());
  // libcurl adds "Expect: 100-continue" for larger bodies; receivers need not support it.
  headers = curl_slist_append(headers, "Expect:");
  if (!request.delivery_id.empty()) {
    headers = curl_slist_append(headers, (std::string(kDeliveryHeader) + ": " + request.delivery_id).c_str());
  }
  if (!request.secret.empty()) {
    const std::string sig = std::string(kSignatureHeader) + ": " +
                            SignatureHeader(request.secret, request.body, request.unix_seconds);
    headers = curl_slist_append(headers, sig.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // signals and threads do not mix
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, DiscardBody);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  net::CurlEgressGuard guard{request.egress, {}};
  net::CheckEgressOnConnect(curl, &guard);

  const CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  result.http_status = static_cast<int>(status);
  if (rc == CURLE_OK) {
    result.ok = status >= 200 && status < 300;
    if (!result.ok) result.error = "status " + std::to_string(status);
  } else if (rc == CURLE_OPERATION_TIMEDOUT) {
    result.error = "timeout after " + std::to_string(request.timeout.count()) + " ms";
  } else if (!guard.refusal.empty()) {
    result.error = guard.refusal;
  } else if (rc == CURLE_COULDNT_CONNECT) {
    result.error = "connection refused";
  } else if (rc == CURLE_COULDNT_RESOLVE_HOST) {
    result.error = "could not resolve host";
  } else {
    result.error = curl_easy_strerror(rc);
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  result.latency_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  return result;
}

std::string UrlRefusal(const net::EgressPolicy* egress, const std::string& url) {
  return egress == nullptr ? "" : net::HttpUrlRefusal(*egress, url);
}

}  // namespace flightdeck::notify
