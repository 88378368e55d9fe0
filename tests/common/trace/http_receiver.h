#pragma once

// A minimal HTTP/1.1 server on 127.0.0.1:0 that stands in for an OTLP collector: it records
// every request body, answers with a chosen status, and can hold requests until released.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace flightdeck::trace::testing {

struct ReceivedRequest {
  std::string head;  // request line and headers
  std::string body;
};

class HttpReceiver {
 public:
  explicit HttpReceiver(int status = 200) : status_(status) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (listen_fd_ < 0) throw std::runtime_error("socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof(addr);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::listen(listen_fd_, 16) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      throw std::runtime_error("bind/listen on 127.0.0.1:0 failed");
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }

  ~HttpReceiver() {
    Release();
    stop_ = true;
    thread_.join();
    ::close(listen_fd_);
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1/traces"; }

  // While held, requests are read and recorded but not answered.
  void Hold() {
    std::lock_guard<std::mutex> lock(mu_);
    held_ = true;
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    held_ = false;
    changed_.notify_all();
  }

  // Waits until at least n requests arrived; false at the deadline.
  bool WaitForRequests(size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return changed_.wait_for(lock, timeout, [&] { return requests_.size() >= n; });
  }

  std::vector<ReceivedRequest> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  void Serve() {
    std::vector<std::thread> connections;
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      connections.emplace_back([this, fd] { Connection(fd); });
    }
    for (auto& t : connections) t.join();
  }

  // Reads requests on one keep-alive connection until the peer closes or the receiver stops.
  void Connection(int fd) {
    std::string buffer;
    char chunk[8192];
    while (!stop_) {
      size_t head_end = buffer.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        const std::string head = buffer.substr(0, head_end);
        const size_t length = ContentLength(head);
        if (buffer.size() >= head_end + 4 + length) {
          ReceivedRequest request{head, buffer.substr(head_end + 4, length)};
          buffer.erase(0, head_end + 4 + length);
          {
            std::unique_lock<std::mutex> lock(mu_);
            requests_.push_back(std::move(request));
            changed_.notify_all();
            changed_.wait(lock, [this] { return !held_ || stop_; });
          }
          const std::string reply = "HTTP/1.1 " + std::to_string(status_) +
                                    " X\r\nContent-Type: application/json\r\n"
                                    "Content-Length: 2\r\n\r\n{}";
          if (::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL) < 0) break;
          continue;
        }
      }
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
      if (n <= 0) break;
      buffer.append(chunk, static_cast<size_t>(n));
    }
    ::close(fd);
  }

  static size_t ContentLength(std::string head) {
    std::transform(head.begin(), head.end(), head.begin(), ::tolower);
    size_t at = head.find("\r\ncontent-length:");
    if (at == std::string::npos) return 0;
    return std::stoul(head.substr(at + 17));
  }

  const int status_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  bool held_ = false;
  std::vector<ReceivedRequest> requests_;
};

// A port with nothing listening: bound, then closed.
inline int ClosedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace flightdeck::trace::testing
