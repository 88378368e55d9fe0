// Fault scenario 2: a service hung (SIGSTOP) while the gateway calls it. Every call to it ends
// in a 504 (DEADLINE_EXCEEDED, our JSON error shape) within FLIGHTDECK_UPSTREAM_TIMEOUT plus a
// small allowance, never a hang, and meanwhile the other services' routes answer 200 as fast as
// before the fault. More calls hang at once than the gateway has worker threads, so that a
// gateway that parked a thread per upstream call would show it. After SIGCONT the service's
// route answers 200 again (the recovery time).
#include <signal.h>

#include <atomic>
#include <chrono>
#include <map>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/chaos/chaos.h"
#include "tests/support/http_client.h"
#include "tests/e2e/stack.h"
#include "tests/support/wait.h"

namespace flightdeck::test::chaos {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

constexpr auto kUpstreamTimeout = 1000ms;
constexpr auto kAllowance = 1500ms;  // a loaded 2-core machine; a hang would be 10 s and more
constexpr int kHungCalls = 16;       // twice FLIGHTDECK_GATEWAY_WORKERS' default

const std::map<std::string, std::string> kRoutes = {{"releases", "/v1/releases?page_size=5"},
                                                    {"backups", "/v1/backups?page_size=5"},
                                                    {"health", "/v1/health/targets?page_size=5"},
                                                    {"incidents", "/v1/incidents?page_size=5"}};

double MillisSince(SteadyClock::time_point t) {
  return std::chrono::duration<double, std::milli>(SteadyClock::now() - t).count();
}

TEST(ServiceHangTest, AHungServiceCosts504sWithinTheTimeoutAndNothingElse) {
  Figures figures("service hung (SIGSTOP)");
  // The load is the point here, not the limits.
  Stack stack(std::map<std::string, std::string>{{"FLIGHTDECK_UPSTREAM_TIMEOUT", "1s"}, {"FLIGHTDECK_RATE_LIMIT_PER_MIN", "0"}});
  ASSERT_TRUE(stack.WaitReady());
  const std::map<std::string, std::string> auth = {{"Authorization", "Bearer " + stack.admin_token()}};
  auto get = [&](const std::string& service) {
    return HttpRequest("GET", stack.gateway_url() + kRoutes.at(service), "", auth, 15000);
  };
  // The baseline: each route's latency before any fault.
  std::vector<double> baseline;
  for (int i = 0; i < 10; ++i) {
    for (const auto& [service, route] : kRoutes) {
      auto t = SteadyClock::now();
      ASSERT_EQ(get(service).status, 200) << service;
      baseline.push_back(MillisSince(t));
    }
  }
  const double fast_bound = std::max(500.0, 10 * Percentile(baseline, 99));

  for (int round = 0; round < Scale(); ++round) {
    for (const auto& [victim, route] : kRoutes) {
      figures.Iteration();
      stack.Pause(victim);
      figures.Fault();
      std::atomic<int> wrong{0};
      std::vector<std::thread> hung;
      std::vector<double> hung_ms(kHungCalls);
      std::vector<std::string> hung_bodies(kHungCalls);
      std::vector<long> hung_status(kHungCalls);
      for (int i = 0; i < kHungCalls; ++i) {
        hung.emplace_back([&, i] {
          auto t = SteadyClock::now();
          HttpResponse r = get(victim);
          hung_ms[i] = MillisSince(t);
          hung_status[i] = r.status;
          hung_bodies[i] = r.body;
        });
      }
      // Meanwhile the others stay fast.
      std::vector<double> others;
      auto until = SteadyClock::now() + kUpstreamTimeout;
      while (SteadyClock::now() < until) {
        for (const auto& [other, other_route] : kRoutes) {
          if (other == victim) continue;
          auto t = SteadyClock::now();
          HttpResponse r = get(other);
          others.push_back(MillisSince(t));
          if (r.status != 200) figures.Violation(other + " answered " + std::to_string(r.status) + " while " + victim + " hung: " + r.body);
        }
      }
      for (auto& t : hung) t.join();
      for (int i = 0; i < kHungCalls; ++i) {
        figures.Sample("504 after (ms)", hung_ms[i]);
        json error = json::parse(hung_bodies[i], nullptr, false);
        const bool shaped = error.is_object() && error.contains("error") &&
                            error["error"].value("code", "") == "DEADLINE_EXCEEDED";
        if (hung_status[i] != 504 || !shaped) {
          figures.Violation(victim + " hung: answered " + std::to_string(hung_status[i]) + " " + hung_bodies[i]);
        }
        const double limit = std::chrono::duration<double, std::milli>(kUpstreamTimeout + kAllowance).count();
        if (hung_ms[i] > limit) {
          figures.Violation(victim + " hung: the 504 took " + std::to_string(int(hung_ms[i])) + " ms");
        }
      }
      for (double ms : others) figures.Sample("other routes (ms)", ms);
      if (Percentile(others, 99) > fast_bound) {
        figures.Violation("while " + victim + " hung the other routes' p99 was " +
                          std::to_string(int(Percentile(others, 99))) + " ms (bound " +
                          std::to_string(int(fast_bound)) + " ms)");
      }
      stack.Resume(victim);
      auto resumed = SteadyClock::now();
      const bool back = WaitUntil([&] { return get(victim).status == 200; }, 10s, 100ms);
      figures.Recovery(std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - resumed));
      if (!back) figures.Violation(victim + " did not answer 200 again within 10 s of SIGCONT");
    }
  }
  EXPECT_EQ(figures.violations(), 0) << stack.Logs();
}

}  // namespace
}  // namespace flightdeck::test::chaos
