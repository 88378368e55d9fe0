// Fault scenario 6: SIGTERM drains. The gateway, stopped while calls are in flight through it,
// answers them all (200), refuses new connections at once instead of leaving them hanging, and
// exits within FLIGHTDECK_SHUTDOWN_GRACE. A service stopped under load costs its callers only
// clean 503s (UNAVAILABLE), never a 500 or a hang, and exits within its grace too.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/chaos/chaos.h"
#include "tests/e2e/http_client.h"
#include "tests/e2e/stack.h"
#include "tests/support/wait.h"

namespace flightdeck::test::chaos {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

constexpr auto kGrace = 5s;  // FLIGHTDECK_SHUTDOWN_GRACE below

class DrainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stack_ = std::make_unique<Stack>(std::map<std::string, std::string>{
        {"FLIGHTDECK_RATE_LIMIT_PER_MIN", "0"},  // the load is the point here, not the limits
        {"FLIGHTDECK_SHUTDOWN_GRACE", "5s"}, {"FLIGHTDECK_UPSTREAM_TIMEOUT", "4s"}});
    ASSERT_TRUE(stack_->WaitReady());
  }
  HttpResponse Get(const std::string& path, long timeout_ms = 8000) {
    return HttpRequest("GET", stack_->gateway_url() + path, "",
                       {{"Authorization", "Bearer " + stack_->admin_token()}}, timeout_ms);
  }
  bool WaitAnswers(const std::string& path, std::chrono::milliseconds limit) {
    return WaitUntil([&] { return Get(path, 2000).status == 200; }, limit, 100ms);
  }
  std::unique_ptr<Stack> stack_;
};

TEST_F(DrainTest, TheGatewayFinishesInFlightCallsAndRefusesNewOnes) {
  Figures figures("SIGTERM gateway with calls in flight");
  for (int round = 0; round < Scale(); ++round) {
    figures.Iteration();
    // Hold calls in flight: releases is paused, so they wait at the gateway for its answer.
    stack_->Pause("releases");
    constexpr int kInFlight = 6;
    std::vector<HttpResponse> answers(kInFlight);
    std::vector<std::thread> callers;
    for (int i = 0; i < kInFlight; ++i) {
      callers.emplace_back([&, i] { answers[i] = Get("/v1/releases?page_size=1"); });
    }
    std::this_thread::sleep_for(500ms);
    stack_->Signal("gateway", SIGTERM);
    figures.Fault();
    const auto terminated = SteadyClock::now();
    std::this_thread::sleep_for(300ms);
    // A new call is refused at once (no listener), not left waiting.
    auto t = SteadyClock::now();
    HttpResponse late = Get("/v1/releases?page_size=1", 3000);
    const double late_ms = std::chrono::duration<double, std::milli>(SteadyClock::now() - t).count();
    figures.Sample("new call refused after (ms)", late_ms);
    if (late.status == 200 || late_ms > 1000) {
      figures.Violation("a call made after SIGTERM got " + std::to_string(late.status) + " after " +
                        std::to_string(int(late_ms)) + " ms (" + late.error + ")");
    }
    stack_->Resume("releases");
    for (auto& c : callers) c.join();
    for (const HttpResponse& r : answers) {
      if (r.status != 200) {
        figures.Violation("a call in flight at SIGTERM got " + std::to_string(r.status) + " " + r.body + r.error);
      }
    }
    if (!stack_->process("gateway").WaitExit(kGrace + 2s)) {
      figures.Violation("the gateway did not exit within its grace");
    }
    figures.Sample("exit after SIGTERM (ms)",
                   std::chrono::duration<double, std::milli>(SteadyClock::now() - terminated).count());
    stack_->Start("gateway");
    auto started = SteadyClock::now();
    if (!WaitAnswers("/v1/releases?page_size=1", 20s)) figures.Violation("the gateway did not come back");
    figures.Recovery(std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - started));
  }
  EXPECT_EQ(figures.violations(), 0) << stack_->Logs();
}

TEST_F(DrainTest, AServiceStoppedUnderLoadCostsOnlyClean503s) {
  Figures figures("SIGTERM a service under load");
  const std::map<std::string, std::string> routes = {{"releases", "/v1/releases?page_size=1"},
                                                     {"incidents", "/v1/incidents?page_size=1"}};
  for (int round = 0; round < Scale(); ++round) {
    for (const auto& [victim, route] : routes) {
      figures.Iteration();
      std::atomic<bool> stop{false};
      std::atomic<int> ok{0}, unavailable{0};
      std::mutex mu;
      std::vector<std::string> wrong;
      std::vector<std::thread> load;
      for (int i = 0; i < 4; ++i) {
        load.emplace_back([&, route = route] {
          while (!stop) {
            HttpResponse r = Get(route, 8000);
            json body = json::parse(r.body, nullptr, false);
            if (r.status == 200) {
              ++ok;
            } else if (r.status == 503 && body.is_object() && body.contains("error") &&
                       body["error"].value("code", "") == "UNAVAILABLE") {
              ++unavailable;
            } else {
              std::lock_guard<std::mutex> lock(mu);
              wrong.push_back(std::to_string(r.status) + " " + r.body + r.error);
            }
          }
        });
      }
      std::this_thread::sleep_for(500ms);
      stack_->Signal(victim, SIGTERM);
      figures.Fault();
      const auto terminated = SteadyClock::now();
      if (!stack_->process(victim).WaitExit(kGrace + 2s)) figures.Violation(victim + " did not exit within its grace");
      figures.Sample("exit after SIGTERM (ms)",
                     std::chrono::duration<double, std::milli>(SteadyClock::now() - terminated).count());
      std::this_thread::sleep_for(300ms);
      stack_->Start(victim);
      const auto started = SteadyClock::now();
      if (!WaitAnswers(route, 20s)) figures.Violation(victim + " did not come back");
      figures.Recovery(std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - started));
      stop = true;
      for (auto& t : load) t.join();
      for (const std::string& w : wrong) figures.Violation("while " + victim + " stopped a call got " + w);
      figures.Sample("calls answered 503 meanwhile", unavailable);
    }
  }
  EXPECT_EQ(figures.violations(), 0) << stack_->Logs();
}

}  // namespace
}  // namespace flightdeck::test::chaos
