#include "services/health/probe/postgres_probe.h"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>

#include <cstdlib>
#include <vector>

#include "services/health/probe/resolver.h"

namespace flightdeck::health::internal {
namespace {

class PostgresProbe final : public ActiveProbe {
 public:
  using ActiveProbe::ActiveProbe;
  ~PostgresProbe() override { Close(); }

  void Begin() override {
    char* parse_error = nullptr;
    PQconninfoOption* options = PQconninfoParse(spec().url.c_str(), &parse_error);
    if (options == nullptr) {
      // libpq's parse message may quote the URL, password included: never pass it on.
      if (parse_error != nullptr) PQfreemem(parse_error);
      Fail("invalid connection url");
      return;
    }
    std::string host;
    std::string hostaddr;
    int port = 5432;
    bool has_hostaddr = false;
    for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
      if (o->val == nullptr) continue;
      keys_.emplace_back(o->keyword);
      values_.emplace_back(o->val);
      if (keys_.back() == "host") host = o->val;
      if (keys_.back() == "hostaddr") {
        has_hostaddr = true;
        hostaddr = o->val;
      }
      if (keys_.back() == "port") port = std::atoi(o->val);
    }
    PQconninfoFree(options);
    // libpq resolves host names with a blocking getaddrinfo inside PQconnectPoll: give it the
    // address (our resolver's) so that the engine thread never waits on DNS.
    bool needs_resolving = !host.empty() && !has_hostaddr && host[0] != '/' &&
                           host.find(',') == std::string::npos;
    if (!needs_resolving) {
      if (host_.egress() != nullptr) {
        // Only a TCP address can be checked: a Unix socket (no host, or a path) reaches this
        // machine's server, and a host list would connect past the first checked address.
        if (!has_hostaddr || hostaddr.find(',') != std::string::npos) {
          Fail("egress policy: a POSTGRES probe needs one TCP host (not a Unix socket or a host list)");
          return;
        }
        auto ip = net::ParseIp(hostaddr);
        if (!ip) {
          Fail("egress policy: hostaddr is not an IP address");
          return;
        }
        if (auto refusal = host_.egress()->Refusal(*ip, port)) {
          Fail(*refusal);
          return;
        }
      }
      StartConnect();
      return;
    }
    uint64_t id = this->id();
    ProbeHost& probe_host = host_;
    host_.resolver().Resolve(host, port, [&probe_host, id](const std::vector<Address>& addresses,
                                                           const std::string& error) {
      auto* self = static_cast<PostgresProbe*>(probe_host.Find(id));
      if (self == nullptr) return;
      if (!error.empty()) {
        self->Fail(error);
        return;
      }
      char text[INET6_ADDRSTRLEN] = {};
      const Address& a = addresses.front();
      if (a.storage.ss_family == AF_INET) {
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&a.storage)->sin_addr, text,
                  sizeof text);
      } else {
        inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&a.storage)->sin6_addr, text,
                  sizeof text);
      }
      self->keys_.emplace_back("hostaddr");
      self->values_.emplace_back(text);
      self->StartConnect();
    });
  }

  void Close() override {
    if (conn_ == nullptr) return;
    if (watched_fd_ >= 0) host_.loop().Unwatch(watched_fd_);
    watched_fd_ = -1;
    PQfinish(conn_);
    conn_ = nullptr;
  }

  void OnFdEvent(uint32_t) override {
    if (finished()) return;
    if (!connected_) {
      Poll(PQconnectPoll(conn_));
      return;
    }
    if (!flushed_) {
      int r = PQflush(conn_);
      if (r < 0) {
        Fail(ShortPostgresError(PQerrorMessage(conn_)));
        return;
      }
      if (r == 1) return;
      flushed_ = true;
      WatchSocket(EPOLLIN);
    }
    if (PQconsumeInput(conn_) == 0) {
      Fail(ShortPostgresError(PQerrorMessage(conn_)));
      return;
    }
    while (PQisBusy(conn_) == 0) {
      PGresult* result = PQgetResult(conn_);
      if (result == nullptr) {
        if (got_one_) {
          Pass();
        } else {
          Fail("no result for SELECT 1");
        }
        return;
      }
      if (PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) == 1) {
        got_one_ = true;
      } else {
        std::string error = ShortPostgresError(PQresultErrorMessage(result));
        PQclear(result);
        Fail("SELECT 1 failed: " + error);
        return;
      }
      PQclear(result);
    }
  }

 private:
  void StartConnect() {
    std::vector<const char*> keys;
    std::vector<const char*> values;
    bool has_app_name = false;
    for (size_t i = 0; i < keys_.size(); ++i) {
      keys.push_back(keys_[i].c_str());
      values.push_back(values_[i].c_str());
      if (keys_[i] == "application_name") has_app_name = true;
    }
    if (!has_app_name) {
      keys.push_back("application_name");
      values.push_back("flightdeck-probe");
    }
    keys.push_back(nullptr);
    values.push_back(nullptr);
    conn_ = PQconnectStartParams(keys.data(), values.data(), 0);
    if (conn_ == nullptr) {
      Fail("out of memory");
      return;
    }
    if (PQstatus(conn_) == CONNECTION_BAD) {
      Fail(ShortPostgresError(PQerrorMessage(conn_)));
      return;
    }
    // libpq's contract: act as if PQconnectPoll had last answered PGRES_POLLING_WRITING.
    Poll(PGRES_POLLING_WRITING);
  }

  void Poll(PostgresPollingStatusType status) {
    switch (status) {
      case PGRES_POLLING_READING:
        WatchSocket(EPOLLIN);
        return;
      case PGRES_POLLING_WRITING:
        WatchSocket(EPOLLOUT);
        return;
      case PGRES_POLLING_OK:
        connected_ = true;
        if (PQsetnonblocking(conn_, 1) != 0 || PQsendQuery(conn_, "SELECT 1") == 0) {
          Fail(ShortPostgresError(PQerrorMessage(conn_)));
          return;
        }
        WatchSocket(EPOLLIN | EPOLLOUT);
        return;
      default:
        Fail(ShortPostgresError(PQerrorMessage(conn_)));
        return;
    }
  }

  // libpq may open a new socket between polls (the next address of a host, a retry without
  // SSL): follow it.
  void WatchSocket(uint32_t events) {
    int fd = PQsocket(conn_);
    if (fd != watched_fd_ && watched_fd_ >= 0) host_.loop().Unwatch(watched_fd_);
    watched_fd_ = fd;
    if (fd < 0 || !host_.loop().Watch(fd, events, this)) Fail("lost the connection's socket");
  }

  std::vector<std::string> keys_;
  std::vector<std::string> values_;
  PGconn* conn_ = nullptr;
  int watched_fd_ = -1;
  bool connected_ = false;
  bool flushed_ = false;
  bool got_one_ = false;
};

}  // namespace

std::string ShortPostgresError(const std::string& message) {
  if (message.find("Connection refused") != std::string::npos) return "connection refused";
  if (message.find("timeout expired") != std::string::npos) return "connection timed out";
  size_t fatal = message.find("FATAL:");
  if (fatal != std::string::npos) {
    size_t start = message.find_first_not_of(' ', fatal + 6);
    return FirstLine(message.substr(start == std::string::npos ? message.size() : start));
  }
  size_t failed = message.find("failed: ");
  if (failed != std::string::npos) return FirstLine(message.substr(failed + 8));
  std::string line = FirstLine(message);
  return line.empty() ? "connection failed" : line;
}

std::unique_ptr<ActiveProbe> NewPostgresProbe(ProbeHost& host, uint64_t id, ProbeSpec spec,
                                              Prober::Callback done) {
  return std::make_unique<PostgresProbe>(host, id, std::move(spec), std::move(done));
}

}  // namespace flightdeck::health::internal
