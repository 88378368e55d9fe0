#include "services/health/probe/http_probe.h"

#include <algorithm>
#include <cerrno>
#include <stdexcept>

#include "common/net/curl_egress.h"

namespace flightdeck::health::internal {
namespace {

// Enough for a health page; a larger body is searched only in its first megabyte.
constexpr size_t kMaxBody = 1 << 20;
constexpr size_t kMaxFreeHandles = 256;

// The engine delivers a finished transfer here through CURLINFO_PRIVATE.
class HttpProbe;
void Complete(HttpProbe* probe, CURLcode code);

class HttpProbe final : public ActiveProbe {
 public:
  using ActiveProbe::ActiveProbe;
  ~HttpProbe() override { Close(); }

  void Begin() override {
    if (spec().url.rfind("http://", 0) != 0 && spec().url.rfind("https://", 0) != 0) {
      Fail("url must start with http:// or https://");
      return;
    }
    easy_ = host_.curl().Acquire();
    long timeout_ms = static_cast<long>(spec().timeout.count());
    curl_easy_setopt(easy_, CURLOPT_URL, spec().url.c_str());
    curl_easy_setopt(easy_, CURLOPT_PRIVATE, this);
    curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy_, CURLOPT_USERAGENT, "flightdeck-probe/1");
    // The engine's own deadline ends the probe; curl's is a backstop.
    curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, timeout_ms + 1000);
    curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, error_buffer_);
    if (spec().head) curl_easy_setopt(easy_, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &HttpProbe::OnBody);
    curl_easy_setopt(easy_, CURLOPT_WRITEDATA, this);
    if (!spec().reuse_connections) {
      // A connection of its own, closed when the transfer ends: neither taken from nor left in
      // the multi handle's cache, and no TLS session resumed. HTTP/1.1, where `Connection:
      // close` means something (HTTP/2 forbids the header, and its preface would only add
      // round trips to a connection that carries one request).
      curl_easy_setopt(easy_, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
      curl_easy_setopt(easy_, CURLOPT_FRESH_CONNECT, 1L);
      curl_easy_setopt(easy_, CURLOPT_FORBID_REUSE, 1L);
      curl_easy_setopt(easy_, CURLOPT_SSL_SESSIONID_CACHE, 0L);
      curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, host_.curl().connection_close());
    }
    egress_.policy = host_.egress();
    net::CheckEgressOnConnect(easy_, &egress_);
    host_.curl().Add(easy_);
    added_ = true;
  }

  void Close() override {
    if (easy_ == nullptr) return;
    host_.curl().Release(easy_, added_);
    easy_ = nullptr;
    added_ = false;
  }

  void OnFdEvent(uint32_t) override {}

  void Done(CURLcode code) {
    if (finished()) return;
    if (code != CURLE_OK) {
      Fail(!egress_.refusal.empty() ? egress_.refusal : TransferError(code));
      return;
    }
    long status = 0;
    curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &status);
    ProbeOutcome outcome;
    outcome.status_code = static_cast<int>(status);
    outcome.error = CheckStatus(outcome.status_code, spec().expect_status);
    if (outcome.error.empty() && !spec().body_contains.empty() &&
        body_.find(spec().body_contains) == std::string::npos) {
      outcome.error = "body does not contain \"" + FirstLine(spec().body_contains, 60) + "\"";
    }
    if (outcome.error.empty() && spec().max_latency.count() > 0) {
      auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - start());
      if (elapsed > spec().max_latency) {
        outcome.error = "latency " + std::to_string(elapsed.count()) + " ms over " +
                        std::to_string(spec().max_latency.count()) + " ms";
      }
    }
    outcome.ok = outcome.error.empty();
    host_.Finish(this, std::move(outcome));
  }

 private:
  static size_t OnBody(char* data, size_t size, size_t count, void* userp) {
    auto* self = static_cast<HttpProbe*>(userp);
    size_t n = size * count;
    if (!self->spec().body_contains.empty() && self->body_.size() < kMaxBody) {
      self->body_.append(data, std::min(n, kMaxBody - self->body_.size()));
    }
    return n;
  }

  std::string TransferError(CURLcode code) {
    long os_errno = 0;
    curl_easy_getinfo(easy_, CURLINFO_OS_ERRNO, &os_errno);
    switch (code) {
      case CURLE_OPERATION_TIMEDOUT:
        return TimeoutText(spec().timeout);
      case CURLE_COULDNT_CONNECT:
        return os_errno != 0 ? ErrnoText(static_cast<int>(os_errno)) : "cannot connect";
      case CURLE_COULDNT_RESOLVE_HOST:
        return "cannot resolve host";
      case CURLE_GOT_NOTHING:
        return "empty reply";
      case CURLE_RECV_ERROR:
      case CURLE_SEND_ERROR:
        return os_errno != 0 ? ErrnoText(static_cast<int>(os_errno))
                             : std::string(curl_easy_strerror(code));
      default:
        break;
    }
    // TLS and protocol errors: curl's detail names the certificate problem; it never holds the
    // URL's credentials.
    std::string detail = error_buffer_[0] != '\0' ? error_buffer_ : curl_easy_strerror(code);
    return FirstLine(detail);
  }

  CURL* easy_ = nullptr;
  bool added_ = false;
  net::CurlEgressGuard egress_;  // the connection's address is checked as curl opens it
  std::string body_;
  char error_buffer_[CURL_ERROR_SIZE] = {};
};

}  // namespace

class CurlDriver::SocketWatch final : public FdHandler {
 public:
  SocketWatch(CurlDriver& driver, curl_socket_t fd) : driver_(driver), fd_(fd) {}
  void OnFdEvent(uint32_t events) override {
    if (closed_) return;
    int flags = 0;
    if (events & EPOLLIN) flags |= CURL_CSELECT_IN;
    if (events & EPOLLOUT) flags |= CURL_CSELECT_OUT;
    if (events & (EPOLLERR | EPOLLHUP)) flags |= CURL_CSELECT_ERR;
    driver_.Act(fd_, flags);
  }
  bool closed_ = false;

 private:
  CurlDriver& driver_;
  curl_socket_t fd_;
};

CurlDriver::CurlDriver(EventLoop& loop, int max_connections) : loop_(loop) {
  multi_ = curl_multi_init();
  if (multi_ == nullptr) throw std::runtime_error("curl_multi_init failed");
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &CurlDriver::OnSocket);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &CurlDriver::OnTimer);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
  if (max_connections > 0) {
    curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, static_cast<long>(max_connections));
  }
  connection_close_ = curl_slist_append(nullptr, "Connection: close");
  if (connection_close_ == nullptr) throw std::runtime_error("curl_slist_append failed");
}

CurlDriver::~CurlDriver() {
  loop_.CancelTimer(timer_);
  for (CURL* easy : free_) curl_easy_cleanup(easy);
  curl_multi_cleanup(multi_);
  curl_slist_free_all(connection_close_);
}

CURL* CurlDriver::Acquire() {
  if (free_.empty()) return curl_easy_init();
  CURL* easy = free_.back();
  free_.pop_back();
  return easy;
}

void CurlDriver::Add(CURL* easy) { curl_multi_add_handle(multi_, easy); }

void CurlDriver::Release(CURL* easy, bool added) {
  if (added) curl_multi_remove_handle(multi_, easy);
  if (free_.size() >= kMaxFreeHandles) {
    curl_easy_cleanup(easy);
    return;
  }
  curl_easy_reset(easy);
  free_.push_back(easy);
}

int CurlDriver::OnSocket(CURL*, curl_socket_t s, int what, void* userp, void* socketp) {
  auto* self = static_cast<CurlDriver*>(userp);
  auto* watch = static_cast<SocketWatch*>(socketp);
  if (what == CURL_POLL_REMOVE) {
    if (watch != nullptr) {
      self->loop_.Unwatch(s);
      watch->closed_ = true;
      curl_multi_assign(self->multi_, s, nullptr);
      self->loop_.DeleteLater(std::unique_ptr<FdHandler>(watch));
    }
    return 0;
  }
  if (watch == nullptr) {
    watch = new SocketWatch(*self, s);
    curl_multi_assign(self->multi_, s, watch);
  }
  uint32_t events = 0;
  if (what == CURL_POLL_IN || what == CURL_POLL_INOUT) events |= EPOLLIN;
  if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT) events |= EPOLLOUT;
  self->loop_.Watch(s, events, watch);
  return 0;
}

int CurlDriver::OnTimer(CURLM*, long timeout_ms, void* userp) {
  auto* self = static_cast<CurlDriver*>(userp);
  self->loop_.CancelTimer(self->timer_);
  self->timer_ = 0;
  if (timeout_ms < 0) return 0;
  // curl may not be re-entered from its own callback: act from the loop.
  self->timer_ = self->loop_.AddTimer(
      std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms), [self] {
        self->timer_ = 0;
        self->Act(CURL_SOCKET_TIMEOUT, 0);
      });
  return 0;
}

void CurlDriver::Act(curl_socket_t s, int flags) {
  int running = 0;
  curl_multi_socket_action(multi_, s, flags, &running);
  Reap();
}

void CurlDriver::Reap() {
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    HttpProbe* probe = nullptr;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&probe));
    CURLcode code = msg->data.result;
    if (probe != nullptr) Complete(probe, code);
  }
}

namespace {
void Complete(HttpProbe* probe, CURLcode code) { probe->Done(code); }
}  // namespace

std::string CheckStatus(int status, const std::vector<int>& expected) {
  if (expected.empty()) {
    if (status >= 200 && status <= 399) return "";
    return "status " + std::to_string(status) + " not in [200..399]";
  }
  if (std::find(expected.begin(), expected.end(), status) != expected.end()) return "";
  std::string list;
  for (int s : expected) list += (list.empty() ? "" : ", ") + std::to_string(s);
  return "status " + std::to_string(status) + " not in [" + list + "]";
}

std::unique_ptr<ActiveProbe> NewHttpProbe(ProbeHost& host, uint64_t id, ProbeSpec spec,
                                          Prober::Callback done) {
  return std::make_unique<HttpProbe>(host, id, std::move(spec), std::move(done));
}

}  // namespace flightdeck::health::internal
