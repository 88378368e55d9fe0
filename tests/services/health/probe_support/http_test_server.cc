#include "tests/services/health/probe_support/http_test_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <stdexcept>

namespace flightdeck::test {
namespace {

std::string Response(int status, const std::string& reason, const std::string& body) {
  return "HTTP/1.1 " + std::to_string(status) + " " + reason +
         "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

bool SendAll(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

bool HasConnectionClose(std::string head) {
  for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return head.find("\r\nconnection: close") != std::string::npos;
}

}  // namespace

HttpTestServer::HttpTestServer() {
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listen_fd_, 128) != 0 ||
      getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error("HttpTestServer: cannot listen on 127.0.0.1");
  }
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { Accept(); });
}

HttpTestServer::~HttpTestServer() {
  stopping_ = true;
  shutdown(listen_fd_, SHUT_RDWR);
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (int fd : connections_) shutdown(fd, SHUT_RDWR);
  }
  stopped_cv_.notify_all();
  acceptor_.join();
  for (auto& t : threads_) t.join();
  for (int fd : connections_) close(fd);
  close(listen_fd_);
}

std::string HttpTestServer::Url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

void HttpTestServer::Accept() {
  while (!stopping_) {
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (stopping_) return;
      continue;
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      close(fd);
      return;
    }
    connections_.push_back(fd);
    threads_.emplace_back([this, fd] { Serve(fd); });
  }
}

void HttpTestServer::Serve(int fd) {
  std::string buffer;
  char chunk[4096];
  while (!stopping_) {
    size_t end;
    while ((end = buffer.find("\r\n\r\n")) == std::string::npos) {
      ssize_t n = recv(fd, chunk, sizeof chunk, 0);
      if (n == 0 && !stopping_) ++closed_by_client_;
      if (n <= 0) return;  // the descriptor is closed by the destructor
      buffer.append(chunk, static_cast<size_t>(n));
    }
    std::string head = buffer.substr(0, end);
    buffer.erase(0, end + 4);
    ++requests_;
    if (HasConnectionClose(head)) ++close_requests_;
    size_t sp1 = head.find(' ');
    size_t sp2 = head.find(' ', sp1 + 1);
    std::string method = head.substr(0, sp1);
    std::string path = head.substr(sp1 + 1, sp2 - sp1 - 1);

    std::string reply;
    if (path == "/ok") {
      reply = Response(200, "OK", "ok");
    } else if (path == "/fail") {
      reply = Response(503, "Service Unavailable", "unavailable");
    } else if (path.rfind("/slow/", 0) == 0) {
      std::unique_lock<std::mutex> lock(mu_);
      stopped_cv_.wait_for(lock, std::chrono::milliseconds(std::stoi(path.substr(6))),
                           [this] { return stopping_.load(); });
      reply = Response(200, "OK", "ok");
    } else if (path == "/hang") {
      std::unique_lock<std::mutex> lock(mu_);
      stopped_cv_.wait(lock, [this] { return stopping_.load(); });
      return;
    } else {
      reply = Response(404, "Not Found", "no such path");
    }
    if (method == "HEAD") reply = reply.substr(0, reply.find("\r\n\r\n") + 4);
    if (!SendAll(fd, reply)) return;
  }
}

}  // namespace flightdeck::test
