#include "services/health/probe/socket_probes.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "common/config/url.h"
#include "services/health/probe/resolver.h"

namespace flightdeck::health::internal {
namespace {

std::string RespCommand(const std::vector<std::string>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto& a : args) out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return out;
}

// Connects to each resolved address in turn until one accepts; then hands over to Connected().
class StreamProbe : public ActiveProbe {
 public:
  using ActiveProbe::ActiveProbe;

  void Close() override {
    if (fd_ >= 0) {
      host_.loop().Unwatch(fd_);
      close(fd_);
      fd_ = -1;
    }
  }

  void OnFdEvent(uint32_t events) override {
    if (finished()) return;
    if (!connected_) {
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        ConnectFailed(err);
        return;
      }
      connected_ = true;
      Connected();
      return;
    }
    OnReady(events);
  }

 protected:
  void Connect(const std::string& host, int port) {
    uint64_t id = this->id();
    ProbeHost& probe_host = host_;
    host_.resolver().Resolve(host, port, [&probe_host, id](const std::vector<Address>& addresses,
                                                           const std::string& error) {
      auto* self = static_cast<StreamProbe*>(probe_host.Find(id));
      if (self == nullptr) return;  // timed out while resolving
      if (!error.empty()) {
        self->Fail(error);
        return;
      }
      self->addresses_ = addresses;
      self->TryNextAddress();
    });
  }

  virtual void Connected() = 0;
  virtual void OnReady(uint32_t events) = 0;
  int fd() const { return fd_; }

 private:
  void TryNextAddress() {
    while (next_address_ < addresses_.size()) {
      const Address& a = addresses_[next_address_++];
      fd_ = socket(a.storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd_ < 0) {
        last_errno_ = errno;
        continue;
      }
      if (connect(fd_, reinterpret_cast<const sockaddr*>(&a.storage), a.length) == 0) {
        connected_ = true;
        host_.loop().Watch(fd_, EPOLLIN, this);
        Connected();
        return;
      }
      if (errno == EINPROGRESS) {
        if (!host_.loop().Watch(fd_, EPOLLOUT, this)) Fail("cannot watch socket");
        return;
      }
      last_errno_ = errno;
      close(fd_);
      fd_ = -1;
    }
    Fail(ErrnoText(last_errno_));
  }

  void ConnectFailed(int err) {
    last_errno_ = err;
    host_.loop().Unwatch(fd_);
    close(fd_);
    fd_ = -1;
    TryNextAddress();
  }

  int fd_ = -1;
  bool connected_ = false;
  std::vector<Address> addresses_;
  size_t next_address_ = 0;
  int last_errno_ = ECONNREFUSED;
};

class TcpProbe final : public StreamProbe {
 public:
  using StreamProbe::StreamProbe;
  void Begin() override {
    std::string host;
    int port;
    if (!SplitHostPort(spec().address, &host, &port)) {
      Fail("address must be host:port");
      return;
    }
    Connect(host, port);
  }

 private:
  void Connected() override { Pass(); }
  void OnReady(uint32_t) override {}
};

class RedisProbe final : public StreamProbe {
 public:
  using StreamProbe::StreamProbe;
  void Begin() override {
    RedisUrl url;
    std::string error;
    if (!ParseRedisUrl(spec().url, &url, &error)) {
      Fail(error);
      return;
    }
    // Pipelined: the replies come back in this order, and the first error decides.
    if (url.has_password) {
      if (url.user.empty()) {
        request_ += RespCommand({"AUTH", url.password});
      } else {
        request_ += RespCommand({"AUTH", url.user, url.password});
      }
      expected_.push_back("AUTH");
    }
    if (url.db >= 0) {
      request_ += RespCommand({"SELECT", std::to_string(url.db)});
      expected_.push_back("SELECT");
    }
    request_ += RespCommand({"PING"});
    expected_.push_back("PING");
    Connect(url.host, url.port);
  }

 private:
  void Connected() override {
    host_.loop().Watch(fd(), EPOLLIN | EPOLLOUT, this);
  }

  void OnReady(uint32_t events) override {
    if (events & EPOLLOUT) {
      while (written_ < request_.size()) {
        ssize_t n = send(fd(), request_.data() + written_, request_.size() - written_,
                         MSG_NOSIGNAL);
        if (n < 0) {
          if (errno == EAGAIN) break;
          Fail(ErrnoText(errno));
          return;
        }
        written_ += static_cast<size_t>(n);
      }
      if (written_ == request_.size()) host_.loop().Watch(fd(), EPOLLIN, this);
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
      char buf[512];
      ssize_t n = recv(fd(), buf, sizeof buf, 0);
      if (n < 0) {
        if (errno != EAGAIN) Fail(ErrnoText(errno));
        return;
      }
      if (n == 0) {
        Fail("connection closed before reply to " + expected_[replies_]);
        return;
      }
      reply_.append(buf, static_cast<size_t>(n));
      ParseReplies();
    }
  }

  void ParseReplies() {
    size_t eol;
    while ((eol = reply_.find("\r\n")) != std::string::npos) {
      std::string line = reply_.substr(0, eol);
      reply_.erase(0, eol + 2);
      const std::string& command = expected_[replies_++];
      if (!line.empty() && line[0] == '-') {
        Fail(command + " failed: " + FirstLine(line.substr(1), 120));
        return;
      }
      if (command == "PING") {
        if (line == "+PONG") {
          Pass("PONG");
        } else {
          Fail("unexpected reply to PING: " + FirstLine(line, 60));
        }
        return;
      }
      if (line != "+OK") {
        Fail("unexpected reply to " + command + ": " + FirstLine(line, 60));
        return;
      }
    }
    if (reply_.size() > 4096) Fail("reply too long");
  }

  std::string request_;
  size_t written_ = 0;
  std::vector<std::string> expected_;
  size_t replies_ = 0;
  std::string reply_;
};

}  // namespace

bool ParseRedisUrl(const std::string& url, RedisUrl* out, std::string* error) {
  std::string rest;
  if (url.rfind("redis://", 0) == 0) {
    rest = url.substr(8);
  } else {
    *error = "url must start with redis://";
    return false;
  }
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  if (slash != std::string::npos) {
    std::string db = rest.substr(slash + 1);
    db = db.substr(0, db.find('?'));
    if (!db.empty()) {
      if (db.size() > 4 || db.find_first_not_of("0123456789") != std::string::npos) {
        *error = "database in url must be a number";
        return false;
      }
      out->db = std::stoi(db);
    }
  }
  size_t at = authority.rfind('@');
  if (at != std::string::npos) {
    std::string userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    size_t colon = userinfo.find(':');
    if (colon == std::string::npos) {
      // redis://secret@host: a lone userinfo is the password, as redis-cli reads it.
      out->password = config::PercentDecode(userinfo);
    } else {
      out->user = config::PercentDecode(userinfo.substr(0, colon));
      out->password = config::PercentDecode(userinfo.substr(colon + 1));
    }
    out->has_password = true;
  }
  if (authority.empty()) {
    *error = "url has no host";
    return false;
  }
  if (authority.find(':') == std::string::npos ||
      (authority[0] == '[' && authority.back() == ']')) {
    out->host = authority[0] == '[' ? authority.substr(1, authority.size() - 2) : authority;
    return true;
  }
  if (!SplitHostPort(authority, &out->host, &out->port)) {
    *error = "url has a bad port";
    return false;
  }
  return true;
}

std::unique_ptr<ActiveProbe> NewTcpProbe(ProbeHost& host, uint64_t id, ProbeSpec spec,
                                         Prober::Callback done) {
  return std::make_unique<TcpProbe>(host, id, std::move(spec), std::move(done));
}

std::unique_ptr<ActiveProbe> NewRedisProbe(ProbeHost& host, uint64_t id, ProbeSpec spec,
                                           Prober::Callback done) {
  return std::make_unique<RedisProbe>(host, id, std::move(spec), std::move(done));
}

}  // namespace flightdeck::health::internal
