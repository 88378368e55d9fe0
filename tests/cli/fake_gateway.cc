#include "tests/cli/fake_gateway.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <stdexcept>

namespace flightdeck::cli::testing {
namespace {

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// Reads one request; false when the peer went away first.
bool ReadRequest(int fd, RecordedRequest* request) {
  std::string data;
  char buffer[4096];
  size_t header_end = std::string::npos;
  while ((header_end = data.find("\r\n\r\n")) == std::string::npos) {
    const ssize_t n = read(fd, buffer, sizeof buffer);
    if (n <= 0) return false;
    data.append(buffer, static_cast<size_t>(n));
  }
  const std::string head = data.substr(0, header_end);
  std::string body = data.substr(header_end + 4);

  size_t line_end = head.find("\r\n");
  const std::string request_line = head.substr(0, line_end);
  const size_t sp1 = request_line.find(' ');
  const size_t sp2 = request_line.find(' ', sp1 + 1);
  request->method = request_line.substr(0, sp1);
  request->target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
  while (line_end != std::string::npos && line_end < head.size()) {
    const size_t start = line_end + 2;
    line_end = head.find("\r\n", start);
    const std::string line = head.substr(start, line_end - start);
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    request->headers[Lower(line.substr(0, colon))] = value;
  }
  const auto length = request->headers.find("content-length");
  const size_t want = length == request->headers.end() ? 0 : std::stoul(length->second);
  while (body.size() < want) {
    const ssize_t n = read(fd, buffer, sizeof buffer);
    if (n <= 0) return false;
    body.append(buffer, static_cast<size_t>(n));
  }
  request->body = body;
  return true;
}

bool SendAll(int fd, const std::string& text) {
  size_t sent = 0;
  while (sent < text.size()) {
    const ssize_t n = send(fd, text.data() + sent, text.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

const char* Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 409:
      return "Conflict";
    case 502:
      return "Bad Gateway";
    default:
      return "Status";
  }
}

}  // namespace

FakeGateway::FakeGateway(Handler handler) : handler_(std::move(handler)) {
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listen_fd_, 16) != 0) {
    throw std::runtime_error("fake gateway: cannot listen on 127.0.0.1");
  }
  socklen_t len = sizeof addr;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { Serve(); });
}

FakeGateway::~FakeGateway() {
  shutdown(listen_fd_, SHUT_RDWR);
  thread_.join();
  for (std::thread& stream : streams_) stream.join();
  close(listen_fd_);
}

std::vector<RecordedRequest> FakeGateway::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

void FakeGateway::Serve() {
  for (;;) {
    const int fd = accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) return;  // shut down
    RecordedRequest request;
    if (ReadRequest(fd, &request)) {
      const CannedResponse response = handler_(request);
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(request);
      }
      if (!response.chunks.empty()) {
        streams_.emplace_back([this, fd, response] { Stream(fd, response); });
        continue;  // the stream's thread closes fd
      }
      const std::string text = "HTTP/1.1 " + std::to_string(response.status) + " " +
                               Reason(response.status) +
                               "\r\nContent-Type: " + response.content_type +
                               "\r\nContent-Length: " + std::to_string(response.body.size()) +
                               "\r\nConnection: close\r\n\r\n" + response.body;
      SendAll(fd, text);
    }
    close(fd);
  }
}

void FakeGateway::Stream(int fd, CannedResponse response) {
  bool open =
      SendAll(fd, "HTTP/1.1 " + std::to_string(response.status) + " " + Reason(response.status) +
                      "\r\nContent-Type: " + response.content_type +
                      "\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
  for (size_t i = 0; open && i < response.chunks.size(); ++i) {
    if (response.before_chunk) response.before_chunk(i);
    const std::string& chunk = response.chunks[i];
    if (chunk.empty()) continue;  // an empty chunk would end the body
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", chunk.size());
    open = SendAll(fd, size + chunk + "\r\n");
  }
  if (open) SendAll(fd, "0\r\n\r\n");
  close(fd);
}

}  // namespace flightdeck::cli::testing
