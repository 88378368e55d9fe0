// The prober benchmark's driver (bench/health/run). Modes:
//   serve                       a tiny HTTP server on 127.0.0.1 (port on stdout): keep-alive,
//                               or closing after the answer when asked (`Connection: close`);
//                               GET /accepted answers how many connections it has accepted
//   probe N PERIOD_MS WARMUP_S SECONDS URL [new-connections]
//                               N targets on Flightdeck's prober and scheduler, measured
//                               after the warm-up: probes/s, CPU per 1,000, lateness, RSS, and
//                               connections the server accepted per probe; `new-connections`:
//                               the targets say reuse_connections false
//   drive RATE WARMUP_S SECONDS URL PID
//                               GETs of URL (blackbox_exporter's /probe) at RATE per second,
//                               each expecting "probe_success 1"; CPU of process PID
//   free-port                   a free loopback port
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>

#include "services/health/probe/scheduler.h"

namespace {

using flightdeck::health::LatenessSummary;
using flightdeck::health::ProbeKind;
using flightdeck::health::ProbeOutcome;
using flightdeck::health::Prober;
using flightdeck::health::ScheduledTarget;
using flightdeck::health::Scheduler;

int Listen(int* port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd, 4096) != 0) {
    perror("listen");
    exit(1);
  }
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  *port = ntohs(addr.sin_port);
  return fd;
}

int Serve() {
  int port;
  int listen_fd = Listen(&port);
  printf("%d\n", port);
  fflush(stdout);
  int ep = epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = listen_fd;
  epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &ev);
  std::unordered_map<int, std::string> pending;
  long long accepted = 0;
  static const char kReply[] =
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok";
  static const char kClosingReply[] =
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
      "Connection: close\r\n\r\nok";
  epoll_event events[256];
  while (true) {
    int n = epoll_wait(ep, events, 256, -1);
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == listen_fd) {
        int c;
        while ((c = accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK)) >= 0) {
          ++accepted;
          epoll_event cev{};
          cev.events = EPOLLIN;
          cev.data.fd = c;
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
        }
        continue;
      }
      char buf[8192];
      ssize_t r = recv(fd, buf, sizeof buf, 0);
      if (r <= 0) {
        if (r < 0 && errno == EAGAIN) continue;
        pending.erase(fd);
        close(fd);
        continue;
      }
      std::string& in = pending[fd];
      in.append(buf, static_cast<size_t>(r));
      std::string out;
      bool closing = false;
      size_t end;
      while (!closing && (end = in.find("\r\n\r\n")) != std::string::npos) {
        std::string head = in.substr(0, end);
        in.erase(0, end + 4);
        if (head.rfind("GET /accepted ", 0) == 0) {
          std::string count = std::to_string(accepted);
          out += "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(count.size()) +
                 "\r\nConnection: close\r\n\r\n" + count;
          closing = true;
          continue;
        }
        // As an HTTP/1.1 server does: a client that asks to close is answered, then closed.
        for (char& ch : head) ch = static_cast<char>(tolower(static_cast<unsigned char>(ch)));
        closing = head.find("\r\nconnection: close") != std::string::npos;
        out += closing ? kClosingReply : kReply;
      }
      // Replies are tiny: a loopback socket buffer always takes them whole.
      if (!out.empty()) (void)!send(fd, out.data(), out.size(), MSG_NOSIGNAL);
      if (closing) {
        pending.erase(fd);
        close(fd);
      }
    }
  }
}

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double RssMb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0;
}

// utime + stime of another process, from /proc/<pid>/stat.
double ProcessCpuSeconds(const std::string& pid) {
  std::ifstream stat("/proc/" + pid + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  size_t close_paren = text.rfind(')');
  std::istringstream fields(text.substr(close_paren + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; fields >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) {
      stime = std::stoull(field);
      break;
    }
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// The server's count of accepted connections (GET /accepted on a connection of its own), or -1.
long long AcceptedConnections(const std::string& url) {
  // url: http://127.0.0.1:PORT/...
  size_t host = url.find("//");
  size_t colon = url.find(':', host == std::string::npos ? 0 : host + 2);
  if (host == std::string::npos || colon == std::string::npos) return -1;
  int port = std::atoi(url.c_str() + colon + 1);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  timeval limit{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  std::string reply;
  static const char kRequest[] = "GET /accepted HTTP/1.1\r\nHost: bench\r\n\r\n";
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      send(fd, kRequest, sizeof kRequest - 1, MSG_NOSIGNAL) > 0) {
    char buf[512];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0) reply.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  size_t body = reply.find("\r\n\r\n");
  if (reply.rfind("HTTP/1.1 200", 0) != 0 || body == std::string::npos) return -1;
  return std::atoll(reply.c_str() + body + 4);
}

struct Counts {
  std::atomic<long long> ok{0};
  std::atomic<long long> failed{0};
  std::atomic<bool> counting{false};
  std::mutex mu;
  std::string first_error;
};

// Runs `targets` copies of `spec` at `period` and reports what the window after the warm-up
// cost. `other_pid`: also the CPU of that process over the window (the blackbox exporter).
// `reuse`: the targets' reuse_connections. `count_connections`: ask the server (our `serve`)
// how many connections it accepted over the window.
int Run(const char* mode, int targets, std::chrono::milliseconds period, int warmup_s,
        int seconds, const std::string& url, const std::string& body, const std::string& other_pid,
        bool reuse, bool count_connections) {
  Prober prober;
  prober.Start();
  Counts counts;
  Scheduler scheduler(prober, [&counts](const std::string&, flightdeck::Clock::TimePoint,
                                        flightdeck::Clock::TimePoint, const ProbeOutcome& o) {
    if (!counts.counting.load()) return;
    if (o.ok) {
      ++counts.ok;
      return;
    }
    if (++counts.failed == 1) {
      std::lock_guard<std::mutex> lock(counts.mu);
      counts.first_error = o.error;
    }
  });
  auto now = std::chrono::system_clock::now();
  for (int i = 0; i < targets; ++i) {
    ScheduledTarget t;
    t.name = "bench-" + std::to_string(i);
    t.spec.kind = ProbeKind::kHttp;
    t.spec.url = url;
    t.spec.body_contains = body;
    t.spec.timeout = std::chrono::milliseconds(5000);
    t.spec.reuse_connections = reuse;
    t.period = period;
    t.not_before = now;
    scheduler.Upsert(t);
  }
  scheduler.Start();
  std::this_thread::sleep_for(std::chrono::seconds(warmup_s));
  scheduler.Lateness(true);
  counts.counting = true;
  double cpu0 = CpuSeconds();
  double other0 = other_pid.empty() ? 0 : ProcessCpuSeconds(other_pid);
  long long accepted0 = count_connections ? AcceptedConnections(url) : -1;
  auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  counts.counting = false;
  long long accepted1 = count_connections ? AcceptedConnections(url) : -1;
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double cpu = CpuSeconds() - cpu0;
  double other = other_pid.empty() ? 0 : ProcessCpuSeconds(other_pid) - other0;
  LatenessSummary lateness = scheduler.Lateness();
  double rss = RssMb();
  scheduler.Stop();
  prober.Stop();

  long long probes = counts.ok + counts.failed;
  printf("mode=%s targets=%d period_ms=%lld probes=%lld failed=%lld probes_per_s=%.1f "
         "cpu_s=%.2f cpu_s_per_1k=%.4f lateness_p50_ms=%.2f lateness_p99_ms=%.2f "
         "lateness_max_ms=%.1f rss_mb=%.1f",
         mode, targets, static_cast<long long>(period.count()), probes, counts.failed.load(),
         probes / wall, cpu, probes > 0 ? cpu * 1000.0 / probes : 0, lateness.p50_ms,
         lateness.p99_ms, lateness.max_ms, rss);
  if (!other_pid.empty()) {
    printf(" other_cpu_s=%.2f other_cpu_s_per_1k=%.4f", other,
           probes > 0 ? other * 1000.0 / probes : 0);
  }
  if (accepted0 >= 0 && accepted1 >= 0 && probes > 0) {
    // Less the one connection of the first count itself.
    printf(" connections_per_probe=%.3f",
           static_cast<double>(accepted1 - accepted0 - 1) / static_cast<double>(probes));
  }
  printf("\n");
  if (counts.failed > 0) fprintf(stderr, "first failure: %s\n", counts.first_error.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "serve") return Serve();
  if (mode == "free-port") {
    int port;
    close(Listen(&port));
    printf("%d\n", port);
    return 0;
  }
  bool new_connections = argc == 8 && std::string(argv[7]) == "new-connections";
  if (mode == "probe" && (argc == 7 || new_connections)) {
    return Run("probe", std::stoi(argv[2]), std::chrono::milliseconds(std::stoi(argv[3])),
               std::stoi(argv[4]), std::stoi(argv[5]), argv[6], "", "", !new_connections, true);
  }
  if (mode == "drive" && argc == 7) {
    // RATE probes/s as RATE targets at a 1 s period, each a GET of blackbox's /probe.
    return Run("drive", std::stoi(argv[2]), std::chrono::milliseconds(1000), std::stoi(argv[3]),
               std::stoi(argv[4]), argv[5], "probe_success 1", argv[6], true, false);
  }
  fprintf(stderr,
          "usage: %s serve | free-port | probe N PERIOD_MS WARMUP_S SECONDS URL [new-connections] |"
          " drive RATE WARMUP_S SECONDS URL PID\n",
          argv[0]);
  return 2;
}
