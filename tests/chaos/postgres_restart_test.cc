// Fault scenario 4: PostgreSQL (a private, durable server: the shared test server is never
// touched) restarted with a fast and with an immediate shutdown while writes and reads go
// through the gateway. Every call ends within its deadline with the right answer or a clean
// 503 (UNAVAILABLE) / 504 — never a 500, never a hang; the pools reconnect (every process is
// ready again); every write that was answered 200 is in the database afterwards. The recovery
// time (server back to the first successful write) is measured.
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
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

// FLIGHTDECK_UPSTREAM_TIMEOUT (5s) + FLIGHTDECK_DB_ACQUIRE_TIMEOUT's share + a loaded CI.
constexpr double kCallBoundMs = 8000;

bool IsCleanFailure(const HttpResponse& r) {
  json body = json::parse(r.body, nullptr, false);
  if (!body.is_object() || !body.contains("error")) return false;
  const std::string code = body["error"].value("code", "");
  return (r.status == 503 && code == "UNAVAILABLE") || (r.status == 504 && code == "DEADLINE_EXCEEDED");
}

TEST(PostgresRestartTest, CallsFailCleanlyAndAcknowledgedWritesSurvive) {
  Figures figures("PostgreSQL restart under load");
  PrivatePostgres pg;
  ASSERT_FALSE(pg.url().empty());
  const char* shared = std::getenv("DATABASE_URL");
  const std::string shared_url = shared != nullptr ? shared : "";
  setenv("DATABASE_URL", pg.url().c_str(), 1);  // the Stack's database goes on the private server
  auto stack = std::make_unique<Stack>(std::map<std::string, std::string>{
      {"FLIGHTDECK_RATE_LIMIT_PER_MIN", "0"},  // the load is the point here, not the limits
      {"FLIGHTDECK_UPSTREAM_TIMEOUT", "5s"}, {"FLIGHTDECK_DB_ACQUIRE_TIMEOUT", "2s"}});
  setenv("DATABASE_URL", shared_url.c_str(), 1);
  ASSERT_TRUE(stack->WaitReady());
  const std::map<std::string, std::string> auth = {{"Authorization", "Bearer " + stack->admin_token()}};

  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<std::string> acknowledged;
  std::vector<std::string> wrong;
  std::atomic<int> ok{0}, clean{0}, counter{0};
  std::atomic<long long> last_ok_write_ns{0};
  auto record_wrong = [&](const std::string& what) {
    std::lock_guard<std::mutex> lock(mu);
    wrong.push_back(what);
  };
  auto check = [&](const HttpResponse& r, double ms, const std::string& what) {
    if (ms > kCallBoundMs) record_wrong(what + " took " + std::to_string(int(ms)) + " ms");
    if (r.status == 200) {
      ++ok;
    } else if (IsCleanFailure(r)) {
      ++clean;
    } else {
      record_wrong(what + " answered " + std::to_string(r.status) + " " + r.body + r.error);
    }
  };
  std::vector<std::thread> load;
  for (int w = 0; w < 3; ++w) {
    load.emplace_back([&] {
      while (!stop) {
        const int n = counter++;
        auto t = SteadyClock::now();
        HttpResponse r = HttpRequest("POST", stack->gateway_url() + "/v1/releases",
                                     json{{"service", "pg" + std::to_string(n)}, {"environment", "staging"},
                                          {"version", "v1"}, {"commit_sha", "feed" + std::to_string(1000 + n)}}
                                         .dump(),
                                     auth, 15000);
        const double ms = std::chrono::duration<double, std::milli>(SteadyClock::now() - t).count();
        check(r, ms, "create");
        if (r.status == 200) {
          std::lock_guard<std::mutex> lock(mu);
          acknowledged.push_back(json::parse(r.body).value("id", ""));
          last_ok_write_ns = SteadyClock::now().time_since_epoch().count();
        }
        std::this_thread::sleep_for(20ms);
      }
    });
  }
  for (const char* route : {"/v1/releases?page_size=2", "/v1/incidents?page_size=2", "/v1/backup-targets"}) {
    load.emplace_back([&, route] {
      while (!stop) {
        auto t = SteadyClock::now();
        HttpResponse r = HttpRequest("GET", stack->gateway_url() + route, "", auth, 15000);
        check(r, std::chrono::duration<double, std::milli>(SteadyClock::now() - t).count(), route);
        std::this_thread::sleep_for(20ms);
      }
    });
  }

  for (int round = 0; round < Scale(); ++round) {
    for (const std::string mode : {"fast", "immediate"}) {
      figures.Iteration();
      std::this_thread::sleep_for(UniformMs(500, 1500));
      const auto stopping = SteadyClock::now();
      if (!pg.Stop(mode)) break;
      figures.Fault();
      std::this_thread::sleep_for(UniformMs(200, 1500));  // down for a while under load
      if (!pg.Start()) break;
      const auto up = SteadyClock::now();
      figures.Sample("outage (ms)", std::chrono::duration<double, std::milli>(up - stopping).count());
      // Recovery: the first write answered 200 after the server is back.
      const bool recovered = WaitUntil([&] { return last_ok_write_ns.load() > up.time_since_epoch().count(); }, 15s);
      if (!recovered) figures.Violation("no write succeeded within 15 s after PostgreSQL came back (" + mode + ")");
      figures.Recovery(std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - up));
      // Every pool reconnects: each process is ready again.
      for (const char* name : {"releases", "backups", "health", "incidents"}) {
        const bool ready = WaitUntil(
            [&] { return HttpRequest("GET", stack->admin_url(name) + "/readyz", "", {}, 2000).status == 200; }, 10s,
            100ms);
        if (!ready) figures.Violation(std::string(name) + " not ready 10 s after PostgreSQL came back (" + mode + ")");
      }
    }
  }
  stop = true;
  for (auto& t : load) t.join();
  figures.Sample("calls answered 200", ok);
  figures.Sample("calls answered 503/504", clean);
  for (const std::string& w : wrong) figures.Violation(w);

  // Every acknowledged write is there.
  pqxx::connection c(stack->database_url());
  pqxx::nontransaction tx(c);
  std::set<std::string> stored;
  for (const auto& row : tx.exec("SELECT id::text FROM releases.releases")) stored.insert(row[0].as<std::string>());
  for (const std::string& id : acknowledged) {
    if (!stored.count(id)) figures.Violation("release " + id + " was acknowledged (200) but is not in the database");
  }
  EXPECT_GT(acknowledged.size(), 0u);
  EXPECT_EQ(figures.violations(), 0) << stack->Logs();
  stack.reset();  // drops its database on the private server (TestDatabase kept its URL)
}

}  // namespace
}  // namespace flightdeck::test::chaos
