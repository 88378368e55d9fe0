// End to end: Flightdeck computes an alert's fingerprint the way Alertmanager does. The same label
// sets go to a running Alertmanager (Debian's prometheus-alertmanager, POST /api/v2/alerts) and,
// without a fingerprint, to Flightdeck (POST /v1/alerts); the fingerprint Alertmanager reports
// for each set must find that same set in Flightdeck (GET /v1/alerts?fingerprint=).
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/http_client.h"
#include "tests/e2e/stack.h"
#include "tests/support/wait.h"

namespace flightdeck::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using Labels = std::map<std::string, std::string>;

constexpr char kAlertmanager[] = "/usr/bin/prometheus-alertmanager";

// Label sets that exercise the algorithm: sorting, separators, multi-byte text, characters that
// look like separators, long values and many labels.
std::vector<Labels> LabelSets() {
  std::vector<Labels> sets = {
      {{"alertname", "ServiceDown"}, {"service", "api"}, {"environment", "production"}},
      {{"alertname", "HighResponseTime"}, {"job", "api"}, {"instance", "10.0.0.1:9100"}, {"severity", "warning"}},
      {{"alertname", "Größe"}, {"unit", "✓ µs"}, {"Upper", "Case"}, {"lower", "case"}},
      {{"alertname", "Separators"}, {"a", "b=c,d"}, {"ab", "\"quoted\" {braces}"}, {"a_b", "line\nbreak"}},
      {{"alertname", "Long"}, {"value", std::string(2000, 'x')}},
  };
  Labels many = {{"alertname", "ManyLabels"}};
  for (int i = 0; i < 40; ++i) many["label_" + std::to_string(i)] = "value " + std::to_string(i * 7);
  sets.push_back(many);
  return sets;
}

class AlertmanagerFingerprintsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(access(kAlertmanager, X_OK), 0)
        << kAlertmanager << " is missing: install the Debian package prometheus-alertmanager";
    stack_ = std::make_unique<Stack>();
    ASSERT_TRUE(stack_->WaitReady()) << stack_->Logs();
    char dir[] = "/tmp/fd-am-fingerprints-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    // Alertmanager only has to store the alerts and report their fingerprints: it sends nothing.
    std::ofstream(dir_ + "/alertmanager.yml") << "route:\n  receiver: nowhere\nreceivers:\n  - name: nowhere\n";
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
    if (!dir_.empty()) (void)!std::system(("rm -rf '" + dir_ + "'").c_str());
  }

  HttpResponse Flightdeck(const std::string& method, const std::string& path, const std::string& body = "") {
    return HttpRequest(method, stack_->gateway_url() + path, body,
                       {{"Authorization", "Bearer " + stack_->admin_token()},
                        {"Content-Type", "application/json"}});
  }

  std::unique_ptr<Stack> stack_;
  std::unique_ptr<Process> alertmanager_;
  std::string dir_;
  std::string am_url_;
};

TEST_F(AlertmanagerFingerprintsTest, FlightdeckComputesAlertmanagersFingerprints) {
  const std::vector<Labels> sets = LabelSets();
  json to_alertmanager = json::array();
  json to_flightdeck = json::array();
  for (const Labels& labels : sets) {
    to_alertmanager.push_back({{"labels", labels}});
    to_flightdeck.push_back({{"labels", labels}, {"status", "firing"}});
  }
  HttpResponse posted = HttpRequest("POST", am_url_ + "/api/v2/alerts", to_alertmanager.dump(),
                                    {{"Content-Type", "application/json"}});
  ASSERT_EQ(posted.status, 200) << posted.body;
  posted = Flightdeck("POST", "/v1/alerts", json{{"alerts", to_flightdeck}}.dump());
  ASSERT_EQ(posted.status, 200) << posted.body;

  // Alertmanager's fingerprint of each label set, once it lists them all.
  std::map<Labels, std::string> alertmanager_fingerprints;
  ASSERT_TRUE(WaitUntil([&] {
    HttpResponse r = HttpRequest("GET", am_url_ + "/api/v2/alerts");
    json listed = json::parse(r.body, nullptr, false);
    if (r.status != 200 || !listed.is_array()) return false;
    alertmanager_fingerprints.clear();
    for (const json& a : listed) {
      alertmanager_fingerprints[a.value("labels", json::object()).get<Labels>()] = a.value("fingerprint", "");
    }
    return alertmanager_fingerprints.size() == sets.size();
  }, std::chrono::seconds(20), 200ms))
      << "Alertmanager lists " << alertmanager_fingerprints.size() << " of " << sets.size();

  for (const Labels& labels : sets) {
    const std::string name = labels.at("alertname");
    ASSERT_EQ(alertmanager_fingerprints.count(labels), 1u) << name << ": not as posted in Alertmanager";
    const std::string fingerprint = alertmanager_fingerprints.at(labels);
    ASSERT_EQ(fingerprint.size(), 16u) << name;
    HttpResponse r = Flightdeck("GET", "/v1/alerts?fingerprint=" + fingerprint);
    ASSERT_EQ(r.status, 200) << r.body;
    json found = json::parse(r.body, nullptr, false).value("alerts", json::array());
    ASSERT_EQ(found.size(), 1u) << name << ": Flightdeck has no alert with Alertmanager's fingerprint "
                                << fingerprint << "; it has "
                                << Flightdeck("GET", "/v1/alerts?alertname=" + name).body;
    EXPECT_EQ(found[0].value("labels", json::object()).get<Labels>(), labels) << name;
  }
  // The look-up really filters: a fingerprint no label set has finds nothing.
  HttpResponse none = Flightdeck("GET", "/v1/alerts?fingerprint=0123456789abcdef");
  ASSERT_EQ(none.status, 200) << none.body;
  EXPECT_TRUE(json::parse(none.body, nullptr, false).value("alerts", json::array()).empty()) << none.body;
}

}  // namespace
}  // namespace flightdeck::test
