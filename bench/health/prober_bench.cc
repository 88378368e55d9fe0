// The prober benchmark's driver (bench/health/run). Modes:
//   serve                       a tiny keep-alive HTTP server on 127.0.0.1 (port on stdout)
//   probe N PERIOD_MS WARMUP_S SECONDS URL
//                               N targets on Flightdeck's prober and scheduler, measured
//                               after the warm-up: probes/s, CPU per 1,000, lateness, RSS
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
  static const char kReply[] =
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok";
  epoll_event events[256];
  while (true) {
    int n = epoll_wait(ep, events, 256, -1);
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == listen_fd) {
        int c;
        while ((c = accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK)) >= 0) {
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
      size_t end;
      while ((end = in.find("\r\n\r\n")) != std::string::npos) {
        in.erase(0, end + 4);
        out += kReply;
      }
      // Replies are tiny: a loopback socket buffer always takes them whole.
      if (!out.empty()) (void)!send(fd, out.data(), out.size(), MSG_NOSIGNAL);
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

struct Counts {
  std::atomic<long long> ok{0};
  std::atomic<long long> failed{0};
  std::atomic<bool> counting{false};
  std::mutex mu;
  std::string first_error;
};

// Runs `targets` copies of `spec` at `period` and reports what the window after the warm-up
// cost. `other_pid`: also the CPU of that process over the window (the blackbox exporter).
int Run(const char* mode, int targets, std::chrono::milliseconds period, int warmup_s,
        int seconds, const std::string& url, const std::string& body, const std::string& other_pid) {
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
  auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  counts.counting = false;
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
  if (mode == "probe" && argc == 7) {
    return Run("probe", std::stoi(argv[2]), std::chrono::milliseconds(std::stoi(argv[3])),
               std::stoi(argv[4]), std::stoi(argv[5]), argv[6], "", "");
  }
  if (mode == "drive" && argc == 7) {
    // RATE probes/s as RATE targets at a 1 s period, each a GET of blackbox's /probe.
    return Run("drive", std::stoi(argv[2]), std::chrono::milliseconds(1000), std::stoi(argv[3]),
               std::stoi(argv[4]), argv[5], "probe_success 1", argv[6]);
  }
  fprintf(stderr,
          "usage: %s serve | free-port | probe N PERIOD_MS WARMUP_S SECONDS URL |"
          " drive RATE WARMUP_S SECONDS URL PID\n",
          argv[0]);
  return 2;
}
