// Replicas and alerts against real PostgreSQL and real probes of a local HTTP server: two
// in-process replicas never probe one target twice in a period, a killed replica's targets
// are taken over within a lease period, and a liveness target on a closed port raises a
// ServiceDown alert after down_after and resolves it once the port answers.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <functional>

#include <gtest/gtest.h>

#include <atomic>
#include <limits>
#include <map>
#include <mutex>
#include <thread>

#include "common/clock/timestamps.h"
#include "services/health/coordinator.h"
#include "services/health/evaluator.h"
#include "services/health/probe/scheduler.h"
#include "services/health/recorder.h"
#include "services/health/target.h"
#include "tests/services/health/domain_fixture.h"

namespace flightdeck::health {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Steady = std::chrono::steady_clock;

// Answers every request "200 ok" and remembers when each path was asked for.
class CountingHttpServer {
 public:
  explicit CountingHttpServer(int port = 0) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd_, 128) != 0) {
      ADD_FAILURE() << "cannot listen on 127.0.0.1:" << port;
    }
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~CountingHttpServer() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  int port() const { return port_; }
  std::map<std::string, std::vector<Steady::time_point>> Hits() {
    std::lock_guard<std::mutex> lock(mu_);
    return hits_;
  }

 private:
  void Serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      char buf[2048];
      ssize_t n = recv(c, buf, sizeof buf - 1, 0);
      if (n > 0) {
        std::string req(buf, static_cast<size_t>(n));
        size_t a = req.find(' '), b = req.find(' ', a + 1);
        std::string path = a == std::string::npos || b == std::string::npos ? "" : req.substr(a + 2, b - a - 2);
        {
          std::lock_guard<std::mutex> lock(mu_);
          hits_[path].push_back(Steady::now());
        }
        const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
        (void)send(c, resp, sizeof resp - 1, MSG_NOSIGNAL);
      }
      close(c);
    }
  }
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::map<std::string, std::vector<Steady::time_point>> hits_;
};

// One replica: its own prober, scheduler, recorder and coordinator over the shared database.
struct Replica {
  Replica(HealthStore& store, const Clock& clock, const std::string& owner, milliseconds lease)
      : recorder(store, ResultRecorder::Options{milliseconds(200)}),
        scheduler(prober, [this](const std::string& name, Clock::TimePoint, Clock::TimePoint started,
                                 const ProbeOutcome& o) { recorder.Record(name, started, o); }),
        coordinator(store, scheduler, recorder, clock, Coordinator::Options{owner, lease, milliseconds(200)}) {
    prober.Start();
    scheduler.Start();
    recorder.Start();
    coordinator.Start();
  }
  // release=false: a crash, the leases are left to expire.
  void Stop(bool release) {
    coordinator.Stop(release);
    scheduler.Stop();
    prober.Stop();
    recorder.Stop();
  }
  ~Replica() { Stop(true); }

  Prober prober;
  ResultRecorder recorder;
  Scheduler scheduler;
  Coordinator coordinator;
};

template <typename Pred>
bool WaitFor(Pred pred, milliseconds deadline) {
  auto until = Steady::now() + deadline;
  while (Steady::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return pred();
}

class ReplicasTest : public HealthDbTest {
 protected:
  void CreateHttpTarget(const std::string& name, int port, const std::string& role = "readiness",
                        int failure_threshold = 3) {
    v1::HealthTarget t;
    t.set_name(name);
    t.set_service("checkout");
    t.set_environment("production");
    t.set_role(role);
    t.set_kind("HTTP");
    t.set_url("http://127.0.0.1:" + std::to_string(port) + "/" + name);
    SetDuration(t.mutable_period(), seconds(1));
    SetDuration(t.mutable_timeout(), milliseconds(300));
    t.set_failure_threshold(failure_threshold);
    ASSERT_TRUE(ValidateTarget(&t).ok());
    ASSERT_TRUE(store_.CreateTarget(t, "test", system_.Now(), nullptr).ok());
  }
  SystemClock system_;  // the scheduler sleeps for real, so the replicas use real time
};

TEST_F(ReplicasTest, TwoReplicasShareTargetsAndTakeOverFromAKilledOne) {
  CountingHttpServer server;
  const int kTargets = 12;
  for (int i = 0; i < kTargets; ++i) CreateHttpTarget("t" + std::to_string(i), server.port());
  const milliseconds lease(2000);

  auto a = std::make_unique<Replica>(store_, system_, "replica-a", lease);
  auto b = std::make_unique<Replica>(store_, system_, "replica-b", lease);
  ASSERT_TRUE(WaitFor([&] {
    return a->coordinator.OwnedShards().size() == 32 && b->coordinator.OwnedShards().size() == 32;
  }, seconds(10))) << a->coordinator.OwnedShards().size() << " + " << b->coordinator.OwnedShards().size();
  // Shards are recorded just before their targets load.
  EXPECT_TRUE(WaitFor([&] {
    return a->coordinator.LoadedTargets() + b->coordinator.LoadedTargets() == static_cast<size_t>(kTargets);
  }, seconds(2)));
  EXPECT_GT(a->coordinator.LoadedTargets(), 0u);
  EXPECT_GT(b->coordinator.LoadedTargets(), 0u);
  // Both replicas probing: every target gets a few periods' worth of probes.
  auto every_target = [&](const std::function<bool(const std::vector<Steady::time_point>&)>& ok) {
    std::map<std::string, std::vector<Steady::time_point>> hits = server.Hits();
    for (int i = 0; i < kTargets; ++i) {
      if (!ok(hits["t" + std::to_string(i)])) return false;
    }
    return true;
  };
  EXPECT_TRUE(WaitFor([&] { return every_target([](const auto& t) { return t.size() >= 3; }); }, seconds(10)));

  Steady::time_point killed = Steady::now();
  b->Stop(/*release=*/false);
  ASSERT_TRUE(WaitFor([&] { return a->coordinator.OwnedShards().size() == 64; }, lease + lease / 3 + milliseconds(500)))
      << "replica-a owns " << a->coordinator.OwnedShards().size() << " shards";
  EXPECT_TRUE(WaitFor([&] { return a->coordinator.LoadedTargets() == static_cast<size_t>(kTargets); },
                      seconds(1)));
  Steady::time_point taken_over = Steady::now();
  // The survivor probes everything, twice, so the spacing after the takeover is checked too.
  EXPECT_TRUE(WaitFor([&] {
    return every_target([&](const auto& t) {
      return std::count_if(t.begin(), t.end(), [&](Steady::time_point x) { return x > taken_over; }) >= 2;
    });
  }, seconds(10)));
  a->Stop(true);

  std::map<std::string, std::vector<Steady::time_point>> hits = server.Hits();
  const milliseconds tolerance(150);
  for (int i = 0; i < kTargets; ++i) {
    const std::string name = "t" + std::to_string(i);
    const std::vector<Steady::time_point>& times = hits[name];
    ASSERT_GE(times.size(), 4u) << name;
    for (size_t k = 1; k < times.size(); ++k) {
      EXPECT_GE(times[k] - times[k - 1], seconds(1) - tolerance)
          << name << " probed twice within a period (probe " << k << ")";
    }
    // Every target is probed again after the takeover, whoever had it.
    EXPECT_GT(times.back(), taken_over) << name;
  }
  EXPECT_LT(taken_over - killed, lease + lease / 3 + milliseconds(500));
}

TEST_F(ReplicasTest, ServiceDownAlertForAClosedPortThenResolve) {
  int port = 0;
  {
    CountingHttpServer reserve;  // a free port, closed again at once
    port = reserve.port();
  }
  CreateHttpTarget("checkout-live", port, "liveness", /*failure_threshold=*/1);
  Replica replica(store_, system_, "replica-a", milliseconds(2000));
  HealthEvaluator::Options options;
  options.interval = milliseconds(200);
  options.down_after = seconds(1);
  options.deliver = false;
  HealthEvaluator evaluator(store_, system_, options, [&] { return replica.coordinator.Owns(0); });
  evaluator.Start();

  auto alerts = [&] {
    std::vector<v1::HealthEvent> events;
    EXPECT_TRUE(store_.ListEvents(EventFilter{"checkout", "production", "ALERT"},
                                  std::numeric_limits<long long>::max(), 10, &events).ok());
    return events;
  };
  ASSERT_TRUE(WaitFor([&] { return alerts().size() == 1; }, seconds(10)));
  v1::HealthEvent firing = alerts()[0];
  EXPECT_NE(firing.alert().find("\"status\":\"firing\""), std::string::npos);
  EXPECT_NE(firing.alert().find("checkout is down in production: liveness checkout-live failing"),
            std::string::npos) << firing.alert();
  EXPECT_EQ(firing.delivery(), "recorded");
  // Not before down_after: the target failed first, the alert came a second later or more.
  std::vector<v1::HealthEvent> target_events;
  ASSERT_TRUE(store_.ListEvents(EventFilter{"checkout", "", "TARGET"}, std::numeric_limits<long long>::max(),
                                10, &target_events).ok());
  ASSERT_FALSE(target_events.empty());
  EXPECT_GE(MicrosOf(firing.at()) - MicrosOf(target_events.back().at()), 1000000);

  CountingHttpServer recovered(port);
  ASSERT_TRUE(WaitFor([&] { return alerts().size() == 2; }, seconds(10)));
  EXPECT_NE(alerts()[0].alert().find("\"status\":\"resolved\""), std::string::npos) << alerts()[0].alert();
  evaluator.Stop();
}

}  // namespace
}  // namespace flightdeck::health
