// Many idle keep-alive connections held open on the gateway: its RSS and thread count before,
// while they are open, and after they are closed. Each connection first sends one
// `GET /healthz` and reads the whole answer, so the gateway has parsed a request on it and keeps
// it as an idle keep-alive connection, which is what a fleet of pollers and dashboards leaves
// behind (not merely an accepted socket).
//
//   bench_gateway_idle --url http://127.0.0.1:8080 --connections 10000 --hold-s 5 --gateway-pid PID
//
// Exits 1 when a connection could not be opened or answered, or when the gateway closed one
// during the hold (its idle timeout is minutes, so that is a failure, not a policy).
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/gateway_common/bench_support.h"

namespace {

using flightdeck::bench::Connect;
using flightdeck::bench::ParseUrl;
using flightdeck::bench::ProcStatus;

struct Options {
  std::string host = "127.0.0.1";
  int port = 8080;
  int connections = 10000;
  int hold_s = 5;
  int gateway_pid = 0;
};

// Connections opened and answered per round: small enough that the gateway's accept queue
// never overflows (an overflow would cost a 1 s SYN retry, not memory).
constexpr int kBatch = 256;

// Reads one whole HTTP answer (head and Content-Length body); true when it is a 200.
bool ReadAnswer(int fd) {
  std::string in;
  char buf[4096];
  size_t body_at = std::string::npos;
  size_t length = 0;
  while (true) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) return false;
    in.append(buf, static_cast<size_t>(n));
    if (body_at == std::string::npos) {
      auto end = in.find("\r\n\r\n");
      if (end == std::string::npos) continue;
      body_at = end + 4;
      for (const char* name : {"Content-Length:", "content-length:"}) {
        if (auto at = in.find(name); at != std::string::npos && at < end) {
          length = std::strtoul(in.c_str() + at + std::strlen(name), nullptr, 10);
        }
      }
    }
    if (in.size() >= body_at + length) return in.compare(0, 12, "HTTP/1.1 200") == 0;
  }
}

// Connections the gateway has closed: readable with nothing to read (EOF) or in error.
int CountClosed(const std::vector<int>& fds) {
  std::vector<pollfd> polls;
  polls.reserve(fds.size());
  for (int fd : fds) polls.push_back({fd, POLLIN | POLLRDHUP, 0});
  if (poll(polls.data(), polls.size(), 0) < 0) return static_cast<int>(fds.size());
  int closed = 0;
  for (const pollfd& p : polls) {
    if (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) ++closed;
  }
  return closed;
}

// The kernel's TCP buffer memory, machine-wide (both ends of every loopback connection), in MB:
// what the connections cost outside any process's RSS.
double KernelTcpMb() {
  std::ifstream in("/proc/net/sockstat");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("TCP:", 0) != 0) continue;
    auto at = line.find(" mem ");
    if (at == std::string::npos) return -1;
    return static_cast<double>(std::atol(line.c_str() + at + 5)) * sysconf(_SC_PAGESIZE) / 1048576.0;
  }
  return -1;
}

void PrintMemory(const char* when, int pid) {
  if (pid == 0) return;
  std::printf("  %-28s RSS %8.1f MB   threads %ld   kernel TCP buffers %.1f MB\n", when,
              static_cast<double>(ProcStatus(pid, "VmRSS:")) / 1024.0,
              ProcStatus(pid, "Threads:"), KernelTcpMb());
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--url") {
      if (!ParseUrl(v, &o.host, &o.port)) {
        std::fprintf(stderr, "--url must be http://HOST:PORT, got %s\n", v.c_str());
        return 2;
      }
    } else if (k == "--connections") {
      o.connections = std::atoi(v.c_str());
    } else if (k == "--hold-s") {
      o.hold_s = std::atoi(v.c_str());
    } else if (k == "--gateway-pid") {
      o.gateway_pid = std::atoi(v.c_str());
    } else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (o.connections <= 0 || o.hold_s < 0) {
    std::fprintf(stderr, "--connections must be > 0 and --hold-s >= 0\n");
    return 2;
  }

  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur < static_cast<rlim_t>(o.connections) + 64) {
    std::fprintf(stderr, "the open-file limit (%lu) is below --connections %d\n",
                 static_cast<unsigned long>(limit.rlim_cur), o.connections);
    return 2;
  }

  const long rss_before = o.gateway_pid ? ProcStatus(o.gateway_pid, "VmRSS:") : -1;
  std::printf("%d idle keep-alive connections to %s:%d\n", o.connections, o.host.c_str(), o.port);
  PrintMemory("before", o.gateway_pid);

  static const char kRequest[] = "GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n";
  std::vector<int> fds;
  fds.reserve(static_cast<size_t>(o.connections));
  int failed = 0;
  const auto start = std::chrono::steady_clock::now();
  while (static_cast<int>(fds.size()) + failed < o.connections) {
    std::vector<int> batch;
    const int want = std::min(kBatch, o.connections - static_cast<int>(fds.size()) - failed);
    for (int i = 0; i < want; ++i) {
      int fd = Connect(o.host, o.port, /*io_timeout_s=*/10);
      if (fd < 0 || write(fd, kRequest, sizeof kRequest - 1) != sizeof kRequest - 1) {
        if (fd >= 0) close(fd);
        ++failed;
        continue;
      }
      batch.push_back(fd);
    }
    for (int fd : batch) {
      if (ReadAnswer(fd)) {
        fds.push_back(fd);
      } else {
        close(fd);
        ++failed;
      }
    }
    if (failed > 0) break;  // the first failure says enough; don't hammer a failing server
  }
  const double open_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("  opened and answered %zu in %.1f s, %d failed\n", fds.size(), open_s, failed);

  // Let the gateway settle (buffers it frees after answering) before reading its memory.
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const long rss_open = o.gateway_pid ? ProcStatus(o.gateway_pid, "VmRSS:") : -1;
  PrintMemory("with them open", o.gateway_pid);
  std::this_thread::sleep_for(std::chrono::seconds(o.hold_s));
  const int closed = CountClosed(fds);
  std::printf("  still open after %d s idle: %zu of %zu\n", o.hold_s, fds.size() - closed,
              fds.size());
  PrintMemory("after the hold", o.gateway_pid);

  for (int fd : fds) close(fd);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  PrintMemory("after closing them", o.gateway_pid);
  if (o.gateway_pid != 0 && !fds.empty()) {
    std::printf("  RSS with %zu open: %.1f MB (%.2f kB per connection over the %.1f MB before; "
                "goal < 200 MB)\n",
                fds.size(), static_cast<double>(rss_open) / 1024.0,
                static_cast<double>(rss_open - rss_before) / static_cast<double>(fds.size()),
                static_cast<double>(rss_before) / 1024.0);
  }
  return failed == 0 && closed == 0 ? 0 : 1;
}
