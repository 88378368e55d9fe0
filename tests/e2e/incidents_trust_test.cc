// End to end: the incidents service's trust boundaries through the gateway, as an attacker with
// one integration's routing key or a viewer token would probe them: PagerDuty events act on
// their own integration's alerts only, routing keys are shown once, notification URLs are
// shortened for non-admins, and an incident's answer and lists are bounded.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/http_client.h"
#include "tests/e2e/stack.h"

namespace flightdeck::test {
namespace {

using nlohmann::json;

class IncidentsTrustTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    stack_ = new Stack();
    ready_ = stack_->WaitReady();
  }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(ready_) << "the stack did not start\n" << stack_->Logs(); }

  static HttpResponse Call(const std::string& method, const std::string& path, const std::string& body = "",
                           const std::string& token = "") {
    std::map<std::string, std::string> headers = {{"Content-Type", "application/json"}};
    if (!token.empty()) headers["Authorization"] = "Bearer " + token;
    return HttpRequest(method, stack_->gateway_url() + path, body, headers);
  }
  static json Admin(const std::string& method, const std::string& path, const std::string& body = "") {
    HttpResponse r = Call(method, path, body, stack_->admin_token());
    EXPECT_EQ(r.status, 200) << method << " " << path << ": " << r.body;
    return json::parse(r.body, nullptr, false);
  }
  static HttpResponse Enqueue(const std::string& key, const std::string& action, const std::string& dedup) {
    return Call("POST", "/v2/enqueue",
                json{{"routing_key", key},
                     {"event_action", action},
                     {"dedup_key", dedup},
                     {"payload", {{"summary", "disk full"}, {"source", "db1"}, {"severity", "error"}}}}
                    .dump());
  }

  static Stack* stack_;
  static bool ready_;
};

Stack* IncidentsTrustTest::stack_ = nullptr;
bool IncidentsTrustTest::ready_ = false;

TEST_F(IncidentsTrustTest, ARoutingKeyActsOnlyOnItsOwnIntegrationAndIsShownOnce) {
  const std::string own_key =
      Admin("POST", "/v1/integrations", json{{"name", "db-pd"}, {"service", "db"}}.dump()).value("routing_key", "");
  const std::string other_key =
      Admin("POST", "/v1/integrations", json{{"name", "web-pd"}, {"service", "web"}}.dump()).value("routing_key", "");
  ASSERT_EQ(own_key.size(), 32u);
  ASSERT_EQ(other_key.size(), 32u);
  json listed = Admin("GET", "/v1/integrations");
  for (const json& i : listed["integrations"]) {
    const std::string shown = i.value("routing_key", "");
    EXPECT_EQ(shown.substr(0, 4), "****") << i.dump();
    EXPECT_EQ(shown.size(), 8u) << i.dump();
  }
  EXPECT_EQ(Admin("GET", "/v1/integrations/db-pd").value("routing_key", ""), "****" + own_key.substr(28));

  ASSERT_EQ(Enqueue(own_key, "trigger", "db1-disk").status, 202);
  json alerts = Admin("GET", "/v1/alerts?fingerprint=db1-disk")["alerts"];
  ASSERT_EQ(alerts.size(), 1u);
  const std::string incident = alerts[0].value("incident_id", "");
  ASSERT_FALSE(incident.empty());
  for (const char* action : {"acknowledge", "resolve"}) {
    HttpResponse r = Enqueue(other_key, action, "db1-disk");
    EXPECT_EQ(r.status, 202) << action << ": " << r.body;
    EXPECT_EQ(json::parse(r.body, nullptr, false).value("status", ""), "success") << r.body;
    EXPECT_EQ(Admin("GET", "/v1/incidents/" + incident).value("state", ""), "TRIGGERED")
        << "web-pd's " << action << " changed db-pd's incident";
  }
  ASSERT_EQ(Enqueue(own_key, "acknowledge", "db1-disk").status, 202);
  EXPECT_EQ(Admin("GET", "/v1/incidents/" + incident).value("state", ""), "ACKNOWLEDGED");
}

TEST_F(IncidentsTrustTest, AViewerSeesNotificationUrlsAsSchemeAndHost) {
  const std::string url = "https://hooks.slack.example.com/services/T0/B0/XyZsecretpath";
  Admin("POST", "/v1/escalation-policies",
        json{{"name", "db.oncall"}, {"on_open", {{{"name", "chat"}, {"url", url}, {"format", "slack"}}}}}.dump());
  const std::string viewer =
      Admin("POST", "/v1/tokens", json{{"name", "trust-viewer"}, {"role", "VIEWER"}}.dump()).value("secret", "");
  ASSERT_FALSE(viewer.empty());
  HttpResponse seen = Call("GET", "/v1/escalation-policies/db.oncall", "", viewer);
  ASSERT_EQ(seen.status, 200) << seen.body;
  EXPECT_EQ(seen.body.find("XyZsecretpath"), std::string::npos) << seen.body;
  EXPECT_EQ(json::parse(seen.body)["on_open"][0].value("url", ""), "https://hooks.slack.example.com");
  HttpResponse listed = Call("GET", "/v1/escalation-policies", "", viewer);
  ASSERT_EQ(listed.status, 200) << listed.body;
  EXPECT_EQ(listed.body.find("XyZsecretpath"), std::string::npos) << listed.body;
  EXPECT_EQ(Admin("GET", "/v1/escalation-policies/db.oncall")["on_open"][0].value("url", ""), url);
}

TEST_F(IncidentsTrustTest, AnIncidentsAlertsAndEventsArePagedWithAMaximum) {
  json batch = json::array();
  for (int i = 0; i < 3; ++i) {
    batch.push_back({{"labels", {{"alertname", "DiskFull"}, {"service", "paged"}, {"environment", "production"},
                                 {"instance", "db-" + std::to_string(i)}}}});
  }
  json ingested = Admin("POST", "/v1/alerts", json{{"alerts", batch}}.dump());
  ASSERT_EQ(ingested["incident_ids"].size(), 1u) << ingested.dump();
  const std::string id = ingested["incident_ids"][0];
  json detail = Admin("GET", "/v1/incidents/" + id);
  EXPECT_FALSE(detail.value("alerts_truncated", false));

  json first = Admin("GET", "/v1/incidents/" + id + "/alerts?page_size=2");
  ASSERT_EQ(first["alerts"].size(), 2u) << first.dump();
  const std::string token = first.value("next_page_token", "");
  ASSERT_FALSE(token.empty());
  json second = Admin("GET", "/v1/incidents/" + id + "/alerts?page_size=2&page_token=" + token);
  ASSERT_EQ(second["alerts"].size(), 1u) << second.dump();
  EXPECT_FALSE(second.contains("next_page_token") && !second["next_page_token"].get<std::string>().empty());

  json events = Admin("GET", "/v1/incidents/" + id + "/events");
  ASSERT_GE(events["events"].size(), 3u) << events.dump();
  EXPECT_EQ(events["events"][0].value("kind", ""), "OPENED");

  for (const std::string path : {"/alerts", "/events"}) {
    HttpResponse tooMany = Call("GET", "/v1/incidents/" + id + path + "?page_size=501", "", stack_->admin_token());
    EXPECT_EQ(tooMany.status, 400) << path << ": " << tooMany.body;
    EXPECT_NE(tooMany.body.find("page_size: must be between 1 and 500"), std::string::npos) << tooMany.body;
  }
  EXPECT_EQ(Call("GET", "/v1/incidents/INC-99999/events", "", stack_->admin_token()).status, 404);
}

}  // namespace
}  // namespace flightdeck::test
