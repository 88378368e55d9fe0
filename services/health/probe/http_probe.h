#pragma once

#include <curl/curl.h>

#include <memory>
#include <vector>

#include "services/health/probe/active_probe.h"

// HTTP through one libcurl multi handle whose sockets and timer live on the engine's epoll:
// connections (and TLS sessions, DNS answers) are reused across probes of the same host, unless
// the probe's spec says reuse_connections false (then a connection per probe, closed after).
namespace flightdeck::health::internal {

class CurlDriver {
 public:
  CurlDriver(EventLoop& loop, int max_connections);  // throws std::runtime_error
  ~CurlDriver();
  CurlDriver(const CurlDriver&) = delete;
  CurlDriver& operator=(const CurlDriver&) = delete;

  // Engine thread. A handle from the free list (reset) or a new one.
  CURL* Acquire();
  void Add(CURL* easy);
  // Takes the handle out of the multi (if added) and keeps it for the next probe.
  void Release(CURL* easy, bool added);
  // The request header of probes that do not reuse connections; lives as long as the driver.
  curl_slist* connection_close() const { return connection_close_; }

 private:
  class SocketWatch;
  static int OnSocket(CURL* easy, curl_socket_t s, int what, void* userp, void* socketp);
  static int OnTimer(CURLM* multi, long timeout_ms, void* userp);
  void Act(curl_socket_t s, int flags);
  // Hands finished transfers to their probes.
  void Reap();

  EventLoop& loop_;
  CURLM* multi_;
  EventLoop::TimerId timer_ = 0;
  std::vector<CURL*> free_;
  curl_slist* connection_close_ = nullptr;
};

std::unique_ptr<ActiveProbe> NewHttpProbe(ProbeHost& host, uint64_t id, ProbeSpec spec,
                                          Prober::Callback done);

// "status 503 not in [200]" or empty when the status is expected; `expected` empty: 200..399.
std::string CheckStatus(int status, const std::vector<int>& expected);

}  // namespace flightdeck::health::internal
