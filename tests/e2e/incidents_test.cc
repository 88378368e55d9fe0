// End to end: the incidents service behind the gateway, driven the way a monitoring tool and an
// on-call engineer would: a PagerDuty-style trigger -> acknowledge -> resolve by dedup_key, an
// escalation after a (shortened) acknowledgement deadline delivered signed to a webhook, and an
// incident that rolls back the release in flight on its service.
#include <openssl/hmac.h>

#include <algorithm>
#include <chrono>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "flightdeck/v1/incidents.grpc.pb.h"
#include "tests/support/http_client.h"
#include "tests/e2e/stack.h"
#include "tests/e2e/webhook_receiver.h"
#include "tests/support/wait.h"

namespace flightdeck::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

std::string HmacSha256Hex(const std::string& key, const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest, &len);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xf]);
  }
  return out;
}

class IncidentsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // Deadlines of seconds instead of minutes, so that escalation happens within the test.
    stack_ = new Stack(std::map<std::string, std::string>{
        {"FLIGHTDECK_INCIDENTS_ACK_DEADLINES", "SEV1=2s,SEV2=2s,SEV3=2s,SEV4=2s"}});
    ready_ = stack_->WaitReady();
  }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(ready_) << "the stack did not start\n" << stack_->Logs(); }

  static HttpResponse Call(const std::string& method, const std::string& path,
                           const std::string& body = "", bool with_token = true) {
    std::map<std::string, std::string> headers = {{"Content-Type", "application/json"}};
    if (with_token) headers["Authorization"] = "Bearer " + stack_->admin_token();
    return HttpRequest(method, stack_->gateway_url() + path, body, headers);
  }
  static json Get(const std::string& path) {
    HttpResponse r = Call("GET", path);
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    return json::parse(r.body, nullptr, false);
  }
  static json AlertByFingerprint(const std::string& fingerprint) {
    json alerts = Get("/v1/alerts?fingerprint=" + fingerprint).value("alerts", json::array());
    return alerts.empty() ? json::object() : alerts[0];
  }

  static Stack* stack_;
  static bool ready_;
};

Stack* IncidentsTest::stack_ = nullptr;
bool IncidentsTest::ready_ = false;

TEST_F(IncidentsTest, PagerDutyTriggerAcknowledgeResolveByDedupKey) {
  HttpResponse created = Call("POST", "/v1/integrations",
                              json{{"name", "nagios"}, {"service", "db"}, {"environment", "production"}}.dump());
  ASSERT_EQ(created.status, 200) << created.body;
  const std::string routing_key = json::parse(created.body).value("routing_key", "");
  ASSERT_EQ(routing_key.size(), 32u) << created.body;

  // PagerDuty senders have no bearer token: the routing key is their credential.
  auto enqueue = [&](const std::string& action) {
    return Call("POST", "/v2/enqueue",
                json{{"routing_key", routing_key},
                     {"event_action", action},
                     {"dedup_key", "db1-disk-full"},
                     {"payload", {{"summary", "disk full on db1"}, {"source", "db1"}, {"severity", "error"}}}}
                    .dump(),
                /*with_token=*/false);
  };
  const json accepted = json::parse(
      R"({"status":"success","message":"Event processed","dedup_key":"db1-disk-full"})");
  HttpResponse trigger = enqueue("trigger");
  ASSERT_EQ(trigger.status, 202) << trigger.body;
  EXPECT_EQ(json::parse(trigger.body, nullptr, false), accepted);

  json alert = AlertByFingerprint("db1-disk-full");
  ASSERT_EQ(alert.value("state", ""), "FIRING") << alert.dump();
  EXPECT_EQ(alert.value("source", ""), "pagerduty");
  const std::string incident_id = alert.value("incident_id", "");
  ASSERT_FALSE(incident_id.empty()) << alert.dump();
  EXPECT_EQ(Get("/v1/incidents/" + incident_id).value("service", ""), "db");

  HttpResponse ack = enqueue("acknowledge");
  ASSERT_EQ(ack.status, 202) << ack.body;
  EXPECT_EQ(json::parse(ack.body, nullptr, false), accepted);
  EXPECT_EQ(Get("/v1/incidents/" + incident_id).value("state", ""), "ACKNOWLEDGED");

  HttpResponse resolve = enqueue("resolve");
  ASSERT_EQ(resolve.status, 202) << resolve.body;
  EXPECT_EQ(json::parse(resolve.body, nullptr, false), accepted);
  EXPECT_EQ(AlertByFingerprint("db1-disk-full").value("state", ""), "RESOLVED");
  EXPECT_TRUE(WaitUntil([&] { return Get("/v1/incidents/" + incident_id).value("state", "") == "RESOLVED"; },
                        std::chrono::seconds(10), 200ms))
      << Get("/v1/incidents/" + incident_id).dump();

  HttpResponse invalid = Call("POST", "/v2/enqueue",
                              json{{"routing_key", "0000000000000000000000000000dead"},
                                   {"event_action", "trigger"},
                                   {"payload", {{"summary", "x"}, {"source", "y"}, {"severity", "info"}}}}
                                  .dump(),
                              /*with_token=*/false);
  EXPECT_EQ(invalid.status, 400) << invalid.body;
  json error = json::parse(invalid.body, nullptr, false);
  EXPECT_EQ(error.value("status", ""), "invalid event");
  EXPECT_EQ(error.value("message", ""), "Event object is invalid");
  ASSERT_TRUE(error["errors"].is_array() && !error["errors"].empty()) << invalid.body;
  EXPECT_NE(error["errors"][0].get<std::string>().find("routing_key"), std::string::npos) << invalid.body;
}

TEST_F(IncidentsTest, MissedAcknowledgementEscalatesToASignedWebhook) {
  WebhookReceiver receiver;
  const std::string secret = "whsec-e2e-0123456789";
  HttpResponse policy = Call("POST", "/v1/escalation-policies", json{
      {"name", "checkout-oncall"},
      {"levels", json::array({{{"delay", "0s"},
                               {"targets", json::array({{{"name", "pager"},
                                                         {"url", receiver.Url("/hook")},
                                                         {"secret", secret}}})}}})}}.dump());
  ASSERT_EQ(policy.status, 200) << policy.body;
  EXPECT_EQ(policy.body.find(secret), std::string::npos) << "a secret is never returned";

  HttpResponse declared = Call("POST", "/v1/incidents", json{
      {"title", "checkout latency"}, {"severity", "SEV2"}, {"service", "checkout"},
      {"environment", "production"}, {"escalation_policy", "checkout-oncall"}}.dump());
  ASSERT_EQ(declared.status, 200) << declared.body;
  const std::string id = json::parse(declared.body).value("id", "");

  ASSERT_TRUE(WaitUntil([&] { return !receiver.Deliveries("/hook").empty(); }, std::chrono::seconds(30), 200ms))
      << "no escalation webhook\n" << Get("/v1/incidents/" + id).dump() << "\n" << stack_->Logs();
  const WebhookReceiver::Delivery delivery = receiver.Deliveries("/hook").front();
  EXPECT_NE(delivery.body.find(id), std::string::npos) << delivery.body;
  // "t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>", checked independently here.
  const std::string& header = delivery.signature;
  const size_t comma = header.find(",v1=");
  ASSERT_EQ(header.rfind("t=", 0), 0u) << header;
  ASSERT_NE(comma, std::string::npos) << header;
  const std::string t = header.substr(2, comma - 2);
  EXPECT_EQ(header.substr(comma + 4), HmacSha256Hex(secret, t + "." + delivery.body)) << header;
  EXPECT_LT(std::abs(std::stoll(t) - static_cast<long long>(std::time(nullptr))), 120);
  // The notification's delivery id, the same on any retry, for a receiver to drop a re-delivery.
  pqxx::connection db(stack_->database_url());
  pqxx::work tx(db);
  const pqxx::result ids = tx.exec_params(
      "SELECT delivery_id::text FROM incidents.notifications WHERE incident_id = $1 AND target_name = 'pager'", id);
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_EQ(delivery.delivery_id, ids[0][0].as<std::string>());

  const json incident = Get("/v1/incidents/" + id);
  EXPECT_TRUE(incident.value("ack_breached", false)) << incident.dump();
  bool escalated = false;
  for (const json& e : incident.value("timeline", json::array())) {
    escalated = escalated || e.value("kind", "") == "ESCALATED";
  }
  EXPECT_TRUE(escalated) << incident.dump();
}

TEST_F(IncidentsTest, IncidentOnAServiceWithAReleaseInFlightRollsItBack) {
  HttpResponse release = Call("POST", "/v1/releases", json{
      {"service", "payments"}, {"environment", "staging"}, {"version", "v3.1.0"},
      {"commit_sha", "4e1c2d3a9b8f7e6d5c4b3a29180716f5e4d3c2b1"}, {"image", "registry.example/payments:v3.1.0"},
      {"driver", {{"kind", "external"}}}}.dump());
  ASSERT_EQ(release.status, 200) << release.body;
  const std::string release_id = json::parse(release.body).value("id", "");
  // The external driver waits for the pipeline, so the release sits in flight.
  ASSERT_TRUE(WaitUntil([&] {
    const std::string state = Get("/v1/releases/" + release_id).value("state", "");
    return state == "CANARY" || state == "PROMOTING" || state == "VERIFYING";
  }, std::chrono::seconds(20), 200ms))
      << Get("/v1/releases/" + release_id).dump();

  HttpResponse posted = Call("POST", "/v1/alerts", json{
      {"source", "e2e"},
      {"alerts", json::array({{{"labels", {{"alertname", "HighErrorRate"}, {"service", "payments"},
                                           {"environment", "staging"}, {"severity", "sev1"}}},
                               {"annotations", {{"summary", "5xx at 30%"}}}}})}}.dump());
  ASSERT_EQ(posted.status, 200) << posted.body;
  const json ingest = json::parse(posted.body);
  ASSERT_FALSE(ingest.value("incident_ids", json::array()).empty()) << posted.body;
  const std::string incident_id = ingest["incident_ids"][0];

  EXPECT_TRUE(WaitUntil([&] {
    const std::string state = Get("/v1/releases/" + release_id).value("state", "");
    return state == "ROLLING_BACK" || state == "ABORTED";
  }, std::chrono::seconds(30), 200ms))
      << "release not rolled back: " << Get("/v1/releases/" + release_id).dump() << "\n" << stack_->Logs();
  bool requested = false;
  json incident;
  EXPECT_TRUE(WaitUntil([&] {
    incident = Get("/v1/incidents/" + incident_id);
    for (const json& e : incident.value("timeline", json::array())) {
      requested = requested || e.value("kind", "") == "ROLLBACK_REQUESTED";
    }
    return requested;
  }, std::chrono::seconds(10), 200ms))
      << incident.dump();
  EXPECT_EQ(incident.value("severity", ""), "SEV1");
  EXPECT_TRUE(incident.value("deploy_correlated", false)) << incident.dump();
  // The release's own timeline names the incident that took it back.
  const json events = Get("/v1/releases/" + release_id + "/events");
  bool linked = false;
  for (const json& e : events.value("events", json::array())) {
    linked = linked || e.value("message", "").find(incident_id) != std::string::npos;
  }
  EXPECT_TRUE(linked) << events.dump();
}

TEST_F(IncidentsTest, WatchIncidentsStreamsAnIncidentsTimelineAsItHappens) {
  HttpResponse declared = Call("POST", "/v1/incidents", json{
      {"title", "search is slow"}, {"severity", "SEV3"}, {"service", "search"},
      {"environment", "production"}}.dump());
  ASSERT_EQ(declared.status, 200) << declared.body;
  const std::string id = json::parse(declared.body).value("id", "");
  // Watch from the incident's OPENED event on: what follows cannot be missed, however long the
  // stream takes to start.
  long long opened_event = 0;
  for (const json& e : Get("/v1/incidents/" + id).value("timeline", json::array())) {
    if (e.value("kind", "") != "OPENED") continue;
    const json& event_id = e["id"];
    opened_event = event_id.is_string() ? std::stoll(event_id.get<std::string>()) : event_id.get<long long>();
  }
  ASSERT_GT(opened_event, 0);

  auto channel = stack_->Channel("incidents");
  auto stub = v1::IncidentService::NewStub(channel);
  grpc::ClientContext context;
  context.AddMetadata("x-flightdeck-role", "VIEWER");  // as the gateway passes a viewer's role
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  v1::WatchIncidentsRequest request;
  request.set_incident_id(id);
  request.set_after_event_id(opened_event);
  auto reader = stub->WatchIncidents(&context, request);
  EXPECT_EQ(Call("POST", "/v1/incidents/" + id + "/acknowledge", "{}").status, 200);

  // Each change made over REST arrives on the stream, in order; the next is made once it has.
  std::vector<std::string> kinds;
  v1::IncidentEvent event;
  while (reader->Read(&event)) {
    EXPECT_EQ(event.incident_id(), id);
    kinds.push_back(event.kind());
    if (event.kind() == "ACKNOWLEDGED") {
      EXPECT_EQ(Call("POST", "/v1/incidents/" + id + "/updates",
                     json{{"message", "index rebuilt, latency recovering"}}.dump()).status, 200);
    } else if (event.kind() == "STATUS_UPDATE") {
      EXPECT_EQ(Call("POST", "/v1/incidents/" + id + "/resolve", "{}").status, 200);
    } else if (event.kind() == "RESOLVED") {
      context.TryCancel();
    }
  }
  reader->Finish();
  const std::vector<std::string> expected = {"ACKNOWLEDGED", "STATUS_UPDATE", "RESOLVED"};
  std::vector<std::string> lifecycle;
  for (const std::string& k : kinds) {
    if (std::find(expected.begin(), expected.end(), k) != expected.end()) lifecycle.push_back(k);
  }
  EXPECT_EQ(lifecycle, expected) << "all kinds seen: " << testing::PrintToString(kinds);

  v1::WatchIncidentsRequest unknown;
  unknown.set_incident_id("00000000-0000-0000-0000-000000000000");
  grpc::ClientContext unknown_context;
  unknown_context.AddMetadata("x-flightdeck-role", "VIEWER");  // as the gateway passes a viewer's role
  unknown_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  auto unknown_reader = stub->WatchIncidents(&unknown_context, unknown);
  EXPECT_FALSE(unknown_reader->Read(&event));
  EXPECT_EQ(unknown_reader->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(IncidentsTest, ReviewThenActionsThenCloseAsTheRunbookSays) {
  HttpResponse r = Call("POST", "/v1/incidents",
                        json{{"title", "ledger slow"}, {"severity", "sev3"}, {"service", "ledger"}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string id = json::parse(r.body)["id"];
  ASSERT_EQ(id.rfind("INC-", 0), 0u) << id;
  const std::string number = id.substr(4);
  // By number and in lower case, as people type them.
  EXPECT_EQ(Get("/v1/incidents/" + number)["id"], id);
  r = Call("POST", "/v1/incidents/inc-" + number + "/resolve", "{}");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["state"], "RESOLVED");

  // The review with one action; another action after it.
  r = Call("POST", "/v1/incidents/" + id + "/review",
           json{{"summary", "slow queries"},
                {"root_cause", "missing index"},
                {"actions", json::array({{{"title", "add the index"}, {"owner", "ana"}}})}}
               .dump());
  ASSERT_EQ(r.status, 200) << r.body;
  json reviewed = json::parse(r.body);
  EXPECT_EQ(reviewed["state"], "RESOLVED");
  ASSERT_EQ(reviewed["actions"].size(), 1u) << r.body;
  const std::string first = reviewed["actions"][0]["id"];
  r = Call("POST", "/v1/incidents/" + id + "/actions",
           json{{"title", "alert on slow queries"}, {"owner", "bo"}}.dump());
  ASSERT_EQ(r.status, 200) << "actions after the review: " << r.body;
  const std::string second = json::parse(r.body)["id"];

  // Closing is refused with what is missing, then allowed.
  r = Call("POST", "/v1/incidents/" + id + "/close", "{}");
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_NE(r.body.find("2 actions are still open"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(first), std::string::npos) << r.body;
  ASSERT_EQ(Call("POST", "/v1/actions/" + first + "/complete", "{}").status, 200);
  ASSERT_EQ(Call("POST", "/v1/actions/" + second + "/complete",
                 json{{"tracking_url", "https://tickets.example/DB-9"}}.dump()).status, 200);
  EXPECT_EQ(Get("/v1/incidents/" + id)["state"], "RESOLVED") << "completing actions closes nothing";
  r = Call("POST", "/v1/incidents/" + id + "/close", json{{"message", "all done"}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["state"], "CLOSED");

  // Filters in any case; a bad one names the field and the valid values.
  json closed = Get("/v1/incidents?state=closed&service=ledger")["incidents"];
  ASSERT_EQ(closed.size(), 1u) << closed.dump();
  EXPECT_EQ(closed[0]["id"], id);
  EXPECT_EQ(Get("/v1/incidents?state=open&service=ledger").value("incidents", json::array()).size(), 0u);
  r = Call("GET", "/v1/incidents?state=sleeping");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("state: \\\"sleeping\\\" is not one of TRIGGERED, ACKNOWLEDGED, RESOLVED, CLOSED, OPEN"),
            std::string::npos)
      << r.body;
}

// The egress policy, black-box: a webhook into a denied range (cloud metadata) or at the
// incidents service's own admin port is refused with the reason, naming the field; the URL
// itself (a credential) is not echoed.
TEST_F(IncidentsTest, WebhooksIntoDeniedRangesAreRefusedWithTheReason) {
  for (const std::string& url : {std::string("http://169.254.169.254/hook/Tsecretpath"),
                                 stack_->admin_url("incidents") + "/metrics?Tsecretpath"}) {
    HttpResponse policy = Call("POST", "/v1/escalation-policies", json{
        {"name", "ssrf"},
        {"levels", json::array({{{"delay", "0s"},
                                 {"targets", json::array({{{"name", "pager"}, {"url", url}}})}}})}}.dump());
    EXPECT_EQ(policy.status, 400) << url << ": " << policy.body;
    EXPECT_NE(policy.body.find("levels[0].targets[0].url: egress policy refuses"), std::string::npos) << policy.body;
    EXPECT_EQ(policy.body.find("Tsecretpath"), std::string::npos) << policy.body;
  }
  EXPECT_EQ(Call("GET", "/v1/escalation-policies/ssrf").status, 404);
}

}  // namespace
}  // namespace flightdeck::test
