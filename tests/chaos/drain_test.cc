// Fault scenario 6: SIGTERM drains. The gateway, stopped while calls are in flight through it,
// answers them all (200), refuses new connections at once instead of leaving them hanging, and
// exits within FLIGHTDECK_SHUTDOWN_GRACE. A service stopped under load costs its callers only
// clean 503s (UNAVAILABLE), never a 500 or a hang, and exits within its grace too. Watch
// streams open at SIGTERM end at once with a status, whichever process was stopped.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

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

// Watch streams open at SIGTERM, of the service or of the gateway: the stopping process ends
// them at once with UNAVAILABLE, which reaches the reader as the stream's last line, so each
// reader learns that its stream was cut (and watches again from its last event) instead of the
// process holding its shutdown for the whole grace and the stream then stopping with no status.
TEST_F(DrainTest, WatchStreamsOpenAtSIGTERMEndAtOnceWithAStatus) {
  Figures figures("SIGTERM with watch streams open");
  HttpResponse created = HttpRequest(
      "POST", stack_->gateway_url() + "/v1/releases",
      json{{"service", "drain-watch"}, {"environment", "staging"}, {"version", "v1"}, {"commit_sha", "abcdef1"}}.dump(),
      {{"Authorization", "Bearer " + stack_->admin_token()}, {"Content-Type", "application/json"}});
  ASSERT_EQ(created.status, 200) << created.body;
  const std::string id = json::parse(created.body).value("id", "");
  constexpr int kStreams = 3;
  for (int round = 0; round < Scale(); ++round) {
    for (const std::string victim : {"releases", "gateway"}) {
      figures.Iteration();
      std::vector<HttpResponse> ends(kStreams);
      std::vector<SteadyClock::time_point> ended(kStreams);
      std::vector<std::thread> readers;
      for (int i = 0; i < kStreams; ++i) {
        readers.emplace_back([&, i] {
          ends[i] = Get("/v1/releases/" + id + "/events?watch=true", 20000);
          ended[i] = SteadyClock::now();
        });
      }
      // The streams are open and have sent the timeline so far. The gateway's open-streams gauge
      // is not enough to wait on: it counts a call from its start, and a call cut before its
      // first message ends as a plain 503 (no stream yet), which is not what this case checks.
      std::this_thread::sleep_for(1500ms);
      stack_->Signal(victim, SIGTERM);
      figures.Fault();
      const auto terminated = SteadyClock::now();
      for (auto& t : readers) t.join();
      for (int i = 0; i < kStreams; ++i) {
        const double ms = std::chrono::duration<double, std::milli>(ended[i] - terminated).count();
        figures.Sample("stream ended after SIGTERM of the " + victim + " (ms)", ms);
        if (ms > 2000) {
          figures.Violation("a watch stream ended " + std::to_string(int(ms)) + " ms after SIGTERM of " + victim);
        }
        // The last line of the NDJSON stream says why it ended.
        std::string body = ends[i].body;
        while (!body.empty() && body.back() == '\n') body.pop_back();
        const json last = json::parse(body.substr(body.rfind('\n') + 1), nullptr, false);
        if (ends[i].status != 200 || !last.is_object() || !last.contains("error") ||
            last["error"].value("code", "") != "UNAVAILABLE") {
          figures.Violation("a watch stream cut by SIGTERM of " + victim + " ended without saying so: " +
                            std::to_string(ends[i].status) + " ..." +
                            body.substr(body.size() > 300 ? body.size() - 300 : 0) + ends[i].error);
        }
      }
      if (!stack_->process(victim).WaitExit(kGrace + 2s)) figures.Violation(victim + " did not exit within its grace");
      figures.Sample("exit after SIGTERM with streams open (ms)",
                     std::chrono::duration<double, std::milli>(SteadyClock::now() - terminated).count());
      stack_->Start(victim);
      const auto started = SteadyClock::now();
      if (!WaitAnswers("/v1/releases/" + id, 20s)) figures.Violation(victim + " did not come back");
      figures.Recovery(std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - started));
    }
  }
  EXPECT_EQ(figures.violations(), 0) << stack_->Logs();
}

}  // namespace
}  // namespace flightdeck::test::chaos
