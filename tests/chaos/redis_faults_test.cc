// Fault scenario 3: Redis (a private server: the shared test Redis is never touched) stopped,
// hung (SIGSTOP) and flushed while releases change. Every read still answers correctly and
// within a bound (the cache is bypassed within its timeout), the breaker shows in releases'
// metrics, and after recovery no stale read is served: a release read (and so cached) before
// the fault and changed during it must read as changed afterwards, although the cache kept
// the old entry and the invalidation could not reach it.
#include <signal.h>
#include <stdlib.h>

#include <chrono>
#include <map>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "tests/chaos/chaos.h"
#include "tests/support/http_client.h"
#include "tests/e2e/stack.h"
#include "tests/support/wait.h"

namespace flightdeck::test::chaos {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

constexpr double kReadBoundMs = 2000;  // FLIGHTDECK_REDIS_TIMEOUT 100ms, a few commands, a loaded CI

class RedisFaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    redis_ = std::make_unique<PrivateRedis>();
    ASSERT_FALSE(redis_->url().empty());
    const char* shared = std::getenv("REDIS_URL");
    shared_redis_ = shared != nullptr ? shared : "";
    setenv("REDIS_URL", redis_->url().c_str(), 1);  // the Stack's processes use the private one
    stack_ = std::make_unique<Stack>(std::map<std::string, std::string>{
        {"FLIGHTDECK_RATE_LIMIT_PER_MIN", "0"},  // the load is the point here, not the limits
        {"FLIGHTDECK_REDIS_TIMEOUT", "100ms"}, {"FLIGHTDECK_CACHE_TTL", "60s"}});
    setenv("REDIS_URL", shared_redis_.c_str(), 1);
    ASSERT_TRUE(stack_->WaitReady());
  }
  void TearDown() override {
    if (redis_ && redis_->pid() > 0) kill(redis_->pid(), SIGCONT);
    stack_.reset();
    redis_.reset();
  }

  HttpResponse Call(const std::string& method, const std::string& path, const json& body = nullptr) {
    return HttpRequest(method, stack_->gateway_url() + path, body.is_null() ? "" : body.dump(),
                       {{"Authorization", "Bearer " + stack_->admin_token()}}, 10000);
  }

  std::string DatabaseState(const std::string& id) {
    pqxx::connection c(stack_->database_url());
    pqxx::nontransaction w(c);
    return w.exec_params1("SELECT state FROM releases.releases WHERE id = $1", id)[0].as<std::string>();
  }

  // Reads the release through the gateway (GetRelease by full id is the cached read) and checks
  // it against PostgreSQL; returns the answer's state.
  std::string ReadAndCheck(const std::string& id, const std::string& when, Figures& figures) {
    auto t = SteadyClock::now();
    HttpResponse r = Call("GET", "/v1/releases/" + id);
    const double ms = std::chrono::duration<double, std::milli>(SteadyClock::now() - t).count();
    figures.Sample("read (ms)", ms);
    if (r.status != 200) {
      figures.Violation(when + ": GET release answered " + std::to_string(r.status) + " " + r.body);
      return "";
    }
    if (ms > kReadBoundMs) figures.Violation(when + ": GET release took " + std::to_string(int(ms)) + " ms");
    const std::string state = json::parse(r.body).value("state", "");
    const std::string truth = DatabaseState(id);
    if (state != truth) figures.Violation(when + ": GET release answered " + state + ", the database says " + truth);
    return state;
  }

  double BreakerGauge() {
    HttpResponse m = HttpRequest("GET", stack_->admin_url("releases") + "/metrics", "", {}, 3000);
    const std::string name = "flightdeck_cache_breaker_open";
    for (size_t at = m.body.find(name); at != std::string::npos; at = m.body.find(name, at + 1)) {
      if (at > 0 && m.body[at - 1] != '\n') continue;
      size_t space = m.body.find(' ', at);
      if (space != std::string::npos) return std::atof(m.body.c_str() + space + 1);
    }
    return -1;
  }

  std::unique_ptr<PrivateRedis> redis_;
  std::unique_ptr<Stack> stack_;
  std::string shared_redis_;
};

TEST_F(RedisFaultsTest, EveryReadIsRightDuringAndAfterEachRedisFault) {
  Figures figures("Redis down, hung, flushed");
  const std::vector<std::string> faults = {"stop", "pause", "flush"};
  int n = 0;
  for (int round = 0; round < Scale(); ++round) {
    for (const std::string& fault : faults) {
      figures.Iteration();
      const std::string service = "cached" + std::to_string(n++);
      HttpResponse created = Call("POST", "/v1/releases",
                                  {{"service", service}, {"environment", "staging"}, {"version", "v1"},
                                   {"commit_sha", "abc" + std::to_string(1000 + n)}});
      ASSERT_EQ(created.status, 200) << created.body;
      const std::string id = json::parse(created.body).value("id", "");
      // The pipeline moves it to CANARY (the external driver's first step) at once: wait, so
      // that each read has one right answer. Then read twice: the second comes from the cache.
      WaitUntil([&] { return DatabaseState(id) == "CANARY"; }, 5s);
      for (int i = 0; i < 2; ++i) ReadAndCheck(id, "before the fault", figures);

      if (fault == "stop") {
        ASSERT_TRUE(redis_->Stop());
      }
      if (fault == "pause") kill(redis_->pid(), SIGSTOP);
      if (fault == "flush") {
        ASSERT_TRUE(redis_->FlushAll());
      }
      figures.Fault();
      // A few reads first, as traffic would: they open the breaker, so that the invalidations
      // below are skipped rather than queued in a socket the hung Redis reads later.
      for (int i = 0; i < 4; ++i) ReadAndCheck(id, "during " + fault, figures);
      // Change the release while the cache cannot be told.
      HttpResponse aborted = Call("POST", "/v1/releases/" + id + "/abort", {{"reason", "chaos " + fault}});
      if (aborted.status != 200) figures.Violation("abort during " + fault + ": " + std::to_string(aborted.status) + " " + aborted.body);
      // The abort ends (ROLLING_BACK, then ABORTED with the external driver) before the reads,
      // so that each read has one right answer.
      WaitUntil([&] { return DatabaseState(id) == "ABORTED"; }, 10s, 100ms);
      for (int i = 0; i < 6; ++i) ReadAndCheck(id, "during " + fault, figures);
      // Other routes answer too.
      for (const char* route : {"/v1/releases?page_size=2", "/v1/incidents?page_size=2", "/v1/health/targets"}) {
        HttpResponse r = Call("GET", route);
        if (r.status != 200) figures.Violation(std::string(route) + " during " + fault + ": " + std::to_string(r.status));
      }
      if (fault != "flush" && BreakerGauge() != 1) {
        figures.Violation("flightdeck_cache_breaker_open is not 1 during " + fault);
      }

      if (fault == "stop") {
        ASSERT_TRUE(redis_->Start());
      }
      if (fault == "pause") kill(redis_->pid(), SIGCONT);
      const auto recovered = SteadyClock::now();
      // After recovery: the breaker closes once a trial command succeeds, and no read is stale.
      bool closed = false;
      for (int i = 0; i < 100; ++i) {
        ReadAndCheck(id, "after " + fault, figures);
        if (!closed && BreakerGauge() == 0) {
          closed = true;
          figures.Recovery(std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - recovered));
        }
        if (closed && i >= 10) break;
        std::this_thread::sleep_for(100ms);
      }
      if (!closed) figures.Violation("the cache breaker did not close within 10 s after " + fault);
    }
  }
  EXPECT_EQ(figures.violations(), 0) << stack_->Logs();
}

}  // namespace
}  // namespace flightdeck::test::chaos
