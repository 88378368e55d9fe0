// Integration: the gateway's intake routes (issue 5) in front of a fake incidents service, with
// the real token store, audit log and idempotency records on a fresh PostgreSQL database.
// What is checked is what a sender sees: the INGEST role's reach, Alertmanager's extra fields,
// PagerDuty's token-less posts, 202 and error bodies, and retryable 5xx.
#include <atomic>
#include <mutex>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/grpc/metadata.h"
#include "flightdeck/v1/incidents.grpc.pb.h"
#include "tests/support/http_client.h"
#include "tests/services/gateway/test_gateway.h"

namespace flightdeck::gateway {
namespace {

using nlohmann::json;
using test::HttpRequest;
using test::HttpResponse;

std::string Metadata(const grpc::ServerContext* context, const std::string& key) {
  auto it = context->client_metadata().find(key);
  if (it == context->client_metadata().end()) return "";
  return std::string(it->second.data(), it->second.size());
}

// Answers like the incidents service would, or with `failure` when one is set.
class FakeIncidents final : public v1::IncidentService::Service {
 public:
  grpc::Status PostAlertmanager(grpc::ServerContext* context, const v1::AlertmanagerWebhook* request,
                                v1::IngestResponse* response) override {
    std::lock_guard<std::mutex> lock(mu_);
    last_actor_ = Metadata(context, rpc::kActorKey);
    webhooks_.push_back(*request);
    if (!failure_.ok()) return failure_;
    response->set_received(request->alerts_size());
    for (int i = 0; i < request->alerts_size(); ++i) response->add_alert_ids("alert-" + std::to_string(i));
    return grpc::Status::OK;
  }
  grpc::Status PostPagerDutyEvent(grpc::ServerContext* context, const v1::PagerDutyEvent* request,
                                  v1::PagerDutyResponse* response) override {
    std::lock_guard<std::mutex> lock(mu_);
    last_actor_ = Metadata(context, rpc::kActorKey);
    events_.push_back(*request);
    if (!failure_.ok()) return failure_;
    response->set_status("success");
    response->set_message("Event processed");
    response->set_dedup_key(request->dedup_key().empty() ? "generated-key" : request->dedup_key());
    return grpc::Status::OK;
  }
  grpc::Status ListIncidents(grpc::ServerContext*, const v1::ListIncidentsRequest*,
                             v1::ListIncidentsResponse*) override {
    return grpc::Status::OK;
  }
  grpc::Status DeclareIncident(grpc::ServerContext*, const v1::DeclareIncidentRequest* request,
                               v1::Incident* response) override {
    response->set_id("inc-1");
    response->set_title(request->title());
    return grpc::Status::OK;
  }

  void Fail(grpc::Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    failure_ = std::move(status);
  }
  std::vector<v1::AlertmanagerWebhook> webhooks() {
    std::lock_guard<std::mutex> lock(mu_);
    return webhooks_;
  }
  std::vector<v1::PagerDutyEvent> events() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }
  std::string last_actor() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_actor_;
  }

 private:
  std::mutex mu_;
  grpc::Status failure_ = grpc::Status::OK;
  std::vector<v1::AlertmanagerWebhook> webhooks_;
  std::vector<v1::PagerDutyEvent> events_;
  std::string last_actor_;
};

const char kAlertmanagerPayload[] = R"({
  "version": "4", "groupKey": "{}:{alertname=\"ServiceDown\"}", "truncatedAlerts": 0,
  "status": "firing", "receiver": "flightdeck",
  "groupLabels": {"alertname": "ServiceDown"}, "commonLabels": {"service": "checkout"},
  "commonAnnotations": {}, "externalURL": "http://alertmanager:9093",
  "someFieldFromANewerAlertmanager": {"nested": [1, 2]},
  "alerts": [{"status": "firing", "labels": {"alertname": "ServiceDown", "service": "checkout"},
              "annotations": {"summary": "checkout is down"},
              "startsAt": "2026-11-22T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
              "generatorURL": "http://prometheus/graph", "fingerprint": "0123456789abcdef",
              "unknownPerAlertField": true}]})";

class IntakeRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    gateway_ = std::make_unique<testing::TestGateway>(
        std::map<api::Service, grpc::Service*>{{api::Service::kIncidents, &incidents_}});
    ingest_ = CreateToken("alertmanager", "INGEST");
    operator_ = CreateToken("oncall", "OPERATOR");
  }

  HttpResponse Call(const std::string& method, const std::string& path, const std::string& token,
                    const std::string& body = "") {
    return gateway_->Call(method, path, token, body);
  }
  std::string CreateToken(const std::string& name, const std::string& role) {
    return gateway_->CreateToken(name, role);
  }
  json AuditOf(const std::string& actor) { return gateway_->AuditOf(actor); }

  FakeIncidents incidents_;
  std::unique_ptr<testing::TestGateway> gateway_;
  std::string ingest_;
  std::string operator_;
};

TEST_F(IntakeRoutesTest, IngestTokenPostsAlertsButReadsNothing) {
  ASSERT_FALSE(ingest_.empty()) << "token creation must accept role INGEST";

  HttpResponse read = Call("GET", "/v1/incidents", ingest_);
  EXPECT_EQ(read.status, 403) << read.body;
  EXPECT_EQ(json::parse(read.body, nullptr, false)["error"]["code"], "PERMISSION_DENIED");
  EXPECT_EQ(Call("POST", "/v1/incidents", ingest_, R"({"title":"x"})").status, 403);

  HttpResponse posted = Call("POST", "/v1/alerts/alertmanager", ingest_, kAlertmanagerPayload);
  ASSERT_EQ(posted.status, 200) << posted.body;
  EXPECT_EQ(json::parse(posted.body, nullptr, false)["received"], 1);
  std::vector<v1::AlertmanagerWebhook> webhooks = incidents_.webhooks();
  ASSERT_EQ(webhooks.size(), 1u);
  ASSERT_EQ(webhooks[0].alerts_size(), 1);
  EXPECT_EQ(webhooks[0].alerts(0).fingerprint(), "0123456789abcdef");
  EXPECT_EQ(webhooks[0].alerts(0).starts_at(), "2026-11-22T10:00:00Z");
  EXPECT_EQ(webhooks[0].group_key(), "{}:{alertname=\"ServiceDown\"}");
  EXPECT_EQ(incidents_.last_actor(), "alertmanager");

  // The native intake is open to the same token; operators may post alerts too.
  EXPECT_EQ(Call("POST", "/v1/alerts/alertmanager", operator_, kAlertmanagerPayload).status, 200);

  json audit = AuditOf("alertmanager");
  ASSERT_FALSE(audit.empty()) << "intake is a write and is audited";
  EXPECT_EQ(audit[0]["action"], "POST /v1/alerts/alertmanager");
  EXPECT_EQ(audit[0]["role"], "INGEST");
}

TEST_F(IntakeRoutesTest, OtherRoutesStillRefuseUnknownFields) {
  HttpResponse r = Call("POST", "/v1/incidents", operator_,
                        R"({"title":"db down","severity":"SEV2","colour":"red"})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("colour"), std::string::npos) << r.body;
}

TEST_F(IntakeRoutesTest, PagerDutyEventWithoutTokenIsAcceptedWith202) {
  HttpResponse r = Call("POST", "/v2/enqueue", "", R"({
      "routing_key": "0123456789abcdef0123456789abcdef", "event_action": "trigger",
      "dedup_key": "disk-full-db1", "client": "nagios",
      "payload": {"summary": "disk full", "source": "db1", "severity": "critical",
                  "custom_details": {"free": "0%"}},
      "a_field_pagerduty_added_later": 1})");
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(json::parse(r.body, nullptr, false),
            json::parse(R"({"status":"success","message":"Event processed","dedup_key":"disk-full-db1"})"));
  ASSERT_EQ(incidents_.events().size(), 1u);
  EXPECT_EQ(incidents_.events()[0].routing_key(), "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(incidents_.last_actor(), "pagerduty");

  json audit = AuditOf("pagerduty");
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0]["status"], 200);  // the call's outcome, whatever the front answered
  EXPECT_EQ(audit[0]["action"], "POST /v2/enqueue");
}

TEST_F(IntakeRoutesTest, PagerDutyTokenIfSentMustBeValid) {
  const std::string event = R"({"routing_key":"k","event_action":"trigger","payload":{}})";
  EXPECT_EQ(Call("POST", "/v2/enqueue", "fd_not_a_real_token", event).status, 401);
  EXPECT_EQ(Call("POST", "/v2/enqueue", ingest_, event).status, 202);
  // A viewer token is valid but may not post alerts.
  std::string viewer = CreateToken("dashboard", "VIEWER");
  EXPECT_EQ(Call("POST", "/v2/enqueue", viewer, event).status, 403);
}

TEST_F(IntakeRoutesTest, InvalidPagerDutyEventsGetPagerDutysErrorShape) {
  incidents_.Fail(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                               "routing_key: no integration has this routing key\n"
                               "payload.summary: is required"));
  HttpResponse r = Call("POST", "/v2/enqueue", "", R"({"routing_key":"nope","event_action":"trigger"})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(json::parse(r.body, nullptr, false),
            json::parse(R"({"status":"invalid event","message":"Event object is invalid",
                            "errors":["routing_key: no integration has this routing key",
                                      "payload.summary: is required"]})"));

  HttpResponse garbage = Call("POST", "/v2/enqueue", "", "{not json");
  EXPECT_EQ(garbage.status, 400) << garbage.body;
  json doc = json::parse(garbage.body, nullptr, false);
  EXPECT_EQ(doc["status"], "invalid event");
  ASSERT_TRUE(doc["errors"].is_array());
  EXPECT_EQ(doc["errors"].size(), 1u);
}

TEST_F(IntakeRoutesTest, IntakeThatCannotStoreAnswers5xxSoSendersRetry) {
  incidents_.Fail(grpc::Status(grpc::StatusCode::UNAVAILABLE, "database unavailable"));
  HttpResponse am = Call("POST", "/v1/alerts/alertmanager", ingest_, kAlertmanagerPayload);
  EXPECT_EQ(am.status, 503) << am.body;
  EXPECT_EQ(json::parse(am.body, nullptr, false)["error"]["code"], "UNAVAILABLE");

  HttpResponse pd = Call("POST", "/v2/enqueue", "", R"({"routing_key":"k","event_action":"trigger"})");
  EXPECT_EQ(pd.status, 503) << pd.body;
  EXPECT_EQ(json::parse(pd.body, nullptr, false)["error"]["code"], "UNAVAILABLE")
      << "other failures keep the gateway's error shape";
}

}  // namespace
}  // namespace flightdeck::gateway
