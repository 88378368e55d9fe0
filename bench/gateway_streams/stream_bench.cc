// Many open gRPC-web WatchRelease streams through the gateway while events are written:
// event delivery latency (from the event's commit time to its arrival on each stream), and the
// gateway's RSS and thread count per open stream. One thread reads every stream (epoll), so the
// client side costs nothing per stream either.
//
//   bench_gateway_streams --url http://127.0.0.1:8080 --token T --release ID --streams 1000
//                         --events 20 --interval-ms 250 --gateway-pid PID
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <curl/curl.h>

#include "flightdeck/v1/releases.pb.h"
#include "bench/gateway_common/bench_support.h"
#include "services/gateway/grpcweb/framing.h"

namespace {

using flightdeck::bench::Connect;
using flightdeck::bench::ParseUrl;
using flightdeck::bench::ProcStatus;

using Clock = std::chrono::system_clock;
namespace gw = flightdeck::gateway::grpcweb;

struct Options {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string token;
  std::string release;
  int streams = 100;
  int events = 20;
  int interval_ms = 250;
  int gateway_pid = 0;
  int timeout_s = 60;
};

// One stream's reading state: HTTP head, then chunked body, then gRPC-web frames.
struct Stream {
  int fd = -1;
  std::string in;
  bool head_done = false;
  std::string frames;  // de-chunked body not yet cut into frames
  int received = 0;
  int64_t max_id = 0;  // the newest event seen, timed or not
  bool ended = false;
};

size_t Discard(char*, size_t size, size_t n, void*) { return size * n; }

// Posts one observation over REST: the release's timeline gains an event.
bool PostObservation(const Options& o, int i) {
  CURL* curl = curl_easy_init();
  std::string url = "http://" + o.host + ":" + std::to_string(o.port) + "/v1/releases/" + o.release + "/observations";
  std::string body = "{\"requests\":" + std::to_string(1000 + i) + ",\"errors\":1,\"p99_latency_ms\":120}";
  struct curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, ("Authorization: Bearer " + o.token).c_str());
  headers = curl_slist_append(headers, "Content-Type: application/json");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Discard);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
  long status = 0;
  bool ok = curl_easy_perform(curl) == CURLE_OK;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return ok && status == 200;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * (v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

// Consumes what arrived on a stream; appends the latency of each new event (ms).
void Consume(Stream& s, int64_t after_event_id, std::vector<double>* latencies) {
  if (!s.head_done) {
    size_t end = s.in.find("\r\n\r\n");
    if (end == std::string::npos) return;
    s.in.erase(0, end + 4);
    s.head_done = true;
  }
  while (true) {  // chunked transfer coding
    size_t le = s.in.find("\r\n");
    if (le == std::string::npos) break;
    size_t size = std::strtoul(s.in.substr(0, le).c_str(), nullptr, 16);
    if (size == 0) {
      s.ended = true;
      break;
    }
    if (s.in.size() < le + 2 + size + 2) break;
    s.frames.append(s.in, le + 2, size);
    s.in.erase(0, le + 2 + size + 2);
  }
  std::string error;
  while (s.frames.size() >= 5) {
    uint32_t n = (uint32_t(uint8_t(s.frames[1])) << 24) | (uint32_t(uint8_t(s.frames[2])) << 16) |
                 (uint32_t(uint8_t(s.frames[3])) << 8) | uint32_t(uint8_t(s.frames[4]));
    if (s.frames.size() < 5 + n) break;
    if (uint8_t(s.frames[0]) == gw::kDataFrame) {
      flightdeck::v1::ReleaseEvent e;
      bool parsed = e.ParseFromString(s.frames.substr(5, n));
      if (parsed) s.max_id = std::max(s.max_id, e.id());
      if (parsed && e.id() > after_event_id) {
        double at_ms = e.at().seconds() * 1000.0 + e.at().nanos() / 1e6;
        double now_ms = std::chrono::duration<double, std::milli>(Clock::now().time_since_epoch()).count();
        latencies->push_back(now_ms - at_ms);
        ++s.received;
      }
    } else {
      s.ended = true;
    }
    s.frames.erase(0, 5 + n);
  }
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
    } else if (k == "--token") o.token = v;
    else if (k == "--release") o.release = v;
    else if (k == "--streams") o.streams = std::atoi(v.c_str());
    else if (k == "--events") o.events = std::atoi(v.c_str());
    else if (k == "--interval-ms") o.interval_ms = std::atoi(v.c_str());
    else if (k == "--gateway-pid") o.gateway_pid = std::atoi(v.c_str());
    else if (k == "--timeout") o.timeout_s = std::atoi(v.c_str());
  }
  if (o.token.empty() || o.release.empty()) {
    std::fprintf(stderr, "usage: bench_gateway_streams --url URL --token T --release ID [--streams N] "
                         "[--events E] [--interval-ms MS] [--gateway-pid PID]\n");
    return 2;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  long rss_before = o.gateway_pid ? ProcStatus(o.gateway_pid, "VmRSS:") : -1;
  long threads_before = o.gateway_pid ? ProcStatus(o.gateway_pid, "Threads:") : -1;

  // Each stream first receives the timeline so far (not timed), then the events written now.
  flightdeck::v1::WatchReleaseRequest request;
  request.set_id(o.release);
  std::string body = gw::EncodeFrame(gw::kDataFrame, request.SerializeAsString());
  auto http = [&](const std::string& b) {
    return "POST /flightdeck.v1.ReleaseService/WatchRelease HTTP/1.1\r\nHost: " + o.host +
           "\r\nContent-Type: application/grpc-web+proto\r\nX-Grpc-Web: 1\r\nAuthorization: Bearer " + o.token +
           "\r\nContent-Length: " + std::to_string(b.size()) + "\r\n\r\n" + b;
  };

  int ep = epoll_create1(0);
  std::vector<Stream> streams(o.streams);
  std::map<int, size_t> by_fd;
  for (int i = 0; i < o.streams; ++i) {
    streams[i].fd = Connect(o.host, o.port);
    if (streams[i].fd < 0) {
      std::fprintf(stderr, "connect failed after %d streams: %s\n", i, std::strerror(errno));
      return 1;
    }
    std::string req = http(body);
    if (send(streams[i].fd, req.data(), req.size(), MSG_NOSIGNAL) != ssize_t(req.size())) return 1;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = streams[i].fd;
    epoll_ctl(ep, EPOLL_CTL_ADD, streams[i].fd, &ev);
    by_fd[streams[i].fd] = i;
  }

  std::vector<double> ignored;
  std::vector<double> latencies;
  latencies.reserve(size_t(o.streams) * o.events);
  auto pump = [&](std::chrono::milliseconds for_how_long, int64_t after_id, std::vector<double>* out) {
    auto until = std::chrono::steady_clock::now() + for_how_long;
    epoll_event events[256];
    while (std::chrono::steady_clock::now() < until) {
      int n = epoll_wait(ep, events, 256, 20);
      for (int i = 0; i < n; ++i) {
        Stream& s = streams[by_fd[events[i].data.fd]];
        char buf[65536];
        ssize_t r = recv(s.fd, buf, sizeof buf, 0);
        if (r <= 0) {
          s.ended = true;
          epoll_ctl(ep, EPOLL_CTL_DEL, s.fd, nullptr);
          continue;
        }
        s.in.append(buf, size_t(r));
        Consume(s, after_id, out);
      }
    }
  };
  // Let every stream receive the timeline so far (not timed), and learn the newest id.
  pump(std::chrono::milliseconds(3000 + o.streams * 3), INT64_MAX, &ignored);
  int open = 0;
  for (const Stream& s : streams) open += (s.head_done && !s.ended) ? 1 : 0;
  long rss_open = o.gateway_pid ? ProcStatus(o.gateway_pid, "VmRSS:") : -1;
  long threads_open = o.gateway_pid ? ProcStatus(o.gateway_pid, "Threads:") : -1;
  // Only events newer than any stream has seen are timed.
  int64_t after = 0;
  for (const Stream& s : streams) after = std::max(after, s.max_id);
  std::atomic<int> posted{0};
  for (Stream& s : streams) s.received = 0;
  auto start = std::chrono::steady_clock::now();
  std::thread writer([&] {
    for (int i = 0; i < o.events; ++i) {
      if (PostObservation(o, i)) ++posted;
      std::this_thread::sleep_for(std::chrono::milliseconds(o.interval_ms));
    }
  });
  pump(std::chrono::milliseconds(o.events * o.interval_ms + 5000), after, &latencies);
  writer.join();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  long rss_after = o.gateway_pid ? ProcStatus(o.gateway_pid, "VmRSS:") : -1;

  int complete = 0;
  for (const Stream& s : streams) complete += s.received >= posted.load() ? 1 : 0;
  std::printf("streams %d (open %d), events posted %d, deliveries %zu (expected %d), streams with every event %d\n",
              o.streams, open, posted.load(), latencies.size(), posted.load() * o.streams, complete);
  std::printf("delivery latency ms: p50 %.1f  p99 %.1f  max %.1f   (%.1f s)\n", Percentile(latencies, 0.5),
              Percentile(latencies, 0.99), Percentile(latencies, 1.0), seconds);
  if (o.gateway_pid) {
    std::printf("gateway RSS kB: before %ld, streams open %ld, after events %ld  -> %.1f kB per open stream\n",
                rss_before, rss_open, rss_after, open ? double(rss_open - rss_before) / open : 0.0);
    std::printf("gateway threads: before %ld, streams open %ld  -> %+ld for %d streams\n", threads_before,
                threads_open, threads_open - threads_before, open);
  }
  for (Stream& s : streams) close(s.fd);
  curl_global_cleanup();
  return latencies.size() == size_t(posted.load()) * size_t(o.streams) ? 0 : 3;
}
