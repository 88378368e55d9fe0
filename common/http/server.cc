#include "common/http/server.h"

#include "common/http/request_parser.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>

namespace flightdeck::http {
namespace {

using Clock = std::chrono::steady_clock;

// An answer's buffer is kept for the connection's next one up to this size.
constexpr size_t kKeptOutputCapacity = 64 * 1024;

std::string PeerName(const sockaddr_storage& addr) {
  char host[INET6_ADDRSTRLEN] = {0};
  int port = 0;
  if (addr.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
    port = ntohs(a->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&addr);
    inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
    port = ntohs(a->sin6_port);
  }
  return std::string(host) + ":" + std::to_string(port);
}

}  // namespace

std::string_view ServerRequest::Header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return value;
  }
  return {};
}

bool ServerRequest::HasHeader(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return true;
  }
  return false;
}

const char* ReasonPhrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 499: return "Client Closed Request";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return status < 400 ? "OK" : "Error";
  }
}

// One epoll loop thread with its own listener; it owns its connections.
class EventLoop : public std::enable_shared_from_this<EventLoop> {
 public:
  EventLoop(const Server::Options& options, const Server::Handler& handler)
      : options_(options), handler_(handler) {}
  ~EventLoop() {
    if (listen_fd_ >= 0) close(listen_fd_);
    if (wake_fd_ >= 0) close(wake_fd_);
    if (epoll_fd_ >= 0) close(epoll_fd_);
  }

  // Takes `listen_fd` (one listening socket shared by every loop; this loop owns the fd
  // number it is given and closes it) and sets up the loop's epoll.
  void Attach(int listen_fd);
  void Start() { thread_ = std::thread([this] { Run(); }); }
  void Stop() {
    stopping_ = true;
    Wake();
    if (thread_.joinable()) thread_.join();
  }
  // Server::Drain: from the loop thread, stop accepting and let connections finish.
  void BeginDrain() {
    Post([this] { Drain(); });
  }
  bool draining() const { return draining_; }

  // Runs `task` on the loop thread, after the current event (never inside the caller, so that
  // answering from a handler cannot recurse into the next pipelined request).
  void Post(std::function<void()> task) {
    if (InLoopThread()) {
      local_tasks_.push_back(std::move(task));
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      tasks_.push_back(std::move(task));
    }
    Wake();
  }
  bool InLoopThread() const { return std::this_thread::get_id() == thread_.get_id(); }
  size_t connections() const { return connection_count_.load(); }

  const Server::Options& options() const { return options_; }
  const Server::Handler& handler() const { return handler_; }
  void Modify(int fd, uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev);
  }
  void Forget(int fd);

 private:
  void Wake() {
    uint64_t one = 1;
    ssize_t n = write(wake_fd_, &one, sizeof one);
    (void)n;
  }
  void Run();
  void Accept();
  void RunTasks();
  void ExpireIdle();
  void Drain();

  const Server::Options options_;
  const Server::Handler handler_;
  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  bool draining_ = false;  // loop thread only
  std::mutex mu_;
  std::vector<std::function<void()>> tasks_;
  std::vector<std::function<void()>> local_tasks_;  // posted from the loop thread itself
  std::unordered_map<int, std::shared_ptr<Connection>> connections_;
  std::atomic<size_t> connection_count_{0};
};

// One client connection. Lives on its loop's thread; Exchanges reach it through Post().
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(std::shared_ptr<EventLoop> loop, int fd, std::string peer)
      : loop_(std::move(loop)), fd_(fd), peer_(std::move(peer)), last_activity_(Clock::now()) {}
  ~Connection() {
    if (fd_ >= 0) close(fd_);
  }

  int fd() const { return fd_; }
  void OnReadable();
  void OnWritable() { Flush(); }
  void Close();  // closes the socket; pending OnClose callbacks run
  // The server is draining: an idle connection closes now, a busy one after its answer.
  void Drain();
  // Called every second: closes connections idle or slow past their limits.
  void CheckTimeouts(Clock::time_point now);

  // Called (on the loop thread) for the Exchange of the current request.
  void Respond(uint64_t seq, ServerResponse response);
  void BeginStream(uint64_t seq, int status, std::vector<std::pair<std::string, std::string>> headers);
  void WriteChunk(uint64_t seq, std::string data);
  void EndStream(uint64_t seq);
  void AddCloseCallback(uint64_t seq, std::function<void()> callback);
  bool IsCurrent(uint64_t seq) const { return !closed_ && seq == seq_ && state_ != State::kReading; }
  uint64_t seq() const { return seq_; }
  bool closed() const { return closed_; }

 private:
  enum class State { kReading, kAnswering, kStreaming };
  // Parses and dispatches as many buffered requests as the state allows.
  void ProcessInput();
  // Tries to parse one request from in_. Returns false when more bytes are needed.
  bool ParseRequest();
  void Fail(int status, const std::string& message);  // answers an error and closes
  void Queue(std::string_view bytes);
  // out_ with what was sent dropped, to append an answer to in place; Flush() sends it.
  std::string& Output();
  void Flush();
  void AnswerComplete();  // the current answer is fully queued
  void SetInterest();

  std::shared_ptr<EventLoop> loop_;
  int fd_;
  std::string peer_;
  std::string in_;
  std::string out_;
  size_t out_offset_ = 0;
  State state_ = State::kReading;
  uint64_t seq_ = 0;
  bool keep_alive_ = true;
  bool http10_ = false;
  bool close_after_write_ = false;
  std::atomic<bool> closed_{false};  // read from other threads by Exchange::closed()
  bool head_request_ = false;
  bool continue_sent_ = false;
  bool want_write_ = false;
  bool reading_paused_ = false;
  Clock::time_point last_activity_;
  Clock::time_point request_started_{};
  std::vector<std::function<void()>> close_callbacks_;
};

// --- EventLoop -----------------------------------------------------------------------------

namespace {

// The server's one listening socket. Not SO_REUSEPORT: with it, another process of the same
// user could bind the same port and silently take a share of the connections (a second gateway
// started by mistake, or anything else running as this user); the bind must fail instead.
int OpenListener(const std::string& address, int port, int* bound_port) {
  sockaddr_storage addr{};
  socklen_t len = 0;
  if (inet_pton(AF_INET, address.c_str(), &reinterpret_cast<sockaddr_in*>(&addr)->sin_addr) == 1) {
    auto* a = reinterpret_cast<sockaddr_in*>(&addr);
    a->sin_family = AF_INET;
    a->sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, address.c_str(), &reinterpret_cast<sockaddr_in6*>(&addr)->sin6_addr) == 1) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&addr);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(static_cast<uint16_t>(port));
    len = sizeof(sockaddr_in6);
  } else {
    throw std::runtime_error("not an IP address: " + address);
  }
  int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket: " + std::string(strerror(errno)));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // restart over TIME_WAIT only
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    const std::string error = strerror(errno);
    close(fd);
    throw std::runtime_error("bind " + address + ":" + std::to_string(port) + ": " + error);
  }
  if (listen(fd, 1024) != 0) {
    const std::string error = strerror(errno);
    close(fd);
    throw std::runtime_error("listen: " + error);
  }
  sockaddr_storage bound{};
  socklen_t bound_len = sizeof bound;
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_len);
  *bound_port = bound.ss_family == AF_INET ? ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port)
                                           : ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  return fd;
}

}  // namespace

void EventLoop::Attach(int listen_fd) {
  listen_fd_ = listen_fd;
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0) throw std::runtime_error("epoll/eventfd: " + std::string(strerror(errno)));
  epoll_event ev{};
  // EPOLLEXCLUSIVE: a new connection wakes one idle loop, not all of them.
  ev.events = EPOLLIN | EPOLLEXCLUSIVE;
  ev.data.fd = listen_fd_;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev);
  ev.events = EPOLLIN;
  ev.data.fd = wake_fd_;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
}

void EventLoop::Run() {
  constexpr int kMaxEvents = 256;
  epoll_event events[kMaxEvents];
  Clock::time_point next_sweep = Clock::now() + std::chrono::seconds(1);
  while (!stopping_) {
    int n = epoll_wait(epoll_fd_, events, kMaxEvents, 1000);
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == listen_fd_) {
        Accept();
        continue;
      }
      if (fd == wake_fd_) {
        uint64_t count;
        ssize_t r = read(wake_fd_, &count, sizeof count);
        (void)r;
        continue;
      }
      auto it = connections_.find(fd);
      if (it == connections_.end()) continue;
      std::shared_ptr<Connection> c = it->second;
      uint32_t e = events[i].events;
      if (e & (EPOLLIN | EPOLLHUP | EPOLLERR)) c->OnReadable();
      if (!c->closed() && (e & EPOLLOUT)) c->OnWritable();
    }
    RunTasks();
    Clock::time_point now = Clock::now();
    if (now >= next_sweep) {
      next_sweep = now + std::chrono::seconds(1);
      ExpireIdle();
    }
  }
  RunTasks();
  // Server stopping: every connection closes, and the calls behind them are cancelled.
  std::vector<std::shared_ptr<Connection>> all;
  for (auto& [fd, c] : connections_) all.push_back(c);
  for (auto& c : all) c->Close();
  RunTasks();
}

void EventLoop::RunTasks() {
  while (true) {
    std::vector<std::function<void()>> tasks;
    tasks.swap(local_tasks_);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (tasks.empty()) {
        tasks.swap(tasks_);
      } else {
        for (auto& t : tasks_) tasks.push_back(std::move(t));
        tasks_.clear();
      }
    }
    if (tasks.empty()) return;
    for (auto& task : tasks) task();
  }
}

void EventLoop::Accept() {
  // A few at a time: the listener is level-triggered, so what is left wakes another loop (or
  // this one again), and a burst of connections spreads over the loops instead of landing on
  // whichever woke first.
  for (int accepted = 0; accepted < 4; ++accepted) {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    int fd = accept4(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or a transient error (EMFILE...): epoll tells us again
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto c = std::make_shared<Connection>(shared_from_this(), fd, PeerName(addr));
    connections_[fd] = c;
    ++connection_count_;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.fd = fd;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
  }
}

void EventLoop::Drain() {
  draining_ = true;
  // Without a listener the kernel refuses new connections (every loop drains and closes its
  // descriptor of the shared socket, which closes with the last): callers see "connection refused" at once, which
  // a load balancer or client retries elsewhere, instead of a request that is never answered.
  if (listen_fd_ >= 0) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listen_fd_, nullptr);
    close(listen_fd_);
    listen_fd_ = -1;
  }
  std::vector<std::shared_ptr<Connection>> all;
  for (auto& [fd, c] : connections_) all.push_back(c);
  for (auto& c : all) c->Drain();
}

void EventLoop::Forget(int fd) {
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  if (connections_.erase(fd) > 0) --connection_count_;
}

void EventLoop::ExpireIdle() {
  std::vector<std::shared_ptr<Connection>> all;
  all.reserve(connections_.size());
  for (auto& [fd, c] : connections_) all.push_back(c);
  Clock::time_point now = Clock::now();
  for (auto& c : all) c->CheckTimeouts(now);
}

// --- Connection ----------------------------------------------------------------------------

void Connection::OnReadable() {
  char buffer[16384];
  while (!closed_) {
    ssize_t n = recv(fd_, buffer, sizeof buffer, 0);
    if (n > 0) {
      if (state_ == State::kReading && in_.empty()) request_started_ = Clock::now();
      in_.append(buffer, static_cast<size_t>(n));
      last_activity_ = Clock::now();
      // Bytes beyond one whole request wait (pipelining) but are bounded.
      if (in_.size() > loop_->options().max_header_bytes + loop_->options().max_body_bytes + 64 * 1024) {
        if (state_ != State::kReading) {
          reading_paused_ = true;
          SetInterest();
          return;
        }
        break;
      }
      continue;
    }
    if (n == 0) {  // the client closed its side: nobody is left to answer
      Close();
      return;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    Close();
    return;
  }
  ProcessInput();
}

void Connection::ProcessInput() {
  while (!closed_ && state_ == State::kReading && !in_.empty()) {
    if (!ParseRequest()) break;
  }
  if (!closed_ && reading_paused_ && state_ == State::kReading) {
    reading_paused_ = false;
    SetInterest();
  }
}

bool Connection::ParseRequest() {
  const Server::Options& options = loop_->options();
  ParseOutcome parsed = http::ParseRequest(in_, ParseLimits{options.max_header_bytes, options.max_body_bytes});
  if (parsed.kind == ParseOutcome::kError) {
    Fail(parsed.status, parsed.message);
    return false;
  }
  if (parsed.kind == ParseOutcome::kIncomplete) {
    if (parsed.expects_continue && !continue_sent_) {
      continue_sent_ = true;
      Queue("HTTP/1.1 100 Continue\r\n\r\n");
    }
    return false;
  }
  in_.erase(0, parsed.consumed);
  continue_sent_ = false;
  keep_alive_ = parsed.keep_alive && !loop_->draining();
  http10_ = parsed.http10;
  ServerRequest request = std::move(parsed.request);
  request.peer = peer_;

  state_ = State::kAnswering;
  ++seq_;
  head_request_ = request.method == "HEAD";
  // The exchange remembers which request it answers: a late answer is dropped.
  auto exchange = std::make_shared<Exchange>(weak_from_this(), loop_, seq_);
  loop_->handler()(std::move(request), std::move(exchange));
  return true;
}

void Connection::Fail(int status, const std::string& message) {
  const Server::Options& options = loop_->options();
  ServerResponse r;
  if (options.error_response) {
    r = options.error_response(status, message);
  } else {
    r.status = status;
    r.headers = {{"Content-Type", "text/plain; charset=utf-8"}};
    r.body = message + "\n";
  }
  std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " + ReasonPhrase(r.status) + "\r\n";
  for (const auto& [name, value] : r.headers) out += name + ": " + value + "\r\n";
  out += "Content-Length: " + std::to_string(r.body.size()) + "\r\nConnection: close\r\n\r\n" + r.body;
  in_.clear();
  state_ = State::kAnswering;  // nothing more is read from this connection
  close_after_write_ = true;
  Queue(out);
}

std::string& Connection::Output() {
  if (out_offset_ == out_.size()) {
    out_.clear();
    out_offset_ = 0;
  }
  return out_;
}

void Connection::Queue(std::string_view bytes) {
  if (closed_) return;
  Output().append(bytes);
  Flush();
}

void Connection::Flush() {
  while (!closed_ && out_offset_ < out_.size()) {
    ssize_t n = send(fd_, out_.data() + out_offset_, out_.size() - out_offset_, MSG_NOSIGNAL);
    if (n > 0) {
      out_offset_ += static_cast<size_t>(n);
      last_activity_ = Clock::now();
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    Close();
    return;
  }
  if (closed_) return;
  if (out_offset_ == out_.size()) {
    out_.clear();
    out_offset_ = 0;
    // The buffer is kept for the next answer, unless a large one grew it: an idle keep-alive
    // connection holds no more than this.
    if (out_.capacity() > kKeptOutputCapacity) std::string().swap(out_);
    if (close_after_write_) {
      Close();
      return;
    }
  }
  bool want = out_offset_ < out_.size();
  if (want != want_write_) {
    want_write_ = want;
    SetInterest();
  }
}

void Connection::SetInterest() {
  uint32_t events = EPOLLRDHUP;
  if (!reading_paused_) events |= EPOLLIN;
  if (want_write_) events |= EPOLLOUT;
  loop_->Modify(fd_, events);
}

void Connection::Close() {
  if (closed_) return;
  closed_ = true;
  loop_->Forget(fd_);
  close(fd_);
  fd_ = -1;
  std::vector<std::function<void()>> callbacks;
  callbacks.swap(close_callbacks_);
  for (auto& cb : callbacks) cb();
}

void Connection::Drain() {
  if (closed_) return;
  // A request arriving or being answered: answered with "Connection: close", then closed.
  keep_alive_ = false;
  if (state_ == State::kReading && in_.empty()) {
    if (out_offset_ == out_.size()) {
      Close();
      return;
    }
    close_after_write_ = true;  // the last answer is still being written
  }
}

void Connection::CheckTimeouts(Clock::time_point now) {
  if (closed_) return;
  const Server::Options& options = loop_->options();
  if (state_ == State::kReading) {
    if (in_.empty() && now - last_activity_ > options.idle_timeout) {
      Close();
    } else if (!in_.empty() && now - request_started_ > options.request_timeout) {
      Fail(408, "the request did not arrive whole within " +
                    std::to_string(options.request_timeout.count() / 1000) + "s");
    }
  }
}

void Connection::AnswerComplete() {
  close_callbacks_.clear();
  if (!keep_alive_) {
    close_after_write_ = true;
    if (out_offset_ == out_.size()) Close();
    return;
  }
  state_ = State::kReading;
  if (!in_.empty()) request_started_ = Clock::now();
  ProcessInput();
}

void Connection::Respond(uint64_t seq, ServerResponse response) {
  if (!IsCurrent(seq) || state_ != State::kAnswering) return;  // IsCurrent: not closed either
  // Written straight into the connection's output buffer: no copy of the body on the way.
  std::string& out = Output();
  out.reserve(out.size() + 256 + response.body.size());
  out += "HTTP/1.1 ";
  out += std::to_string(response.status);
  out += ' ';
  out += ReasonPhrase(response.status);
  out += "\r\n";
  for (const auto& [name, value] : response.headers) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  out += "Content-Length: ";
  out += std::to_string(response.body.size());
  out += "\r\n";
  if (!keep_alive_) {
    out += "Connection: close\r\n";
  } else if (http10_) {
    out += "Connection: keep-alive\r\n";
  }
  out += "\r\n";
  if (!head_request_) out += response.body;
  Flush();
  if (!closed_) AnswerComplete();
}

void Connection::BeginStream(uint64_t seq, int status,
                             std::vector<std::pair<std::string, std::string>> headers) {
  if (!IsCurrent(seq) || state_ != State::kAnswering) return;
  if (http10_) keep_alive_ = false;  // HTTP/1.0 has no chunked encoding: the close ends the body
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + ReasonPhrase(status) + "\r\n";
  for (const auto& [name, value] : headers) out += name + ": " + value + "\r\n";
  out += http10_ ? "Connection: close\r\n\r\n" : "Transfer-Encoding: chunked\r\n\r\n";
  state_ = State::kStreaming;
  Queue(out);
}

void Connection::WriteChunk(uint64_t seq, std::string data) {
  if (!IsCurrent(seq) || state_ != State::kStreaming || data.empty()) return;  // nor closed
  if (out_.size() - out_offset_ > loop_->options().max_pending_output) {
    Close();  // the client stopped reading: drop it rather than buffer without bound
    return;
  }
  if (http10_) return Queue(data);
  char size[20];
  auto [end, ec] = std::to_chars(size, size + sizeof size, data.size(), 16);
  std::string& out = Output();
  out.append(size, end);
  out += "\r\n";
  out += data;
  out += "\r\n";
  Flush();
}

void Connection::EndStream(uint64_t seq) {
  if (!IsCurrent(seq) || state_ != State::kStreaming) return;
  if (!http10_) Queue("0\r\n\r\n");
  if (!closed_) AnswerComplete();
}

void Connection::AddCloseCallback(uint64_t seq, std::function<void()> callback) {
  if (seq != seq_ || state_ == State::kReading) return;  // answered: nothing to cancel
  if (closed_) return callback();
  close_callbacks_.push_back(std::move(callback));
}

// --- Exchange ------------------------------------------------------------------------------

Exchange::Exchange(std::weak_ptr<Connection> connection, std::shared_ptr<EventLoop> loop, uint64_t seq)
    : connection_(std::move(connection)), loop_(std::move(loop)), seq_(seq) {}

void Exchange::Respond(ServerResponse response) {
  loop_->Post([c = connection_, seq = seq_, r = std::move(response)]() mutable {
    if (auto conn = c.lock()) conn->Respond(seq, std::move(r));
  });
}

void Exchange::BeginStream(int status, std::vector<std::pair<std::string, std::string>> headers) {
  loop_->Post([c = connection_, seq = seq_, status, h = std::move(headers)]() mutable {
    if (auto conn = c.lock()) conn->BeginStream(seq, status, std::move(h));
  });
}

bool Exchange::Write(std::string data) {
  if (closed()) return false;
  loop_->Post([c = connection_, seq = seq_, d = std::move(data)]() mutable {
    if (auto conn = c.lock()) conn->WriteChunk(seq, std::move(d));
  });
  return true;
}

void Exchange::End() {
  loop_->Post([c = connection_, seq = seq_] {
    if (auto conn = c.lock()) conn->EndStream(seq);
  });
}

void Exchange::OnClose(std::function<void()> callback) {
  loop_->Post([c = connection_, seq = seq_, cb = std::move(callback)]() mutable {
    auto conn = c.lock();
    if (!conn) return cb();  // the connection is gone already
    conn->AddCloseCallback(seq, std::move(cb));
  });
}

bool Exchange::closed() const {
  auto conn = connection_.lock();
  return !conn || conn->closed();
}

// --- Server --------------------------------------------------------------------------------

Server::Server(Options options, Handler handler)
    : options_(std::move(options)), handler_(std::move(handler)) {}

Server::~Server() { Stop(); }

void Server::Start() {
  int threads = options_.threads < 1 ? 1 : options_.threads;
  int port = 0;
  const int listen_fd = OpenListener(options_.address, options_.port, &port);
  for (int i = 0; i < threads; ++i) {
    auto loop = std::make_shared<EventLoop>(options_, handler_);
    const int fd = i == 0 ? listen_fd : dup(listen_fd);  // each loop closes its own descriptor
    if (fd < 0) throw std::runtime_error("dup: " + std::string(strerror(errno)));
    loop->Attach(fd);
    loops_.push_back(std::move(loop));
  }
  port_ = port;
  for (auto& loop : loops_) loop->Start();
}

bool Server::Drain(std::chrono::milliseconds grace) {
  for (auto& loop : loops_) loop->BeginDrain();
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (open_connections() > 0) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

void Server::Stop() {
  for (auto& loop : loops_) loop->Stop();
  loops_.clear();
}

size_t Server::open_connections() const {
  size_t n = 0;
  for (const auto& loop : loops_) n += loop->connections();
  return n;
}

}  // namespace flightdeck::http
