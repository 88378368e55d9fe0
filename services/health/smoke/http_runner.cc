#include "services/health/smoke/http_runner.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>

#include "common/net/curl_egress.h"

namespace flightdeck::health::smoke {
namespace {

void InitCurlOnce() {
  // curl_global_init is not thread-safe in libcurl 7.88; the probe engine may call it too, which
  // is harmless (it counts).
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  HttpOutcome outcome;
  net::CurlEgressGuard egress;
  char error[CURL_ERROR_SIZE] = {};
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* outcome = static_cast<HttpOutcome*>(user);
  const size_t n = size * count;
  const size_t room = kMaxBodyBytes - std::min(kMaxBodyBytes, outcome->body.size());
  outcome->body.append(data, std::min(n, room));
  if (n > room) outcome->body_truncated = true;
  return n;  // keep reading past the cap so that the latency covers the whole answer
}

void Configure(const HttpRequest& request, Transfer* t) {
  CURL* e = t->easy;
  curl_easy_setopt(e, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout_ms));
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.timeout_ms));
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &t->outcome);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
  curl_easy_setopt(e, CURLOPT_USERAGENT, "flightdeck-smoke/1");
  net::CheckEgressOnConnect(e, &t->egress);
  if (request.method == "HEAD") {
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  } else if (request.method != "GET") {
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  if (!request.body.empty()) {
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, static_cast<long>(request.body.size()));
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, request.body.data());
    if (request.method == "GET") curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "GET");
  }
  bool has_content_type = false;
  for (const auto& [name, value] : request.headers) {
    t->headers = curl_slist_append(t->headers, (name + ": " + value).c_str());
    std::string lower = name;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    has_content_type = has_content_type || lower == "content-type";
  }
  if (!request.body.empty() && !has_content_type) {
    t->headers = curl_slist_append(t->headers, "Content-Type: application/json");
  }
  // An empty Expect stops libcurl from waiting for "100 Continue" on larger bodies.
  t->headers = curl_slist_append(t->headers, "Expect:");
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
}

void Finish(CURLcode code, Transfer* t) {
  curl_off_t total_us = 0;
  curl_easy_getinfo(t->easy, CURLINFO_TOTAL_TIME_T, &total_us);
  t->outcome.latency_ms = static_cast<double>(total_us) / 1000.0;
  if (code != CURLE_OK) {
    t->outcome.reached = false;
    t->outcome.transport_error = !t->egress.refusal.empty() ? t->egress.refusal
                                 : t->error[0] != '\0'       ? t->error
                                                              : curl_easy_strerror(code);
    if (code == CURLE_OPERATION_TIMEDOUT) t->outcome.transport_error = "timeout: " + t->outcome.transport_error;
    return;
  }
  long status = 0;
  curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
  t->outcome.reached = true;
  t->outcome.status = static_cast<int>(status);
}

}  // namespace

std::vector<HttpOutcome> PerformConcurrently(const std::vector<HttpRequest>& requests,
                                             const net::EgressPolicy* egress) {
  InitCurlOnce();
  std::vector<std::unique_ptr<Transfer>> transfers;
  std::vector<HttpOutcome> outcomes(requests.size());
  CURLM* multi = curl_multi_init();
  if (multi == nullptr) {
    for (HttpOutcome& o : outcomes) o.transport_error = "libcurl: cannot create a multi handle";
    return outcomes;
  }
  for (const HttpRequest& request : requests) {
    auto t = std::make_unique<Transfer>();
    t->easy = curl_easy_init();
    t->egress.policy = egress;
    if (t->easy != nullptr) {
      Configure(request, t.get());
      curl_multi_add_handle(multi, t->easy);
    } else {
      t->outcome.transport_error = "libcurl: cannot create a handle";
    }
    transfers.push_back(std::move(t));
  }
  int running = 0;
  do {
    CURLMcode mc = curl_multi_perform(multi, &running);
    if (mc == CURLM_OK && running > 0) mc = curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
    if (mc != CURLM_OK) break;
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      for (auto& t : transfers) {
        if (t->easy == msg->easy_handle) Finish(msg->data.result, t.get());
      }
    }
  } while (running > 0);
  for (size_t i = 0; i < transfers.size(); ++i) {
    Transfer& t = *transfers[i];
    if (t.easy != nullptr) {
      curl_multi_remove_handle(multi, t.easy);
      curl_easy_cleanup(t.easy);
    }
    curl_slist_free_all(t.headers);
    outcomes[i] = std::move(t.outcome);
  }
  curl_multi_cleanup(multi);
  return outcomes;
}

}  // namespace flightdeck::health::smoke
