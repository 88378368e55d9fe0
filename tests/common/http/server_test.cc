// Unit: the HTTP/1.1 server the gateway's fronts run on, driven over real loopback sockets
// with hand-written requests, so that what is checked is the bytes a client sees.
#include "common/http/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

namespace flightdeck::http {
namespace {

using namespace std::chrono_literals;

class Client {
 public:
  explicit Client(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    EXPECT_EQ(connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  }
  ~Client() {
    if (fd_ >= 0) close(fd_);
  }
  void Send(const std::string& bytes) { ASSERT_EQ(send(fd_, bytes.data(), bytes.size(), 0), ssize_t(bytes.size())); }
  // Reads until `until` appears in what was read (or the peer closes, or 5 s pass).
  std::string ReadUntil(const std::string& until) {
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (buffer_.find(until) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      if (!ReadSome()) break;
    }
    size_t at = buffer_.find(until);
    if (at == std::string::npos) return std::exchange(buffer_, "");
    std::string out = buffer_.substr(0, at + until.size());
    buffer_.erase(0, at + until.size());
    return out;
  }
  // True when the server closed the connection within 5 s.
  bool ClosedByPeer() {
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      char c[4096];
      ssize_t n = recv(fd_, c, sizeof c, 0);
      if (n == 0) return true;
      if (n < 0) return true;
      buffer_.append(c, size_t(n));
    }
    return false;
  }
  void Close() {
    close(fd_);
    fd_ = -1;
  }

 private:
  bool ReadSome() {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) return true;
    char c[4096];
    ssize_t n = recv(fd_, c, sizeof c, 0);
    if (n <= 0) return false;
    buffer_.append(c, size_t(n));
    return true;
  }
  int fd_ = -1;
  std::string buffer_;
};

ServerResponse Text(int status, std::string body) {
  return ServerResponse{status, {{"Content-Type", "text/plain"}}, std::move(body)};
}

class ServerTest : public ::testing::Test {
 protected:
  void Start(Server::Handler handler, Server::Options options = {}) {
    options.address = "127.0.0.1";
    options.port = 0;
    server_ = std::make_unique<Server>(options, std::move(handler));
    server_->Start();
  }
  void TearDown() override {
    if (server_) server_->Stop();
  }
  std::unique_ptr<Server> server_;
};

TEST_F(ServerTest, KeepsTheConnectionOpenWithoutAConnectionHeader) {
  Start([](ServerRequest r, std::shared_ptr<Exchange> e) { e->Respond(Text(200, r.method + " " + r.path)); });
  Client c(server_->port());
  c.Send("GET /a?x=1 HTTP/1.1\r\nHost: t\r\n\r\n");
  std::string first = c.ReadUntil("GET /a");
  EXPECT_NE(first.find("HTTP/1.1 200 OK\r\n"), std::string::npos) << first;
  EXPECT_EQ(first.find("Connection: close"), std::string::npos) << first;
  c.Send("GET /b HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_NE(c.ReadUntil("GET /b").find("200 OK"), std::string::npos);
  EXPECT_EQ(server_->open_connections(), 1u);
}

// The port is the server's alone: no other socket, even one of the same user asking for
// SO_REUSEPORT, can bind it and take a share of the connections; a second server fails to
// start. The loops still share the one listener: while one is busy, another accepts.
TEST_F(ServerTest, OwnsItsPortAloneAndAnIdleLoopAcceptsWhileAnotherIsBusy) {
  std::mutex mu;
  std::condition_variable cv;
  std::thread::id slow_loop, fast_loop;
  Start([&](ServerRequest r, std::shared_ptr<Exchange> e) {
    if (r.path == "/slow") {
      {
        std::lock_guard<std::mutex> lock(mu);
        slow_loop = std::this_thread::get_id();
      }
      cv.notify_all();
      std::this_thread::sleep_for(300ms);  // this loop is busy (a handler must not block: here it does)
    } else {
      std::lock_guard<std::mutex> lock(mu);
      fast_loop = std::this_thread::get_id();
    }
    e->Respond(Text(200, "ok"));
  });
  const int port = server_->port();

  const int other = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(other, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  setsockopt(other, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  EXPECT_NE(bind(other, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << "another socket joined the port";
  EXPECT_EQ(errno, EADDRINUSE);
  close(other);

  Server::Options same;
  same.address = "127.0.0.1";
  same.port = port;
  Server second(same, [](ServerRequest, std::shared_ptr<Exchange> e) { e->Respond(Text(200, "second")); });
  EXPECT_THROW(second.Start(), std::runtime_error);

  Client slow(port);
  slow.Send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 5s, [&] { return slow_loop != std::thread::id(); }));
  }
  Client fast(port);
  fast.Send("GET /fast HTTP/1.1\r\nHost: t\r\n\r\n");
  EXPECT_NE(fast.ReadUntil("ok").find("200 OK"), std::string::npos);
  EXPECT_NE(slow.ReadUntil("ok").find("200 OK"), std::string::npos);
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_NE(fast_loop, slow_loop) << "the new connection waited for the busy loop";
}

TEST_F(ServerTest, AnswersPipelinedRequestsInOrder) {
  // The first answer comes late, from another thread: the second must still follow it.
  Start([](ServerRequest r, std::shared_ptr<Exchange> e) {
    if (r.path == "/slow") {
      std::thread([e] {
        std::this_thread::sleep_for(50ms);
        e->Respond(Text(200, "slow"));
      }).detach();
    } else {
      e->Respond(Text(200, "fast"));
    }
  });
  Client c(server_->port());
  c.Send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\nGET /fast HTTP/1.1\r\nHost: t\r\n\r\n");
  std::string both = c.ReadUntil("fast");
  ASSERT_NE(both.find("slow"), std::string::npos) << both;
  EXPECT_LT(both.find("slow"), both.find("fast"));
}

TEST_F(ServerTest, ReadsContentLengthAndChunkedBodiesAndAnswersExpectContinue) {
  Start([](ServerRequest r, std::shared_ptr<Exchange> e) { e->Respond(Text(200, "[" + r.body + "]")); });
  Client c(server_->port());
  c.Send("POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello");
  EXPECT_NE(c.ReadUntil("[hello]").find("[hello]"), std::string::npos);
  c.Send("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n");
  EXPECT_NE(c.ReadUntil("[abcde]").find("[abcde]"), std::string::npos);
  c.Send("POST /x HTTP/1.1\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_NE(c.ReadUntil("\r\n\r\n").find("HTTP/1.1 100 Continue"), std::string::npos);
  c.Send("ok");
  EXPECT_NE(c.ReadUntil("[ok]").find("[ok]"), std::string::npos);
}

TEST_F(ServerTest, RefusesOversizedAndMalformedRequestsAndCloses) {
  Server::Options options;
  options.max_body_bytes = 10;
  options.error_response = [](int status, const std::string& message) {
    return ServerResponse{status, {{"Content-Type", "application/json"}}, "{\"error\":\"" + message + "\"}"};
  };
  std::atomic<int> handled{0};
  Start([&](ServerRequest, std::shared_ptr<Exchange> e) {
    ++handled;
    e->Respond(Text(200, "no"));
  }, options);
  {
    Client c(server_->port());
    c.Send("POST /x HTTP/1.1\r\nContent-Length: 11\r\n\r\n");
    std::string r = c.ReadUntil("}");
    EXPECT_NE(r.find("HTTP/1.1 413"), std::string::npos) << r;
    EXPECT_NE(r.find("exceeds the limit of 10"), std::string::npos) << r;
    EXPECT_TRUE(c.ClosedByPeer());
  }
  for (const char* bad : {"GET /x HTTP/2.0\r\n\r\n", "GET /x HTTP/1.1\r\nBad Header\r\n\r\n",
                          "POST /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                          "POST /x HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
                          "GET /x HTTP/1.1\r\nA: b\r\n folded\r\n\r\n"}) {
    Client c(server_->port());
    c.Send(bad);
    EXPECT_NE(c.ReadUntil("}").find("HTTP/1.1 400"), std::string::npos) << bad;
    EXPECT_TRUE(c.ClosedByPeer()) << bad;
  }
  EXPECT_EQ(handled.load(), 0);
}

TEST_F(ServerTest, HonoursConnectionCloseAndHttp10) {
  Start([](ServerRequest, std::shared_ptr<Exchange> e) { e->Respond(Text(200, "bye")); });
  {
    Client c(server_->port());
    c.Send("GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
    EXPECT_NE(c.ReadUntil("bye").find("Connection: close"), std::string::npos);
    EXPECT_TRUE(c.ClosedByPeer());
  }
  {
    Client c(server_->port());
    c.Send("GET / HTTP/1.0\r\n\r\n");
    c.ReadUntil("bye");
    EXPECT_TRUE(c.ClosedByPeer());
  }
}

TEST_F(ServerTest, StreamsChunksAsTheyAreWritten) {
  std::shared_ptr<Exchange> held;
  std::mutex mu;
  std::condition_variable cv;
  Start([&](ServerRequest, std::shared_ptr<Exchange> e) {
    e->BeginStream(200, {{"Content-Type", "application/x-ndjson"}});
    e->Write("one\n");
    std::lock_guard<std::mutex> lock(mu);
    held = e;
    cv.notify_all();
  });
  Client c(server_->port());
  c.Send("GET /watch HTTP/1.1\r\n\r\n");
  std::string head = c.ReadUntil("one\n\r\n");
  EXPECT_NE(head.find("Transfer-Encoding: chunked"), std::string::npos) << head;
  EXPECT_NE(head.find("4\r\none\n\r\n"), std::string::npos) << head;
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, 5s, [&] { return held != nullptr; });
  }
  std::thread([held] {  // later chunks come from another thread, as a gRPC stream's do
    held->Write("two\n");
    held->End();
  }).join();
  std::string tail = c.ReadUntil("0\r\n\r\n");
  EXPECT_NE(tail.find("4\r\ntwo\n\r\n0\r\n\r\n"), std::string::npos) << tail;
  // The connection is reusable after the stream.
  held.reset();
}

TEST_F(ServerTest, TellsTheAnswerSideWhenTheClientGoesAway) {
  std::atomic<bool> closed{false};
  std::shared_ptr<Exchange> held;
  std::atomic<bool> ready{false};
  Start([&](ServerRequest, std::shared_ptr<Exchange> e) {
    e->BeginStream(200, {});
    e->OnClose([&] { closed = true; });
    held = e;
    ready = true;
  });
  {
    Client c(server_->port());
    c.Send("GET /watch HTTP/1.1\r\n\r\n");
    c.ReadUntil("\r\n\r\n");
    for (int i = 0; i < 500 && !ready; ++i) std::this_thread::sleep_for(10ms);
    c.Close();
  }
  for (int i = 0; i < 500 && !closed; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(closed.load());
  EXPECT_TRUE(held->closed());
  EXPECT_FALSE(held->Write("late\n"));  // no crash, no effect
  held->End();
}

TEST_F(ServerTest, AnswersAfterTheServerStoppedAreDropped) {
  std::shared_ptr<Exchange> held;
  std::atomic<bool> ready{false};
  std::atomic<bool> closed{false};
  Start([&](ServerRequest, std::shared_ptr<Exchange> e) {
    e->OnClose([&] { closed = true; });
    held = e;
    ready = true;
  });
  Client c(server_->port());
  c.Send("GET / HTTP/1.1\r\n\r\n");
  for (int i = 0; i < 500 && !ready; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(ready.load());
  server_->Stop();
  EXPECT_TRUE(closed.load());  // the call behind it would be cancelled
  held->Respond(Text(200, "too late"));
}

}  // namespace
}  // namespace flightdeck::http
