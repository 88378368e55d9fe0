#include "common/metrics/metrics.h"
#include "common/metrics/refresher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <thread>

namespace flightdeck::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(ExposeTest, SmallRegistryExactText) {
  Registry registry;
  auto& requests = registry.AddCounter("flightdeck_http_requests_total", "HTTP requests.",
                                       {"method", "code"});
  auto& in_flight = registry.AddGauge("flightdeck_releases_in_flight", "Releases in flight.");
  auto& latency =
      registry.AddHistogram("flightdeck_db_query_seconds", "Query time.", {"op"}, {0.005, 0.1, 1});
  requests.With({"POST", "201"}).Inc();
  requests.With({"GET", "200"}).Inc(3);
  in_flight.With({}).Set(2.5);
  latency.With({"select"}).Observe(0.001);
  latency.With({"select"}).Observe(0.05);
  latency.With({"select"}).Observe(0.05);
  latency.With({"select"}).Observe(7);

  EXPECT_EQ(registry.Expose(),
            "# HELP flightdeck_http_requests_total HTTP requests.\n"
            "# TYPE flightdeck_http_requests_total counter\n"
            "flightdeck_http_requests_total{method=\"GET\",code=\"200\"} 3\n"
            "flightdeck_http_requests_total{method=\"POST\",code=\"201\"} 1\n"
            "# HELP flightdeck_releases_in_flight Releases in flight.\n"
            "# TYPE flightdeck_releases_in_flight gauge\n"
            "flightdeck_releases_in_flight 2.5\n"
            "# HELP flightdeck_db_query_seconds Query time.\n"
            "# TYPE flightdeck_db_query_seconds histogram\n"
            "flightdeck_db_query_seconds_bucket{op=\"select\",le=\"0.005\"} 1\n"
            "flightdeck_db_query_seconds_bucket{op=\"select\",le=\"0.1\"} 3\n"
            "flightdeck_db_query_seconds_bucket{op=\"select\",le=\"1\"} 3\n"
            "flightdeck_db_query_seconds_bucket{op=\"select\",le=\"+Inf\"} 4\n"
            "flightdeck_db_query_seconds_sum{op=\"select\"} 7.101\n"
            "flightdeck_db_query_seconds_count{op=\"select\"} 4\n");
}

TEST(ExposeTest, UnlabelledMetricsShowZeroBeforeFirstUse) {
  Registry registry;
  registry.AddCounter("jobs_done_total", "Jobs.");
  registry.AddHistogram("job_seconds", "Job time.", {}, {1});
  registry.AddCounter("labelled_total", "Has labels.", {"kind"});
  EXPECT_EQ(registry.Expose(),
            "# HELP jobs_done_total Jobs.\n"
            "# TYPE jobs_done_total counter\n"
            "jobs_done_total 0\n"
            "# HELP job_seconds Job time.\n"
            "# TYPE job_seconds histogram\n"
            "job_seconds_bucket{le=\"1\"} 0\n"
            "job_seconds_bucket{le=\"+Inf\"} 0\n"
            "job_seconds_sum 0\n"
            "job_seconds_count 0\n"
            "# HELP labelled_total Has labels.\n"
            "# TYPE labelled_total counter\n");
}

TEST(ExposeTest, EscapesHelpAndLabelValues) {
  Registry registry;
  auto& family = registry.AddCounter("escapes_total", "Back\\slash and\nnewline \"quoted\".",
                                     {"path"});
  family.With({"C:\\dir \"x\"\nnext"}).Inc();
  EXPECT_EQ(registry.Expose(),
            "# HELP escapes_total Back\\\\slash and\\nnewline \"quoted\".\n"
            "# TYPE escapes_total counter\n"
            "escapes_total{path=\"C:\\\\dir \\\"x\\\"\\nnext\"} 1\n");
}

TEST(ExposeTest, NumbersRoundTripWithoutExponentsForIntegers) {
  Registry registry;
  auto& g = registry.AddGauge("values", "Values.", {"case"});
  g.With({"big_int"}).Set(1e15);
  g.With({"million"}).Set(1000000);
  g.With({"negative"}).Set(-42);
  g.With({"tenth"}).Set(0.1);
  g.With({"third"}).Set(1.0 / 3.0);
  g.With({"tiny"}).Set(1e-9);
  g.With({"pinf"}).Set(std::numeric_limits<double>::infinity());
  g.With({"ninf"}).Set(-std::numeric_limits<double>::infinity());
  g.With({"nan"}).Set(std::nan(""));
  const std::string text = registry.Expose();
  EXPECT_THAT(text, HasSubstr("values{case=\"big_int\"} 1000000000000000\n"));
  EXPECT_THAT(text, HasSubstr("values{case=\"million\"} 1000000\n"));
  EXPECT_THAT(text, HasSubstr("values{case=\"negative\"} -42\n"));
  EXPECT_THAT(text, HasSubstr("values{case=\"tenth\"} 0.1\n"));
  EXPECT_THAT(text, HasSubstr("values{case=\"pinf\"} +Inf\n"));
  EXPECT_THAT(text, HasSubstr("values{case=\"ninf\"} -Inf\n"));
  EXPECT_THAT(text, HasSubstr("values{case=\"nan\"} NaN\n"));
  const std::string marker = "values{case=\"third\"} ";
  const size_t at = text.find(marker);
  ASSERT_NE(at, std::string::npos);
  EXPECT_EQ(std::strtod(text.c_str() + at + marker.size(), nullptr), 1.0 / 3.0);
  const std::string tiny = "values{case=\"tiny\"} ";
  EXPECT_EQ(std::strtod(text.c_str() + text.find(tiny) + tiny.size(), nullptr), 1e-9);
}

TEST(RegistryTest, RejectsInvalidNames) {
  Registry registry;
  EXPECT_THROW(registry.AddCounter("", "x"), std::invalid_argument);
  EXPECT_THROW(registry.AddCounter("1starts_with_digit", "x"), std::invalid_argument);
  EXPECT_THROW(registry.AddCounter("has-dash", "x"), std::invalid_argument);
  EXPECT_THROW(registry.AddCounter("has space", "x"), std::invalid_argument);
  EXPECT_THROW(registry.AddGauge("ok", "x", {"bad:label"}), std::invalid_argument);
  EXPECT_THROW(registry.AddGauge("ok", "x", {"__reserved"}), std::invalid_argument);
  EXPECT_THROW(registry.AddGauge("ok", "x", {"9lives"}), std::invalid_argument);
  EXPECT_THROW(registry.AddGauge("ok", "x", {"a", "a"}), std::invalid_argument);
  EXPECT_THROW(registry.AddHistogram("ok_seconds", "x", {"le"}), std::invalid_argument);
  EXPECT_THROW(registry.AddHistogram("ok_seconds", "x", {}, {1, 0.5}), std::invalid_argument);
  EXPECT_NO_THROW(registry.AddCounter("ns:sub_total", "colons are allowed in metric names"));
  EXPECT_NO_THROW(registry.AddGauge("_private", "x", {"_label", "l2"}));
  EXPECT_THAT(registry.Expose(), Not(HasSubstr("# TYPE ok ")));
}

TEST(RegistryTest, SameNameReturnsTheFirstFamilyOrThrows) {
  Registry registry;
  auto& first = registry.AddCounter("events_total", "Events.", {"kind"});
  auto& again = registry.AddCounter("events_total", "Events.", {"kind"});
  EXPECT_EQ(&first, &again);
  EXPECT_THROW(registry.AddGauge("events_total", "Events."), std::logic_error);
  EXPECT_THROW(registry.AddCounter("events_total", "Events.", {"other"}), std::logic_error);
}

TEST(FamilyTest, WrongLabelCountThrows) {
  Registry registry;
  auto& family = registry.AddCounter("calls_total", "Calls.", {"a", "b"});
  EXPECT_THROW(family.With({"only-one"}), std::invalid_argument);
  EXPECT_THROW(family.With({"1", "2", "3"}), std::invalid_argument);
  EXPECT_EQ(&family.With({"x", "y"}), &family.With({"x", "y"}));
}

TEST(HistogramTest, BucketsAreCumulativeAndInclusive) {
  Histogram h({1, 2});
  h.Observe(1);  // le="1" includes 1
  h.Observe(1.5);
  h.Observe(100);
  auto snap = h.Snap();
  EXPECT_EQ(snap.cumulative_counts, (std::vector<unsigned long long>{1, 2, 3}));
  EXPECT_EQ(snap.count, 3u);
  EXPECT_DOUBLE_EQ(snap.sum, 102.5);
}

TEST(CounterTest, RejectsNegativeIncrements) {
  Counter c;
  EXPECT_THROW(c.Inc(-1), std::invalid_argument);
  EXPECT_EQ(c.Value(), 0);
}

TEST(ConcurrencyTest, ManyThreadsGiveTheExactTotal) {
  Registry registry;
  auto& counter = registry.AddCounter("hits_total", "Hits.", {"worker"});
  auto& histogram = registry.AddHistogram("work_seconds", "Work.", {}, {0.5});
  auto& gauge = registry.AddGauge("level", "Level.");
  constexpr int kThreads = 8;
  constexpr int kPerThread = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        counter.With({"shared"}).Inc();
        counter.With({std::to_string(t % 2)}).Inc();
        histogram.With({}).Observe(i % 2 == 0 ? 0.25 : 1.0);
        gauge.With({}).Inc();
        gauge.With({}).Dec(0.5);
        if (i % 1000 == 0) registry.Expose();  // exposition while writers run
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(counter.With({"shared"}).Value(), kThreads * kPerThread);
  EXPECT_EQ(counter.With({"0"}).Value() + counter.With({"1"}).Value(), kThreads * kPerThread);
  auto snap = histogram.With({}).Snap();
  EXPECT_EQ(snap.count, static_cast<unsigned long long>(kThreads * kPerThread));
  EXPECT_EQ(snap.cumulative_counts[0], static_cast<unsigned long long>(kThreads * kPerThread / 2));
  EXPECT_EQ(gauge.With({}).Value(), kThreads * kPerThread * 0.5);
  EXPECT_THAT(registry.Expose(), HasSubstr("hits_total{worker=\"shared\"} 160000\n"));
}

TEST(StandardMetricsTest, HttpAndGrpcUseTheSharedNames) {
  Registry registry;
  HttpMetrics http(registry);
  GrpcServerMetrics grpc(registry);
  http.Record("/v1/releases/{id}", "GET", 404, 0.002);
  grpc.Record("/flightdeck.v1.ReleaseService/GetRelease", "NOT_FOUND", 0.003);
  const std::string text = registry.Expose();
  EXPECT_THAT(text, HasSubstr("flightdeck_http_requests_total{route=\"/v1/releases/{id}\","
                              "method=\"GET\",code=\"404\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("flightdeck_http_request_duration_seconds_count{route=\"/v1/"
                              "releases/{id}\",method=\"GET\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("grpc_server_handled_total{grpc_service=\"flightdeck.v1."
                              "ReleaseService\",grpc_method=\"GetRelease\",grpc_code=\"NOT_FOUND\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("grpc_server_handling_seconds_bucket{grpc_service=\"flightdeck.v1."
                              "ReleaseService\",grpc_method=\"GetRelease\",le=\"0.005\"} 1\n"));
  // A second HttpMetrics on the same registry shares the families instead of throwing.
  HttpMetrics again(registry);
  EXPECT_EQ(&again.requests, &http.requests);
}

// Runs `promtool check metrics` on text; returns its exit status and output.
std::pair<int, std::string> PromtoolCheck(const std::string& text) {
  char path[] = "/tmp/fd_metrics_XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) return {-1, "mkstemp failed"};
  close(fd);
  std::ofstream(path) << text;
  const std::string command = std::string("promtool check metrics < ") + path + " 2>&1";
  std::string output;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return {-1, "popen failed"};
  std::array<char, 512> buffer;
  while (fgets(buffer.data(), buffer.size(), pipe) != nullptr) output += buffer.data();
  const int status = pclose(pipe);
  unlink(path);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

TEST(PromtoolTest, RealisticExpositionPassesPromtool) {
  ASSERT_EQ(std::system("command -v promtool > /dev/null 2>&1"), 0)
      << "promtool is not on PATH: install the Debian package `prometheus` (scripts/deps does)";
  Registry registry;
  HttpMetrics http(registry);
  GrpcServerMetrics grpc(registry);
  auto& releases = registry.AddGauge("flightdeck_releases_in_flight",
                                     "Releases currently in flight per environment.",
                                     {"environment"});
  auto& backups = registry.AddCounter("flightdeck_backups_total",
                                      "Backups finished, by\noutcome \\ target.",
                                      {"target", "outcome"});
  registry.AddCounter("flightdeck_alerts_received_total", "Alerts received.");
  http.Record("/v1/releases", "POST", 201, 0.012);
  http.Record("/v1/releases/{id}", "GET", 200, 0.0004);
  grpc.Record("/flightdeck.v1.BackupService/StartBackup", "OK", 1.7);
  releases.With({"production"}).Set(1);
  releases.With({"staging"}).Set(0);
  backups.With({"orders \"primary\"", "succeeded"}).Inc();
  backups.With({"C:\\path\nwith newline", "failed"}).Inc(2);

  auto [status, output] = PromtoolCheck(registry.Expose());
  EXPECT_EQ(status, 0) << output << "\n--- exposition ---\n" << registry.Expose();
}

TEST(PromtoolTest, PromtoolRejectsBrokenText) {
  // Guards the check above: a promtool that accepted anything would prove nothing.
  ASSERT_EQ(std::system("command -v promtool > /dev/null 2>&1"), 0)
      << "promtool is not on PATH: install the Debian package `prometheus` (scripts/deps does)";
  auto [status, output] = PromtoolCheck("# TYPE x counter\nx{a=\"unterminated} 1\n");
  EXPECT_NE(status, 0) << output;
}

TEST(FamilyTest, RemovedChildIsNoLongerExposedAndItsReferenceStaysUsable) {
  Registry registry;
  auto& rpo = registry.AddGauge("flightdeck_backup_rpo_seconds", "RPO.", {"target"});
  Gauge& orders = rpo.With({"orders"});
  orders.Set(60);
  rpo.With({"billing"}).Set(30);
  rpo.Remove({"orders"});
  rpo.Remove({"never-there"});  // nothing to do
  EXPECT_THAT(registry.Expose(), Not(HasSubstr("orders")));
  EXPECT_THAT(registry.Expose(), HasSubstr("flightdeck_backup_rpo_seconds{target=\"billing\"} 30"));
  orders.Set(90);  // a holder of the old reference does not crash, and is not exposed
  EXPECT_THAT(registry.Expose(), Not(HasSubstr("orders")));
  EXPECT_EQ(rpo.With({"orders"}).Value(), 0) << "a new child after removal";
}

TEST(RefresherTest, RunsEveryRefreshAndCountsTheOnesThatFail) {
  Registry registry;
  Refresher refresher(registry, std::chrono::hours(1));
  int good_runs = 0;
  refresher.Add("good", [&] { return ++good_runs > 0; });
  refresher.Add("bad", [] { return false; });
  refresher.Add("throws", []() -> bool { throw std::runtime_error("connection lost"); });
  EXPECT_THAT(registry.Expose(),
              HasSubstr("flightdeck_gauge_refresh_failures_total{gauges=\"bad\"} 0"));
  refresher.RunOnce();
  refresher.RunOnce();
  EXPECT_EQ(good_runs, 2);
  const std::string text = registry.Expose();
  EXPECT_THAT(text, HasSubstr("flightdeck_gauge_refresh_failures_total{gauges=\"bad\"} 2"));
  EXPECT_THAT(text, HasSubstr("flightdeck_gauge_refresh_failures_total{gauges=\"throws\"} 2"));
  EXPECT_THAT(text, HasSubstr("flightdeck_gauge_refresh_failures_total{gauges=\"good\"} 0"));
}

TEST(RefresherTest, StartRefreshesAtOnceAndStopReturnsWithoutWaitingForTheInterval) {
  Registry registry;
  Refresher refresher(registry, std::chrono::hours(1));
  std::mutex mu;
  std::condition_variable ran;
  int runs = 0;
  refresher.Add("counted", [&] {
    std::lock_guard<std::mutex> lock(mu);
    ++runs;
    ran.notify_all();
    return true;
  });
  refresher.Start();
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(ran.wait_for(lock, std::chrono::seconds(10), [&] { return runs >= 1; }));
  }
  refresher.Stop();  // an hour's interval: returning at all shows Stop wakes the thread
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(runs, 1);
}

}  // namespace
}  // namespace flightdeck::metrics
