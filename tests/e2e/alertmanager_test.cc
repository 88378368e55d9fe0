// Integration: a real Prometheus Alertmanager (Debian's prometheus-alertmanager) delivers its
// webhooks to the running stack's gateway with an INGEST token, the way a platform wires them:
// incidents and alerts appear, repeated deliveries keep one alert, ServiceDown inhibits
// HighResponseTime of the same service and environment, and resolved alerts resolve.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/http_client.h"
#include "tests/e2e/stack.h"
#include "tests/support/wait.h"

namespace flightdeck::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr char kAlertmanager[] = "/usr/bin/prometheus-alertmanager";

std::string Rfc3339(std::chrono::system_clock::time_point t) {
  std::time_t s = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

class AlertmanagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(access(kAlertmanager, X_OK), 0)
        << kAlertmanager << " is missing: install the Debian package prometheus-alertmanager";
    stack_ = std::make_unique<Stack>();
    ASSERT_TRUE(stack_->WaitReady()) << stack_->Logs();

    HttpResponse token = Gateway("POST", "/v1/tokens", stack_->admin_token(),
                                 json{{"name", "alertmanager"}, {"role", "INGEST"}}.dump());
    ASSERT_EQ(token.status, 200) << "an INGEST token: " << token.body;
    const std::string secret = json::parse(token.body).value("secret", "");

    char dir[] = "/tmp/fd-alertmanager-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    // Alertmanager's own inhibition is left out: Flightdeck's is what is tested.
    std::ofstream(dir_ + "/alertmanager.yml")
        << "route:\n"
           "  receiver: flightdeck\n"
           "  group_by: ['alertname', 'service', 'environment']\n"
           "  group_wait: 0s\n"
           "  group_interval: 1s\n"
           "  repeat_interval: 1m\n"
           "receivers:\n"
           "  - name: flightdeck\n"
           "    webhook_configs:\n"
           "      - url: "
        << stack_->gateway_url()
        << "/v1/alerts/alertmanager\n"
           "        send_resolved: true\n"
           "        http_config:\n"
           "          authorization:\n"
           "            credentials: "
        << secret << "\n";
    const int port = FreePort();
    am_url_ = "http://127.0.0.1:" + std::to_string(port);
    alertmanager_ = std::make_unique<Process>(
        "alertmanager", kAlertmanager, std::map<std::string, std::string>{},
        std::vector<std::string>{"--config.file=" + dir_ + "/alertmanager.yml",
                                 "--storage.path=" + dir_ + "/data",
                                 "--web.listen-address=127.0.0.1:" + std::to_string(port),
                                 "--cluster.listen-address="});
    ASSERT_TRUE(WaitUntil([&] { return HttpRequest("GET", am_url_ + "/-/ready").status == 200; },
                          std::chrono::seconds(30), 200ms))
        << alertmanager_->LogTail();
  }

  void TearDown() override {
    if (alertmanager_) alertmanager_->Stop();
    alertmanager_.reset();
    stack_.reset();
    if (!dir_.empty()) std::system(("rm -rf '" + dir_ + "'").c_str());
  }

  HttpResponse Gateway(const std::string& method, const std::string& path, const std::string& token,
                       const std::string& body = "") {
    return HttpRequest(method, stack_->gateway_url() + path, body,
                       {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}});
  }

  json Read(const std::string& path, const char* list) {
    HttpResponse r = Gateway("GET", path, stack_->admin_token());
    if (r.status != 200) return json::array();
    return json::parse(r.body, nullptr, false).value(list, json::array());
  }

  void PostToAlertmanager(const json& alerts) {
    HttpResponse r = HttpRequest("POST", am_url_ + "/api/v2/alerts", alerts.dump(),
                                 {{"Content-Type", "application/json"}});
    ASSERT_EQ(r.status, 200) << r.body;
  }

  // The stored alerts whose alertname (and instance, when given) match.
  json AlertsNamed(const std::string& name, const std::string& instance = "") {
    json out = json::array();
    for (const json& a : Read("/v1/alerts?page_size=500", "alerts")) {
      const json labels = a.value("labels", json::object());
      if (labels.value("alertname", "") != name) continue;
      if (!instance.empty() && labels.value("instance", "") != instance) continue;
      out.push_back(a);
    }
    return out;
  }

  json Alert(const std::string& name, const std::string& instance,
             std::chrono::system_clock::time_point starts, const std::string& ends = "") {
    json alert = {{"labels",
                   {{"alertname", name},
                    {"service", "checkout"},
                    {"environment", "production"},
                    {"instance", instance},
                    {"severity", "critical"}}},
                  {"annotations", {{"summary", name + " on " + instance}}},
                  {"startsAt", Rfc3339(starts)}};
    if (!ends.empty()) alert["endsAt"] = ends;
    return alert;
  }

  std::unique_ptr<Stack> stack_;
  std::unique_ptr<Process> alertmanager_;
  std::string dir_;
  std::string am_url_;
};

TEST_F(AlertmanagerTest, DeliveriesBecomeIncidentsWithDedupInhibitionAndResolution) {
  const auto started = std::chrono::system_clock::now() - std::chrono::seconds(30);
  PostToAlertmanager(json::array({Alert("ServiceDown", "a", started)}));

  json down;
  ASSERT_TRUE(WaitUntil([&] {
    down = AlertsNamed("ServiceDown", "a");
    return down.size() == 1 && !down[0].value("incident_id", "").empty();
  }, std::chrono::seconds(30), 200ms))
      << "ServiceDown never arrived with an incident: " << down.dump() << "\n" << stack_->Logs();
  EXPECT_EQ(down[0]["state"], "FIRING");
  EXPECT_EQ(down[0]["source"], "alertmanager");
  const std::string incident_id = down[0]["incident_id"];
  const std::string fingerprint = down[0]["fingerprint"];
  json incidents = Read("/v1/incidents?service=checkout", "incidents");
  ASSERT_EQ(incidents.size(), 1u) << incidents.dump();
  EXPECT_EQ(incidents[0]["id"], incident_id);
  EXPECT_EQ(incidents[0]["environment"], "production");

  // A second instance changes the group, so Alertmanager delivers the first alert again.
  PostToAlertmanager(json::array({Alert("ServiceDown", "b", started)}));
  ASSERT_TRUE(WaitUntil([&] {
    json a = AlertsNamed("ServiceDown", "a");
    return a.size() == 1 && a[0].value("deliveries", 0) >= 2 && AlertsNamed("ServiceDown", "b").size() == 1;
  }, std::chrono::seconds(30), 200ms))
      << "no repeated delivery: " << AlertsNamed("ServiceDown").dump();
  json again = AlertsNamed("ServiceDown", "a");
  ASSERT_EQ(again.size(), 1u) << "a repeated delivery must not duplicate the alert";
  EXPECT_EQ(again[0]["id"], down[0]["id"]);
  EXPECT_EQ(again[0]["fingerprint"], fingerprint);

  // ServiceDown fires for checkout/production: HighResponseTime there is stored, inhibited,
  // and opens nothing.
  PostToAlertmanager(json::array({Alert("HighResponseTime", "a", started)}));
  json slow;
  ASSERT_TRUE(WaitUntil([&] {
    slow = AlertsNamed("HighResponseTime");
    return slow.size() == 1;
  }, std::chrono::seconds(30), 200ms))
      << "HighResponseTime never arrived\n" << stack_->Logs();
  EXPECT_TRUE(slow[0].value("inhibited", false)) << slow.dump();
  EXPECT_EQ(slow[0].value("inhibited_by", ""), fingerprint) << slow.dump();
  EXPECT_EQ(slow[0].value("incident_id", ""), "") << slow.dump();
  EXPECT_EQ(Read("/v1/incidents?service=checkout", "incidents").size(), 1u)
      << "an inhibited alert opened an incident";

  // Ending the ServiceDown alerts in Alertmanager sends them resolved.
  const std::string ended = Rfc3339(std::chrono::system_clock::now() - std::chrono::seconds(5));
  PostToAlertmanager(json::array({Alert("ServiceDown", "a", started, ended),
                                  Alert("ServiceDown", "b", started, ended)}));
  ASSERT_TRUE(WaitUntil([&] {
    json all = AlertsNamed("ServiceDown");
    if (all.size() != 2) return false;
    for (const json& a : all) {
      if (a.value("state", "") != "RESOLVED") return false;
    }
    return true;
  }, std::chrono::seconds(30), 200ms))
      << "ServiceDown alerts did not resolve: " << AlertsNamed("ServiceDown").dump();
  // With its source resolved, the HighResponseTime alert that still fires pages after all.
  EXPECT_TRUE(WaitUntil([&] {
    json a = AlertsNamed("HighResponseTime");
    return a.size() == 1 && !a[0].value("inhibited", true) && !a[0].value("incident_id", "").empty();
  }, std::chrono::seconds(15), 200ms))
      << AlertsNamed("HighResponseTime").dump();
}

// A sender speaking Alertmanager's webhook format with its own fingerprints (not Alertmanager's
// 16 hex digits): each is kept as the alert's identity; one past the bounds is refused.
TEST_F(AlertmanagerTest, AnOpaqueFingerprintIsKeptAndAnOversizedOneRefused) {
  auto webhook = [](const std::string& fingerprint) {
    return json{{"version", "4"},
                {"status", "firing"},
                {"alerts", json::array({{{"status", "firing"},
                                          {"labels", {{"alertname", "DiskFull"}, {"service", "db"}}},
                                          {"fingerprint", fingerprint}}})}}
        .dump();
  };
  HttpResponse r = Gateway("POST", "/v1/alerts/alertmanager", stack_->admin_token(), webhook("zabbix:disk/db1"));
  ASSERT_EQ(r.status, 200) << r.body;
  json stored = Read("/v1/alerts?fingerprint=zabbix:disk/db1", "alerts");
  ASSERT_EQ(stored.size(), 1u) << "the given fingerprint was replaced: " << AlertsNamed("DiskFull").dump();
  // Same labels, another identity: a second alert, not a repeat of the first.
  ASSERT_EQ(Gateway("POST", "/v1/alerts/alertmanager", stack_->admin_token(), webhook("zabbix:disk/db2")).status, 200);
  EXPECT_EQ(AlertsNamed("DiskFull").size(), 2u) << AlertsNamed("DiskFull").dump();

  r = Gateway("POST", "/v1/alerts/alertmanager", stack_->admin_token(), webhook(std::string(300, 'f')));
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("alerts[0].fingerprint: must be at most 255 characters"), std::string::npos) << r.body;
  r = Gateway("POST", "/v1/alerts/alertmanager", stack_->admin_token(), webhook("two words"));
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("alerts[0].fingerprint: must be printable ASCII without spaces"), std::string::npos)
      << r.body;
  EXPECT_EQ(AlertsNamed("DiskFull").size(), 2u);
}

// PostgreSQL stores no NUL character: a label holding one failed the batch's write, answered
// 503, and Alertmanager would have retried that batch for ever. It is refused by name instead.
TEST_F(AlertmanagerTest, ALabelHoldingANulIsRefusedByName) {
  const json webhook = {{"version", "4"},
                        {"status", "firing"},
                        {"alerts", json::array({{{"status", "firing"},
                                                 {"labels", {{"alertname", "NulLabel"},
                                                             {"service", "db"},
                                                             {"note", std::string("a\0b", 3)}}}}})}};
  HttpResponse r = Gateway("POST", "/v1/alerts/alertmanager", stack_->admin_token(), webhook.dump());
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("alerts[0].labels[\\\"note\\\"]: contains a NUL character"), std::string::npos)
      << r.body;
  EXPECT_EQ(AlertsNamed("NulLabel").size(), 0u);
}

}  // namespace
}  // namespace flightdeck::test
