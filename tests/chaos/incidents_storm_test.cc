// Fault scenario 7: kill -9 of incidents during an alert storm delivered by a real Prometheus
// Alertmanager (Debian's prometheus-alertmanager), which retries a webhook answered 5xx (the
// gateway answers 503 while incidents is down) and sends each group again at its next flush.
// Invariants, checked after every fault and at the end:
//  - no alert is stored twice (one firing occurrence per fingerprint), and at the end every
//    alert posted to Alertmanager is stored exactly once;
//  - incidents are deduplicated: at most one open incident per group (service, environment),
//    and at the end exactly one per service of the storm;
//  - no escalation is lost or notified twice: each incident's missed acknowledgement escalates
//    to level 1 once in its timeline, and its webhook arrives under one delivery id
//    (X-Flightdeck-Delivery). Delivery is at least once: a kill between the receiver's answer and
//    the attempt's record sends that id again; those re-deliveries are a figure, not a violation.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pistache/endpoint.h>

#include "tests/chaos/chaos.h"
#include "tests/support/http_client.h"
#include "tests/e2e/stack.h"

namespace flightdeck::test::chaos {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

constexpr char kAlertmanager[] = "/usr/bin/prometheus-alertmanager";
constexpr int kServices = 4;
constexpr auto kAckDeadline = 2s;  // FLIGHTDECK_INCIDENTS_ACK_DEADLINES below

std::string Rfc3339(std::chrono::system_clock::time_point t) {
  std::time_t s = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// The escalation webhook's receiver on 127.0.0.1: keeps every body POSTed to it, with its
// X-Flightdeck-Delivery id.
class Receiver {
 public:
  struct Delivery {
    json body;
    std::string id;
  };

  Receiver() : endpoint_(Pistache::Address("127.0.0.1", Pistache::Port(0))) {
    endpoint_.init(Pistache::Http::Endpoint::options().threads(1));
    endpoint_.setHandler(std::make_shared<Handler>(this));
    endpoint_.serveThreaded();
  }
  ~Receiver() { endpoint_.shutdown(); }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(static_cast<uint16_t>(endpoint_.getPort())) + "/page";
  }
  std::vector<Delivery> deliveries() {
    std::lock_guard<std::mutex> lock(mu_);
    return deliveries_;
  }

 private:
  class Handler : public Pistache::Http::Handler {
   public:
    HTTP_PROTOTYPE(Handler)
    explicit Handler(Receiver* owner) : owner_(owner) {}
    void onRequest(const Pistache::Http::Request& request, Pistache::Http::ResponseWriter response) override {
      auto id = request.headers().tryGetRaw("X-Flightdeck-Delivery");
      {
        std::lock_guard<std::mutex> lock(owner_->mu_);
        owner_->deliveries_.push_back({json::parse(request.body(), nullptr, false), id ? id->value() : ""});
      }
      response.send(Pistache::Http::Code::Ok, "ok");
    }

   private:
    Receiver* owner_;
  };

  Pistache::Http::Endpoint endpoint_;
  std::mutex mu_;
  std::vector<Delivery> deliveries_;
};

class IncidentsStormTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(access(kAlertmanager, X_OK), 0)
        << kAlertmanager << " is missing: install the Debian package prometheus-alertmanager (scripts/deps)";
    stack_ = std::make_unique<Stack>(std::map<std::string, std::string>{
        {"FLIGHTDECK_RATE_LIMIT_PER_MIN", "0"},
        {"FLIGHTDECK_JOBS_POLL_INTERVAL", "100ms"},
        {"FLIGHTDECK_INCIDENTS_ACK_DEADLINES", "SEV1=2s,SEV2=2s,SEV3=2s,SEV4=2s"}});
    ASSERT_TRUE(stack_->WaitReady()) << stack_->Logs();

    ASSERT_EQ(Call("POST", "/v1/escalation-policies",
                   {{"name", "storm-oncall"},
                    {"levels", json::array({{{"delay", "0s"},
                                             {"targets", json::array({{{"name", "pager"}, {"url", receiver_.url()}}})}}})}})
                  .status,
              200);
    HttpResponse settings = Call("PUT", "/v1/incident-settings",
                                 {{"group_by", {"service", "environment"}}, {"default_escalation_policy", "storm-oncall"}});
    ASSERT_EQ(settings.status, 200) << settings.body;
    HttpResponse token = Call("POST", "/v1/tokens", {{"name", "alertmanager"}, {"role", "INGEST"}});
    ASSERT_EQ(token.status, 200) << token.body;

    char dir[] = "/tmp/fd-chaos-alertmanager-XXXXXX";
    dir_ = mkdtemp(dir);
    // group_interval 1s: a failed group is sent again within a second of its retries ending.
    std::ofstream(dir_ + "/alertmanager.yml")
        << "route:\n  receiver: flightdeck\n  group_by: ['alertname', 'service', 'environment']\n"
           "  group_wait: 0s\n  group_interval: 1s\n  repeat_interval: 1h\n"
           "receivers:\n  - name: flightdeck\n    webhook_configs:\n      - url: "
        << stack_->gateway_url() << "/v1/alerts/alertmanager\n        send_resolved: true\n"
        << "        http_config:\n          authorization:\n            credentials: "
        << json::parse(token.body).value("secret", "") << "\n";
    const int port = FreePort();
    am_url_ = "http://127.0.0.1:" + std::to_string(port);
    alertmanager_ = std::make_unique<Process>(
        "alertmanager", kAlertmanager, std::map<std::string, std::string>{},
        std::vector<std::string>{"--config.file=" + dir_ + "/alertmanager.yml", "--storage.path=" + dir_ + "/data",
                                 "--web.listen-address=127.0.0.1:" + std::to_string(port),
                                 "--cluster.listen-address="});
    for (int i = 0; i < 150 && HttpRequest("GET", am_url_ + "/-/ready").status != 200; ++i) {
      std::this_thread::sleep_for(200ms);
    }
    ASSERT_EQ(HttpRequest("GET", am_url_ + "/-/ready").status, 200) << alertmanager_->LogTail();
  }

  void TearDown() override {
    if (alertmanager_) alertmanager_->Stop();
    alertmanager_.reset();
    stack_.reset();
    if (!dir_.empty()) RunCommand({"/bin/rm", "-rf", dir_});
  }

  HttpResponse Call(const std::string& method, const std::string& path, const json& body = nullptr) {
    return HttpRequest(method, stack_->gateway_url() + path, body.is_null() ? "" : body.dump(),
                       {{"Authorization", "Bearer " + stack_->admin_token()}, {"Content-Type", "application/json"}},
                       5000);
  }
  // A list read through the gateway; false while incidents does not answer.
  bool List(const std::string& path, const char* field, json* out) {
    HttpResponse r = Call("GET", path);
    if (r.status != 200) return false;
    *out = json::parse(r.body, nullptr, false).value(field, json::array());
    return true;
  }
  // Every page of a list read through the gateway (page_token until next_page_token is empty);
  // false while incidents does not answer. A long run stores more than one page of alerts.
  bool ListAll(const std::string& path, const char* field, json* out) {
    *out = json::array();
    std::string token;
    for (int page = 0; page < 1000; ++page) {
      HttpResponse r = Call("GET", path + (path.find('?') == std::string::npos ? "?" : "&") +
                                       "page_size=500" + (token.empty() ? "" : "&page_token=" + token));
      if (r.status != 200) return false;
      json body = json::parse(r.body, nullptr, false);
      for (const json& item : body.value(field, json::array())) out->push_back(item);
      token = body.value("next_page_token", "");
      if (token.empty()) return true;
    }
    return false;
  }
  // Sum of Alertmanager's webhook notifications that failed (each was retried or re-sent).
  double AlertmanagerFailures() {
    HttpResponse r = HttpRequest("GET", am_url_ + "/metrics");
    double total = 0;
    std::istringstream in(r.body);
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("alertmanager_notifications_failed_total", 0) == 0 &&
          line.find("integration=\"webhook\"") != std::string::npos) {
        total += std::atof(line.substr(line.rfind(' ') + 1).c_str());
      }
    }
    return total;
  }

  // The invariants that hold at any moment; `final` adds completeness.
  void Check(Figures& figures, const std::set<std::string>& posted, bool final) {
    json alerts, incidents;
    if (!ListAll("/v1/alerts", "alerts", &alerts) || !ListAll("/v1/incidents", "incidents", &incidents)) {
      figures.Violation("the alert or incident list did not answer after recovery");
      return;
    }
    std::map<std::string, int> stored;  // instance label -> firing occurrences
    for (const json& a : alerts) {
      const json labels = a.value("labels", json::object());
      if (labels.value("alertname", "") != "StormAlert") continue;
      if (a.value("state", "") == "FIRING") ++stored[labels.value("instance", "")];
      if (a.value("incident_id", "").empty()) figures.Violation("alert stored without an incident: " + a.dump());
    }
    for (const auto& [instance, n] : stored) {
      if (n > 1) figures.Violation("alert " + instance + " stored " + std::to_string(n) + " times");
      if (posted.count(instance) == 0) figures.Violation("alert " + instance + " stored but never sent");
    }
    if (final) {
      for (const std::string& instance : posted) {
        if (stored.count(instance) == 0) figures.Violation("alert " + instance + " sent but never stored");
      }
    }
    std::map<std::string, int> open;  // service -> open incidents
    for (const json& i : incidents) {
      if (i.value("state", "") != "RESOLVED" && i.value("state", "") != "CLOSED") ++open[i.value("service", "")];
    }
    for (const auto& [service, n] : open) {
      if (n > 1) figures.Violation(std::to_string(n) + " open incidents for the group of " + service);
    }
    if (final && open.size() != kServices) {
      figures.Violation(std::to_string(open.size()) + " services with an incident, not " + std::to_string(kServices));
    }
  }

  std::unique_ptr<Stack> stack_;
  Receiver receiver_;
  std::unique_ptr<Process> alertmanager_;
  std::string dir_;
  std::string am_url_;
};

TEST_F(IncidentsStormTest, EveryAcceptedAlertIsStoredOnceAndEveryEscalationSentOnce) {
  Figures figures("kill -9 of incidents in an alert storm");
  const auto started = std::chrono::system_clock::now() - 1min;
  std::set<std::string> posted;
  const int batches = 6 * Scale();
  const int faults = 3 * Scale();
  int next_fault_batch = 1;
  const auto storm_limit = SteadyClock::now() + 40s * Scale();
  for (int batch = 0; batch < batches && SteadyClock::now() < storm_limit; ++batch) {
    figures.Iteration();
    // Each batch: new alerts for every service of the storm (new groups for Alertmanager, so
    // it notifies at once).
    json alerts = json::array();
    for (int s = 0; s < kServices; ++s) {
      for (int k = 0; k < 5; ++k) {
        const std::string instance = "b" + std::to_string(batch) + "-s" + std::to_string(s) + "-" + std::to_string(k);
        alerts.push_back({{"labels",
                           {{"alertname", "StormAlert"}, {"service", "storm-" + std::to_string(s)},
                            {"environment", "production"}, {"instance", instance}, {"severity", "critical"}}},
                          {"startsAt", Rfc3339(started)}});
        posted.insert(instance);
      }
    }
    HttpResponse sent = HttpRequest("POST", am_url_ + "/api/v2/alerts", alerts.dump(),
                                    {{"Content-Type", "application/json"}});
    ASSERT_EQ(sent.status, 200) << sent.body;
    if (batch != next_fault_batch || figures.violations() > 0) {
      std::this_thread::sleep_for(UniformMs(200, 700));
      continue;
    }
    next_fault_batch = std::min(batches - 1, batch + std::max(1, (batches - batch) / std::max(1, faults)));
    // kill -9 while Alertmanager is delivering this batch (or a retry of an earlier one).
    std::this_thread::sleep_for(UniformMs(0, 300));
    stack_->Kill("incidents");
    figures.Fault();
    const auto killed = SteadyClock::now();
    std::this_thread::sleep_for(UniformMs(200, 1500));
    stack_->Start("incidents");
    json ignored;
    while (SteadyClock::now() < killed + 20s && !List("/v1/alerts?page_size=1", "alerts", &ignored)) {
      std::this_thread::sleep_for(50ms);
    }
    figures.Recovery(std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - killed));
    Check(figures, posted, false);
  }

  // Alertmanager delivers what is left (retries, then the next flush of each group).
  const auto settle_limit = SteadyClock::now() + 45s;
  for (;;) {
    json alerts;
    size_t stored = 0;
    if (ListAll("/v1/alerts", "alerts", &alerts)) {
      for (const json& a : alerts) stored += a["labels"].value("alertname", "") == "StormAlert";
    }
    if (stored >= posted.size() || SteadyClock::now() > settle_limit) break;
    std::this_thread::sleep_for(250ms);
  }
  Check(figures, posted, true);
  figures.Sample("alertmanager webhook failures (retried)", AlertmanagerFailures());

  // Escalation: every incident misses its acknowledgement deadline and escalates to level 1
  // once; that step is one notification, one delivery id. Delivery is at least once: a kill
  // after the receiver answered and before incidents recorded it sends the same id again, which
  // a receiver drops. Two ids for one escalation would be two notifications: a violation.
  json incidents;
  ASSERT_TRUE(ListAll("/v1/incidents", "incidents", &incidents));
  std::this_thread::sleep_for(kAckDeadline);
  std::map<std::string, std::set<std::string>> pages;  // incident id -> delivery ids of its escalations
  int arrivals = 0;
  auto count_pages = [&] {
    pages.clear();
    arrivals = 0;
    for (const Receiver::Delivery& d : receiver_.deliveries()) {
      if (d.body.is_object() && d.body.value("event", "") == "escalated") {
        pages[d.body["incident"].value("id", "")].insert(d.id);
        ++arrivals;
      }
    }
  };
  const auto escalate_limit = SteadyClock::now() + 30s;
  for (;;) {
    count_pages();
    if (pages.size() >= incidents.size() || SteadyClock::now() > escalate_limit) break;
    std::this_thread::sleep_for(250ms);
  }
  std::this_thread::sleep_for(1s);  // a second notification would arrive by now
  count_pages();
  size_t distinct = 0;
  for (const auto& [id, ids] : pages) distinct += ids.size();
  figures.Sample("escalation webhooks re-delivered (same delivery id)", static_cast<double>(arrivals - distinct));
  for (const json& listed : incidents) {
    const std::string id = listed.value("id", "");
    // The whole timeline: GetIncident carries only the newest 100 events, and a long storm
    // attaches more alerts than that after the escalation.
    json timeline;
    if (!ListAll("/v1/incidents/" + id + "/events", "events", &timeline)) {
      figures.Violation("the timeline of incident " + id + " did not answer");
      continue;
    }
    int escalated = 0;
    for (const json& e : timeline) escalated += e.value("kind", "") == "ESCALATED";
    if (escalated != 1) {
      figures.Violation("incident " + id + " escalated " + std::to_string(escalated) + " times in its timeline");
    }
    const std::set<std::string>& ids = pages[id];
    if (ids.size() != 1) {
      figures.Violation("incident " + id + "'s escalation was notified under " + std::to_string(ids.size()) +
                        " delivery ids");
    } else if (ids.begin()->empty()) {
      figures.Violation("incident " + id + "'s escalation webhook carried no X-Flightdeck-Delivery");
    }
  }
  EXPECT_EQ(figures.violations(), 0) << stack_->Logs();
}

}  // namespace
}  // namespace flightdeck::test::chaos
