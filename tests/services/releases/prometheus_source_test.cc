// PrometheusSource against a real Prometheus (Debian's /usr/bin/prometheus) scraping a small
// in-process target whose counters the test drives: 100 requests/s, 8 of them errors.
#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include "common/config/config.h"
#include "common/net/egress.h"
#include "common/text/utf8.h"
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>

#include "services/releases/metric_source.h"

namespace flightdeck::releases {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

constexpr char kPrometheusBinary[] = "/usr/bin/prometheus";
constexpr double kRequestsPerSecond = 100;
constexpr double kErrorsPerSecond = 8;

const char kErrorRateQuery[] =
    "sum(rate(http_requests_total{service=\"${service}\",environment=\"${environment}\","
    "code=~\"5..\"}[${window}])) / sum(rate(http_requests_total{service=\"${service}\","
    "environment=\"${environment}\"}[${window}]))";
const char kRequestsQuery[] =
    "sum(increase(http_requests_total{service=\"${service}\",environment=\"${environment}\"}"
    "[${window}]))";

// Serves /metrics (counters growing at the configured rates) and, under /canned/<name>/, fixed
// Prometheus API answers for the response shapes a real server is hard to make produce.
class TestTarget {
 public:
  bool Start(std::string& error) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        listen(fd_, 16) != 0 || getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      error = std::string("test target: ") + std::strerror(errno);
      return false;
    }
    port_ = ntohs(addr.sin_port);
    started_ = std::chrono::steady_clock::now();
    thread_ = std::thread([this] { Serve(); });
    return true;
  }

  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

  int port() const { return port_; }

  std::string LastCannedTarget() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_canned_target_;
  }

 private:
  void Serve() {
    while (!stop_) {
      pollfd pfd{fd_, POLLIN, 0};
      if (poll(&pfd, 1, 100) <= 0) continue;
      int conn = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn < 0) continue;
      timeval tv{2, 0};
      setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      std::string request;
      char buf[4096];
      while (request.find("\r\n\r\n") == std::string::npos && request.size() < 65536) {
        ssize_t n = recv(conn, buf, sizeof buf, 0);
        if (n <= 0) break;
        request.append(buf, static_cast<size_t>(n));
      }
      std::string response = Respond(request);
      size_t sent = 0;
      while (sent < response.size()) {
        ssize_t n = send(conn, response.data() + sent, response.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<size_t>(n);
      }
      close(conn);
    }
  }

  std::string Respond(const std::string& request) {
    std::istringstream line(request.substr(0, request.find("\r\n")));
    std::string method, target;
    line >> method >> target;
    if (target == "/metrics") return Reply(200, "text/plain; version=0.0.4", Metrics());
    const std::string canned = "/canned/";
    if (target.compare(0, canned.size(), canned) == 0) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        last_canned_target_ = target;
      }
      std::string name =
          target.substr(canned.size(), target.find('/', canned.size()) - canned.size());
      if (name == "scalar") {
        return Reply(200, "application/json",
                     R"({"status":"success","data":{"resultType":"scalar",)"
                     R"("result":[1800000000,"0.07"]}})");
      }
      if (name == "nan") {
        return Reply(200, "application/json",
                     R"({"status":"success","data":{"resultType":"vector","result":[)"
                     R"({"metric":{},"value":[1800000000,"NaN"]}]}})");
      }
      if (name == "matrix") {
        return Reply(200, "application/json",
                     R"({"status":"success","data":{"resultType":"matrix","result":[]}})");
      }
      if (name == "badgateway") {
        return Reply(502, "text/html", "<html><body>502 Bad Gateway</body></html>");
      }
      if (name == "gzip") {  // a compressed answer a proxy did not undo: bytes, NULs among them
        return Reply(200, "application/json", std::string("\x1f\x8b\x08\0\0\0\0\0\xff\xc3", 10));
      }
      if (name == "nulerror") {
        return Reply(400, "application/json", R"({"status":"error","errorType":"bad_data","error":"x\u0000y"})");
      }
    }
    return Reply(404, "text/plain", "not found");
  }

  std::string Metrics() const {
    double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    double ok = (kRequestsPerSecond - kErrorsPerSecond) * t;
    double errors = kErrorsPerSecond * t;
    char text[2048];
    std::snprintf(
        text, sizeof text,
        "# TYPE http_requests_total counter\n"
        "http_requests_total{service=\"checkout\",environment=\"production\",code=\"200\"} %.3f\n"
        "http_requests_total{service=\"checkout\",environment=\"production\",code=\"500\"} %.3f\n"
        "# TYPE canary_latency_p99_ms gauge\n"
        "canary_latency_p99_ms{service=\"checkout\",environment=\"production\"} 123.5\n"
        "# TYPE canary_error_ratio gauge\n"
        "canary_error_ratio{service=\"checkout\",pod=\"a\"} 0.02\n"
        "canary_error_ratio{service=\"checkout\",pod=\"b\"} 0.06\n"
        "# TYPE request_latency_ms gauge\n"
        "request_latency_ms{service=\"checkout\",version=\"v2.4.0\"} 180\n"
        "request_latency_ms{service=\"checkout\",version=\"v2.3.0\"} 100\n",
        ok, errors);
    return text;
  }

  static std::string Reply(int status, const std::string& type, const std::string& body) {
    return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: " + type +
           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
           body;
  }

  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::chrono::steady_clock::time_point started_;
  std::mutex mu_;
  std::string last_canned_target_;
};

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

size_t AppendTo(char* data, size_t size, size_t nmemb, void* out) {
  static_cast<std::string*>(out)->append(data, size * nmemb);
  return size * nmemb;
}

// A plain GET for the test's own readiness checks (not through the code under test).
std::optional<std::string> Get(const std::string& url) {
  CURL* curl = curl_easy_init();
  std::string body;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 2000L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &AppendTo);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK || status != 200) return std::nullopt;
  return body;
}

// The first sample of an instant query, or nothing.
std::optional<double> QueryValue(const std::string& base, const std::string& promql) {
  CURL* curl = curl_easy_init();
  char* encoded = curl_easy_escape(curl, promql.c_str(), static_cast<int>(promql.size()));
  std::string url = base + "/api/v1/query?query=" + encoded;
  curl_free(encoded);
  curl_easy_cleanup(curl);
  auto body = Get(url);
  if (!body) return std::nullopt;
  auto doc = nlohmann::json::parse(*body, nullptr, false);
  if (doc.is_discarded()) return std::nullopt;
  const auto& result = doc["data"]["result"];
  if (!result.is_array() || result.empty()) return std::nullopt;
  return std::stod(result[0]["value"][1].get<std::string>());
}

std::string ReadTail(const std::string& path, size_t max) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string all = ss.str();
  return all.size() > max ? all.substr(all.size() - max) : all;
}

class PrometheusSourceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { setup_error_ = StartEverything(); }

  static std::string StartEverything() {
    if (access(kPrometheusBinary, X_OK) != 0) {
      return std::string("this test needs a real Prometheus at ") + kPrometheusBinary +
             " (Debian package `prometheus`)";
    }
    char tmpl[] = "/tmp/fd-prom-test-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return std::string("mkdtemp: ") + std::strerror(errno);
    dir_ = tmpl;
    std::string error;
    if (!target_.Start(error)) return error;

    std::string config = dir_ + "/prometheus.yml";
    std::ofstream(config) << "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                             "scrape_configs:\n  - job_name: canary\n    scrape_timeout: 900ms\n"
                             "    static_configs:\n      - targets: ['127.0.0.1:"
                          << target_.port() << "']\n";
    int port = FreePort();
    base_url_ = "http://127.0.0.1:" + std::to_string(port);
    log_path_ = dir_ + "/prometheus.log";
    std::vector<std::string> args = {
        kPrometheusBinary, "--config.file=" + config, "--storage.tsdb.path=" + dir_ + "/data",
        "--web.listen-address=127.0.0.1:" + std::to_string(port), "--log.level=warn"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int log_fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    prometheus_pid_ = fork();
    if (prometheus_pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed test
      dup2(log_fd, 1);
      dup2(log_fd, 2);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(log_fd);
    if (prometheus_pid_ < 0) return std::string("fork: ") + std::strerror(errno);

    // Ready, scraping the target, and holding enough samples that a 5s window is full.
    auto deadline = std::chrono::steady_clock::now() + 40s;
    while (std::chrono::steady_clock::now() < deadline) {
      int status;
      if (waitpid(prometheus_pid_, &status, WNOHANG) == prometheus_pid_) {
        prometheus_pid_ = -1;
        return "prometheus exited at start-up: " + ReadTail(log_path_, 2000);
      }
      auto up = QueryValue(base_url_, "up{job=\"canary\"}");
      auto samples = QueryValue(
          base_url_,
          "count_over_time(http_requests_total{code=\"200\",service=\"checkout\"}[10s])");
      if (up && *up == 1 && samples && *samples >= 8) return "";
      std::this_thread::sleep_for(250ms);
    }
    return "prometheus at " + base_url_ +
           " did not scrape the target within 40s; log: " + ReadTail(log_path_, 2000);
  }

  static void TearDownTestSuite() {
    if (prometheus_pid_ > 0) {
      kill(prometheus_pid_, SIGTERM);
      auto deadline = std::chrono::steady_clock::now() + 10s;
      int status;
      while (waitpid(prometheus_pid_, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
          kill(prometheus_pid_, SIGKILL);
          waitpid(prometheus_pid_, &status, 0);
          break;
        }
        std::this_thread::sleep_for(20ms);
      }
      prometheus_pid_ = -1;
    }
    target_.Stop();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  void SetUp() override { ASSERT_TRUE(setup_error_.empty()) << setup_error_; }

  static v1::Release Checkout() {
    v1::Release release;
    release.set_service("checkout");
    release.set_environment("production");
    release.set_version("v2.4.0");
    release.set_commit_sha("9fceb02d");
    return release;
  }

  static v1::AnalysisConfig Analysis(const std::string& url, const std::string& error_rate_query,
                                     const std::string& requests_query = "") {
    v1::AnalysisConfig analysis;
    analysis.set_source("prometheus");
    analysis.mutable_prometheus()->set_url(url);
    analysis.mutable_prometheus()->set_error_rate_query(error_rate_query);
    analysis.mutable_prometheus()->set_requests_query(requests_query);
    return analysis;
  }

  static Window LastSeconds(std::chrono::seconds length) {
    auto now = std::chrono::system_clock::now();
    return Window{now - length, now};
  }

  static inline std::string setup_error_;
  static inline std::string dir_;
  static inline std::string base_url_;
  static inline std::string log_path_;
  static inline pid_t prometheus_pid_ = -1;
  static inline TestTarget target_;
};

TEST_F(PrometheusSourceTest, ErrorRateMatchesWhatTheTargetServed) {
  v1::AnalysisConfig analysis = Analysis(base_url_ + "/", kErrorRateQuery, kRequestsQuery);
  analysis.mutable_prometheus()->set_p99_latency_ms_query(
      "max(canary_latency_p99_ms{service=\"${service}\",environment=\"${environment}\"})");
  PrometheusSource source;
  SourceResult result = source.Fetch(Checkout(), analysis, LastSeconds(5s));

  ASSERT_TRUE(result.observation.has_value()) << result.detail;
  const Observation& o = *result.observation;
  // 100 requests/s over a 5 s window (Prometheus extrapolates increase() to the window edges).
  EXPECT_GE(o.requests, 350);
  EXPECT_LE(o.requests, 650);
  double ratio = static_cast<double>(o.errors) / static_cast<double>(o.requests);
  EXPECT_NEAR(ratio, 0.08, 0.01) << o.errors << " of " << o.requests;
  ASSERT_TRUE(o.p99_latency_ms.has_value());
  EXPECT_DOUBLE_EQ(*o.p99_latency_ms, 123.5);
  // The timeline shows the queries as run, labels substituted.
  EXPECT_THAT(result.detail,
              AllOf(HasSubstr("error_rate: sum(rate(http_requests_total{service=\"checkout\","
                              "environment=\"production\",code=~\"5..\"}[5s]))"),
                    HasSubstr("requests: sum(increase("), HasSubstr("p99_latency_ms: max(")));
}

TEST_F(PrometheusSourceTest, WithoutRequestsQueryReportsMinRequests) {
  v1::AnalysisConfig analysis = Analysis(base_url_, kErrorRateQuery);
  analysis.mutable_min_requests()->set_value(1000);
  PrometheusSource source;
  SourceResult result = source.Fetch(Checkout(), analysis, LastSeconds(5s));
  ASSERT_TRUE(result.observation.has_value()) << result.detail;
  EXPECT_EQ(result.observation->requests, 1000);
  EXPECT_NEAR(result.observation->errors, 80, 5);
  EXPECT_FALSE(result.observation->p99_latency_ms.has_value());
}

TEST_F(PrometheusSourceTest, SeveralSeriesAddUpRequestsAndTakeTheWorstErrorRate) {
  // Two series each: pods a (2%) and b (6%); codes 200 and 500.
  v1::AnalysisConfig analysis =
      Analysis(base_url_, "canary_error_ratio{service=\"${service}\"}",
               "increase(http_requests_total{service=\"${service}\"}[${window}])");
  PrometheusSource source;
  SourceResult result = source.Fetch(Checkout(), analysis, LastSeconds(5s));
  ASSERT_TRUE(result.observation.has_value()) << result.detail;
  const Observation& o = *result.observation;
  EXPECT_GE(o.requests, 350);
  EXPECT_LE(o.requests, 650);
  EXPECT_NEAR(static_cast<double>(o.errors) / static_cast<double>(o.requests), 0.06, 0.005);
}

TEST_F(PrometheusSourceTest, ServiceWithNoSeriesGivesNoObservation) {
  v1::Release ghost = Checkout();
  ghost.set_service("ghost");
  PrometheusSource source;
  SourceResult result =
      source.Fetch(ghost, Analysis(base_url_, kErrorRateQuery, kRequestsQuery), LastSeconds(5s));
  EXPECT_FALSE(result.observation.has_value());
  EXPECT_THAT(result.detail, AllOf(HasSubstr("service=\"ghost\""), HasSubstr("no data")));
}

TEST_F(PrometheusSourceTest, WindowEndIsTheQueryTime) {
  // An hour before Prometheus started there was nothing to see.
  auto to = std::chrono::system_clock::now() - 1h;
  PrometheusSource source;
  SourceResult result =
      source.Fetch(Checkout(), Analysis(base_url_, kErrorRateQuery), Window{to - 5s, to});
  EXPECT_FALSE(result.observation.has_value());
  EXPECT_THAT(result.detail, HasSubstr("no data"));
}

TEST_F(PrometheusSourceTest, UnparsablePromQLGivesThePrometheusError) {
  PrometheusSource source;
  SourceResult result = source.Fetch(
      Checkout(), Analysis(base_url_, "sum(rate(http_requests_total[${window}]"), LastSeconds(5s));
  EXPECT_FALSE(result.observation.has_value());
  EXPECT_THAT(result.detail,
              AllOf(HasSubstr("prometheus error (bad_data)"), HasSubstr("parse error")));
}

TEST_F(PrometheusSourceTest, PrometheusDownGivesTheConnectionError) {
  std::string url = "http://127.0.0.1:" + std::to_string(FreePort());
  PrometheusSource source;
  auto start = std::chrono::steady_clock::now();
  SourceResult result = source.Fetch(Checkout(), Analysis(url, kErrorRateQuery), LastSeconds(5s));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_FALSE(result.observation.has_value());
  EXPECT_THAT(result.detail, AllOf(HasSubstr("cannot reach prometheus at " + url),
                                   HasSubstr("Couldn't connect to server")));
}

TEST_F(PrometheusSourceTest, CredentialsInTheUrlStayOutOfTheDetail) {
  std::string url = "http://fd:hunter2@127.0.0.1:" + std::to_string(FreePort());
  PrometheusSource source;
  SourceResult result = source.Fetch(Checkout(), Analysis(url, kErrorRateQuery), LastSeconds(5s));
  EXPECT_FALSE(result.observation.has_value());
  EXPECT_THAT(result.detail, HasSubstr("cannot reach prometheus at http://***@127.0.0.1:"));
  EXPECT_THAT(result.detail, ::testing::Not(HasSubstr("hunter2")));
}

// The canary source is a user-given destination: the egress policy refuses it at a release's
// creation (DestinationRefusal) and, when the address changed since, at each analysis.
TEST_F(PrometheusSourceTest, ARefusedAddressIsNoDataWithThePolicysReason) {
  net::EgressPolicy egress = net::EgressPolicy::FromEnv(
      config::Env::FromMap({{"FLIGHTDECK_EGRESS_DENY", "127.0.0.0/8,::1"}}), {});
  PrometheusSource source(5s, &egress);
  v1::AnalysisConfig analysis = Analysis(base_url_, kErrorRateQuery);
  EXPECT_THAT(source.DestinationRefusal(analysis),
              AllOf(HasSubstr("canary.analysis.prometheus.url: egress policy refuses 127.0.0.1:"),
                    HasSubstr("127.0.0.0/8 is denied (FLIGHTDECK_EGRESS_DENY)")));
  SourceResult result = source.Fetch(Checkout(), analysis, LastSeconds(5s));
  EXPECT_FALSE(result.observation.has_value());
  EXPECT_THAT(result.detail, HasSubstr("egress policy refuses"));
  EXPECT_EQ(source.DestinationRefusal(Analysis("http://169.254.169.254/", kErrorRateQuery))
                .find("cloud metadata") == std::string::npos,
            false);
  // Without a policy, or with one that allows it, the same URL is read.
  PrometheusSource open(5s);
  EXPECT_EQ(open.DestinationRefusal(analysis), "");
}

TEST_F(PrometheusSourceTest, ScalarResultIsAccepted) {
  std::string url = "http://127.0.0.1:" + std::to_string(target_.port()) + "/canned/scalar";
  v1::AnalysisConfig analysis = Analysis(url, "scalar(${service})");
  analysis.mutable_min_requests()->set_value(200);
  // The FakeClock's default start: a fixed, known query time.
  Clock::TimePoint to(std::chrono::seconds(1'800'000'000) + 250ms);
  PrometheusSource source;
  SourceResult result = source.Fetch(Checkout(), analysis, Window{to - 60s, to});
  ASSERT_TRUE(result.observation.has_value()) << result.detail;
  EXPECT_EQ(result.observation->requests, 200);
  EXPECT_EQ(result.observation->errors, 14);
  // The query travels URL-encoded, the time as unix seconds with a fraction.
  EXPECT_THAT(target_.LastCannedTarget(),
              AllOf(HasSubstr("/api/v1/query?query=scalar%28checkout%29"),
                    HasSubstr("&time=1800000000.250")));
}

TEST_F(PrometheusSourceTest, NaNIsNoData) {
  std::string url = "http://127.0.0.1:" + std::to_string(target_.port()) + "/canned/nan";
  PrometheusSource source;
  SourceResult result = source.Fetch(Checkout(), Analysis(url, "x"), LastSeconds(60s));
  EXPECT_FALSE(result.observation.has_value());
  EXPECT_THAT(result.detail, HasSubstr("no data (NaN"));
}

TEST_F(PrometheusSourceTest, RangeVectorIsRefused) {
  std::string url = "http://127.0.0.1:" + std::to_string(target_.port()) + "/canned/matrix";
  PrometheusSource source;
  SourceResult result = source.Fetch(Checkout(), Analysis(url, "x[1m]"), LastSeconds(60s));
  EXPECT_FALSE(result.observation.has_value());
  EXPECT_THAT(result.detail, HasSubstr("query returned a matrix result"));
}

TEST_F(PrometheusSourceTest, ProxyErrorPageIsReportedWithItsStatus) {
  std::string url = "http://127.0.0.1:" + std::to_string(target_.port()) + "/canned/badgateway";
  PrometheusSource source;
  SourceResult result = source.Fetch(Checkout(), Analysis(url, "x"), LastSeconds(60s));
  EXPECT_FALSE(result.observation.has_value());
  EXPECT_THAT(result.detail, AllOf(HasSubstr("HTTP 502"), HasSubstr("502 Bad Gateway")));
}

// What Prometheus (or a proxy before it) answered goes into the timeline, a jsonb document: its
// bytes become text the store takes, where they used to fail the analysis's write every tick.
TEST_F(PrometheusSourceTest, AnAnswerOfBytesOrANulIsReportedAsStorableText) {
  for (const char* page : {"gzip", "nulerror"}) {
    std::string url = "http://127.0.0.1:" + std::to_string(target_.port()) + "/canned/" + page;
    PrometheusSource source;
    SourceResult result = source.Fetch(Checkout(), Analysis(url, "x"), LastSeconds(60s));
    EXPECT_FALSE(result.observation.has_value());
    EXPECT_TRUE(text::IsUtf8(result.detail)) << page;
    EXPECT_EQ(result.detail.find('\0'), std::string::npos) << page;
    EXPECT_THAT(result.detail, HasSubstr(std::string(page) == "gzip" ? "HTTP 200 with a body that is not JSON"
                                                                      : "prometheus error (bad_data): x\xEF\xBF\xBDy"))
        << result.detail;
  }
}

TEST_F(PrometheusSourceTest, LatencySamplesPerVersionFromRangeQueries) {
  v1::AnalysisConfig analysis = Analysis(base_url_, kErrorRateQuery);
  analysis.mutable_prometheus()->set_latency_samples_query(
      "request_latency_ms{service=\"${service}\",version=\"${version}\"}");
  *analysis.mutable_prometheus()->mutable_latency_samples_step() =
      google::protobuf::util::TimeUtil::SecondsToDuration(1);
  v1::Release release = Checkout();
  release.set_baseline_version("v2.3.0");
  PrometheusSource source(5s);
  VersionSamples samples;
  std::string detail;
  source.FetchSamples(release, analysis, LastSeconds(5s), &samples, &detail);
  // A 5 s window at a 1 s step: about six points a version, each the gauge of that version.
  ASSERT_GE(samples.canary.size(), 3u) << detail;
  ASSERT_GE(samples.baseline.size(), 3u) << detail;
  for (double v : samples.canary) EXPECT_EQ(v, 180) << detail;
  for (double v : samples.baseline) EXPECT_EQ(v, 100) << detail;
  EXPECT_NE(detail.find("version=\"v2.3.0\""), std::string::npos) << detail;

  ComparisonSettings settings;
  settings.min_samples = 3;
  EXPECT_EQ(CompareLatency(samples, settings).judgement.verdict, Verdict::kFail) << detail;
}

TEST_F(PrometheusSourceTest, NoBaselineVersionGivesNoSamples) {
  v1::AnalysisConfig analysis = Analysis(base_url_, kErrorRateQuery);
  analysis.mutable_prometheus()->set_latency_samples_query("request_latency_ms{version=\"${version}\"}");
  PrometheusSource source(5s);
  VersionSamples samples;
  std::string detail;
  source.FetchSamples(Checkout(), analysis, LastSeconds(5s), &samples, &detail);
  EXPECT_TRUE(samples.canary.empty() && samples.baseline.empty());
  EXPECT_NE(detail.find("no baseline version"), std::string::npos) << detail;
}

TEST(SubstituteQueryTest, ReplacesEveryPlaceholder) {
  v1::Release release;
  release.set_service("checkout");
  release.set_environment("production");
  release.set_version("v2.4.0");
  release.set_commit_sha("9fceb02d");
  EXPECT_EQ(SubstituteQuery("a{s=\"${service}\",e=\"${environment}\",v=\"${version}\","
                            "c=\"${commit_sha}\"}[${window}] ${unknown}",
                            release, 60s),
            "a{s=\"checkout\",e=\"production\",v=\"v2.4.0\",c=\"9fceb02d\"}[60s] ${unknown}");
  EXPECT_EQ(SubstituteQuery("[${window}]", release, 1500ms), "[1500ms]");
}

TEST(SubstituteQueryTest, LabelValuesCannotBreakOutOfTheirString) {
  v1::Release release;
  release.set_service("x\"} or vector(1) #\\");
  EXPECT_EQ(SubstituteQuery("m{service=\"${service}\"}", release, 60s),
            "m{service=\"x\\\"} or vector(1) #\\\\\"}");
}

// A health service on loopback answering GetTargetStats with fixed figures for one target, so
// that the source's mapping (probes as requests, failed probes as errors) and its request (the
// window) are checked over real gRPC.
class StatsServer final : public v1::HealthService::Service {
 public:
  grpc::Status GetTargetStats(grpc::ServerContext*, const v1::GetTargetStatsRequest* request,
                              v1::TargetWindowStats* response) override {
    last_request = *request;
    if (request->name() != "checkout-canary") {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no target " + request->name());
    }
    response->set_name(request->name());
    response->set_probes(probes);
    response->set_successes(successes);
    response->set_latency_p99_ms(42.5);
    return grpc::Status::OK;
  }
  v1::GetTargetStatsRequest last_request;
  long long probes = 30;
  long long successes = 27;
};

struct HealthSourceFixture : ::testing::Test {
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service);
    server = builder.BuildAndStart();
    ASSERT_NE(server, nullptr);
    source = std::make_unique<HealthSource>(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override { server->Shutdown(std::chrono::system_clock::now() + 1s); }
  StatsServer service;
  int port = 0;
  std::unique_ptr<grpc::Server> server;
  std::unique_ptr<HealthSource> source;
};

TEST_F(HealthSourceFixture, ProbesBecomeRequestsAndFailedProbesErrors) {
  v1::AnalysisConfig analysis;
  analysis.mutable_health()->set_target("checkout-canary");
  Clock::TimePoint to = Clock::TimePoint(std::chrono::seconds(1'800'000'000));
  SourceResult result = source->Fetch(v1::Release(), analysis, Window{to - 300s, to});
  ASSERT_TRUE(result.observation.has_value()) << result.detail;
  EXPECT_EQ(result.observation->requests, 30);
  EXPECT_EQ(result.observation->errors, 3);
  EXPECT_DOUBLE_EQ(*result.observation->p99_latency_ms, 42.5);
  EXPECT_EQ(service.last_request.window_seconds(), 300);
  EXPECT_EQ(service.last_request.end().seconds(), 1'800'000'000);
  EXPECT_THAT(result.detail, ::testing::HasSubstr("27/30 probes passed"));
}

TEST_F(HealthSourceFixture, NoProbesOrAnErrorIsNoDataWithTheReason) {
  v1::AnalysisConfig analysis;
  Clock::TimePoint to = Clock::TimePoint(std::chrono::seconds(1'800'000'000));
  SourceResult result = source->Fetch(v1::Release(), analysis, Window{to - 60s, to});
  EXPECT_FALSE(result.observation.has_value());
  EXPECT_EQ(result.detail, "analysis.health.target is not set");

  analysis.mutable_health()->set_target("missing");
  result = source->Fetch(v1::Release(), analysis, Window{to - 60s, to});
  EXPECT_FALSE(result.observation.has_value());
  EXPECT_THAT(result.detail, ::testing::HasSubstr("no target missing"));

  service.probes = 0;
  analysis.mutable_health()->set_target("checkout-canary");
  result = source->Fetch(v1::Release(), analysis, Window{to - 60s, to});
  EXPECT_FALSE(result.observation.has_value());
  EXPECT_THAT(result.detail, ::testing::HasSubstr("no probe results in the window"));
}

}  // namespace
}  // namespace flightdeck::releases
