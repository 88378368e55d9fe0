#include <ctime>

#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include "common/clock/timestamps.h"
#include "services/incidents/fingerprint.h"
#include "services/incidents/intake_parse.h"
#include "tests/services/incidents/utc_time.h"

namespace flightdeck::incidents {
namespace {

using testing::Iso;
using testing::Utc;

template <typename Message>
Message FromJson(const std::string& json) {
  Message m;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  auto status = google::protobuf::util::JsonStringToMessage(json, &m, options);
  EXPECT_TRUE(status.ok()) << status.ToString();
  return m;
}

// What Alertmanager 0.25 posts to a webhook receiver (trimmed), with an unknown field.
constexpr char kAlertmanagerBody[] = R"({
  "receiver": "flightdeck", "status": "firing", "version": "4",
  "groupKey": "{}:{service=\"api\"}", "truncatedAlerts": 0, "futureField": {"x": 1},
  "groupLabels": {"service": "api"}, "commonLabels": {"service": "api"},
  "commonAnnotations": {}, "externalURL": "http://am:9093",
  "alerts": [
    {"status": "firing",
     "labels": {"alertname": "ServiceDown", "service": "api", "environment": "production"},
     "annotations": {"summary": "api is down"},
     "startsAt": "2026-11-20T10:15:30.123456789Z", "endsAt": "0001-01-01T00:00:00Z",
     "generatorURL": "http://prom/graph", "fingerprint": "02409DAA2F974BFE"},
    {"status": "resolved",
     "labels": {"alertname": "HighResponseTime", "service": "api"},
     "annotations": {},
     "startsAt": "2026-11-20T11:15:30+01:00", "endsAt": "2026-11-20T10:30:00Z",
     "generatorURL": "", "fingerprint": ""}
  ]})";

TEST(ParseAlertmanagerTest, RealPayload) {
  std::vector<AlertInput> alerts;
  grpc::Status s = ParseAlertmanager(FromJson<v1::AlertmanagerWebhook>(kAlertmanagerBody), &alerts);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(alerts.size(), 2u);

  const AlertInput& down = alerts[0];
  EXPECT_TRUE(down.firing);
  EXPECT_EQ(down.fingerprint, "02409daa2f974bfe");
  EXPECT_EQ(down.summary, "api is down");
  EXPECT_EQ(down.source, "alertmanager");
  EXPECT_EQ(down.generator_url, "http://prom/graph");
  ASSERT_TRUE(down.starts_at.has_value());
  EXPECT_EQ(ToMicros(*down.starts_at), ToMicros(Utc(2026, 11, 20, 10, 15, 30)) + 123456);
  EXPECT_FALSE(down.ends_at.has_value()) << "Go's zero time means no end";

  const AlertInput& slow = alerts[1];
  EXPECT_FALSE(slow.firing);
  EXPECT_EQ(slow.fingerprint, FingerprintHex({{"alertname", "HighResponseTime"}, {"service", "api"}}));
  EXPECT_EQ(slow.summary, "HighResponseTime");
  EXPECT_EQ(Iso(*slow.starts_at), "2026-11-20T10:15:30Z");
  EXPECT_EQ(Iso(*slow.ends_at), "2026-11-20T10:30:00Z");
}

TEST(ParseAlertmanagerTest, ValidationNamesTheAlert) {
  auto hook = FromJson<v1::AlertmanagerWebhook>(kAlertmanagerBody);
  std::vector<AlertInput> alerts;

  auto bad = hook;
  bad.mutable_alerts(1)->set_status("pending");
  grpc::Status s = ParseAlertmanager(bad, &alerts);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("alerts[1].status"), std::string::npos) << s.error_message();

  bad = hook;
  bad.mutable_alerts(0)->mutable_labels()->erase("alertname");
  s = ParseAlertmanager(bad, &alerts);
  EXPECT_NE(s.error_message().find("alerts[0].labels.alertname"), std::string::npos);

  bad = hook;
  bad.mutable_alerts(1)->set_starts_at("yesterday");
  s = ParseAlertmanager(bad, &alerts);
  EXPECT_NE(s.error_message().find("alerts[1].startsAt"), std::string::npos);

  bad = hook;
  bad.set_version("3");
  EXPECT_EQ(ParseAlertmanager(bad, &alerts).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST(ParseAlertmanagerTest, AGivenFingerprintIsKeptAsTheAlertsIdentity) {
  auto hook = FromJson<v1::AlertmanagerWebhook>(kAlertmanagerBody);
  hook.mutable_alerts(0)->set_fingerprint("checkout/ServiceDown:eu-1");
  std::vector<AlertInput> alerts;
  ASSERT_TRUE(ParseAlertmanager(hook, &alerts).ok());
  // Not replaced by the computed one: two senders' alerts with the same labels stay apart.
  EXPECT_EQ(alerts[0].fingerprint, "checkout/ServiceDown:eu-1");
  EXPECT_NE(alerts[0].fingerprint, FingerprintHex(alerts[0].labels));
}

TEST(ParseAlertmanagerTest, AFingerprintPastItsBoundsIsRefusedNamingTheAlert) {
  auto hook = FromJson<v1::AlertmanagerWebhook>(kAlertmanagerBody);
  std::vector<AlertInput> alerts;
  auto bad = hook;
  bad.mutable_alerts(1)->set_fingerprint(std::string(256, 'a'));
  grpc::Status s = ParseAlertmanager(bad, &alerts);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("alerts[1].fingerprint: must be at most 255 characters"), std::string::npos)
      << s.error_message();
  bad = hook;
  bad.mutable_alerts(0)->set_fingerprint("has a space");
  s = ParseAlertmanager(bad, &alerts);
  EXPECT_NE(s.error_message().find("alerts[0].fingerprint: must be printable ASCII without spaces"),
            std::string::npos)
      << s.error_message();
  // 255 printable characters are the bound, not past it.
  bad.mutable_alerts(0)->set_fingerprint(std::string(255, '~'));
  EXPECT_TRUE(ParseAlertmanager(bad, &alerts).ok());
}

TEST(ParseAlertmanagerTest, StatusIsTakenInAnyCase) {
  auto hook = FromJson<v1::AlertmanagerWebhook>(kAlertmanagerBody);
  hook.mutable_alerts(0)->set_status("Resolved");
  hook.mutable_alerts(1)->set_status("FIRING");
  std::vector<AlertInput> alerts;
  grpc::Status s = ParseAlertmanager(hook, &alerts);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_FALSE(alerts[0].firing);
  EXPECT_TRUE(alerts[1].firing);
}

TEST(ParsePagerDutyTest, ActionAndSeverityAreTakenInAnyCase) {
  AlertInput alert;
  std::vector<std::string> errors;
  grpc::Status s = ParsePagerDuty(FromJson<v1::PagerDutyEvent>(R"({
      "routing_key": "0123456789abcdef0123456789abcdef", "event_action": "Trigger",
      "dedup_key": "disk-db1",
      "payload": {"summary": "Disk 95% on db1", "source": "db1", "severity": "CRITICAL"}})"),
                                  IntegrationView{}, &alert, &errors);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(alert.firing);
  EXPECT_EQ(alert.labels.at("severity"), "critical");
}

TEST(ParseAlertmanagerTest, EveryBadFieldIsReportedAtOnce) {
  auto hook = FromJson<v1::AlertmanagerWebhook>(kAlertmanagerBody);
  hook.mutable_alerts(0)->mutable_labels()->erase("alertname");
  hook.mutable_alerts(0)->set_status("pending");
  hook.mutable_alerts(1)->set_fingerprint("tab\there");
  std::vector<AlertInput> alerts;
  grpc::Status s = ParseAlertmanager(hook, &alerts);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(),
            "alerts[0].labels.alertname: required; alerts[0].status: must be \"firing\" or "
            "\"resolved\"; alerts[1].fingerprint: must be printable ASCII without spaces (an opaque id "
            "such as a hash)");
}

v1::PagerDutyEvent Pd(const std::string& json) { return FromJson<v1::PagerDutyEvent>(json); }

IntegrationView Integration() {
  IntegrationView i;
  i.name = "checkout-pd";
  i.service = "checkout";
  i.environment = "production";
  i.default_severity = Severity::kSev3;
  return i;
}

TEST(ParsePagerDutyTest, TriggerBuildsLabels) {
  AlertInput alert;
  std::vector<std::string> errors;
  grpc::Status s = ParsePagerDuty(Pd(R"({
      "routing_key": "0123456789abcdef0123456789abcdef", "event_action": "trigger",
      "dedup_key": "disk-db1",
      "payload": {"summary": "Disk 95% on db1", "source": "db1", "severity": "critical",
                  "timestamp": "2026-11-20T10:00:00.000+0000x", "component": "postgres",
                  "group": "storage", "class": "disk", "custom_details": {"free": "5%"}},
      "links": [{"href": "https://runbook/disk", "text": "runbook"}]})"),
                                  Integration(), &alert, &errors);
  // The timestamp above is malformed on purpose.
  ASSERT_FALSE(s.ok());
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], "'payload.timestamp' is invalid");

  s = ParsePagerDuty(Pd(R"({
      "routing_key": "0123456789abcdef0123456789abcdef", "event_action": "trigger",
      "dedup_key": "disk-db1",
      "payload": {"summary": "Disk 95% on db1", "source": "db1", "severity": "critical",
                  "timestamp": "2026-11-20T10:00:00Z", "component": "postgres",
                  "group": "storage", "class": "disk", "custom_details": {"free": "5%"}},
      "links": [{"href": "https://runbook/disk", "text": "runbook"}]})"),
                     Integration(), &alert, &errors);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(alert.fingerprint, "disk-db1");
  EXPECT_TRUE(alert.firing);
  EXPECT_FALSE(alert.acknowledge);
  EXPECT_EQ(alert.source, "pagerduty");
  EXPECT_EQ(alert.integration, "checkout-pd");
  EXPECT_EQ(alert.summary, "Disk 95% on db1");
  const Labels expected = {{"alertname", "disk"},     {"severity", "critical"},
                           {"source", "db1"},         {"component", "postgres"},
                           {"group", "storage"},      {"service", "checkout"},
                           {"environment", "production"}};
  EXPECT_EQ(alert.labels, expected);
  EXPECT_EQ(alert.generator_url, "https://runbook/disk");
  EXPECT_EQ(Iso(*alert.starts_at), "2026-11-20T10:00:00Z");
  EXPECT_NE(alert.annotations["custom_details"].find("5%"), std::string::npos);
  EXPECT_EQ(alert.default_severity, Severity::kSev3);
}

TEST(ParsePagerDutyTest, TriggerWithoutClassOrDedupKey) {
  AlertInput a, b;
  std::vector<std::string> errors;
  const auto event = Pd(R"({"event_action": "trigger",
      "payload": {"summary": "s", "source": "h", "severity": "info"}})");
  ASSERT_TRUE(ParsePagerDuty(event, Integration(), &a, &errors).ok());
  ASSERT_TRUE(ParsePagerDuty(event, Integration(), &b, &errors).ok());
  EXPECT_EQ(a.labels.at("alertname"), "PagerDutyEvent");
  EXPECT_EQ(a.fingerprint.size(), 32u);
  EXPECT_NE(a.fingerprint, b.fingerprint) << "each keyless trigger is a new alert";
}

TEST(ParsePagerDutyTest, AcknowledgeAndResolveNeedDedupKey) {
  AlertInput alert;
  std::vector<std::string> errors;
  ASSERT_TRUE(ParsePagerDuty(Pd(R"({"event_action": "acknowledge", "dedup_key": "k1"})"),
                             Integration(), &alert, &errors)
                  .ok());
  EXPECT_TRUE(alert.acknowledge);
  EXPECT_TRUE(alert.firing);
  EXPECT_EQ(alert.fingerprint, "k1");
  ASSERT_TRUE(ParsePagerDuty(Pd(R"({"event_action": "resolve", "dedup_key": "k1"})"),
                             Integration(), &alert, &errors)
                  .ok());
  EXPECT_FALSE(alert.firing);
  EXPECT_FALSE(alert.acknowledge);
  EXPECT_EQ(alert.fingerprint, "k1");

  grpc::Status s = ParsePagerDuty(Pd(R"({"event_action": "resolve"})"), Integration(), &alert, &errors);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(errors, std::vector<std::string>{"'dedup_key' is missing or blank"});
}

TEST(ParsePagerDutyTest, ErrorsAreCollectedInPagerDutyWording) {
  AlertInput alert;
  std::vector<std::string> errors;
  grpc::Status s = ParsePagerDuty(Pd(R"({"event_action": "trigger",
      "payload": {"summary": "  ", "severity": "sev1"}})"), Integration(), &alert, &errors);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(errors, (std::vector<std::string>{"'payload.summary' is missing or blank",
                                              "'payload.source' is missing or blank",
                                              "'payload.severity' is invalid"}));
  EXPECT_NE(s.error_message().find("'payload.severity' is invalid"), std::string::npos);

  ParsePagerDuty(Pd(R"({"payload": {}})"), Integration(), &alert, &errors);
  EXPECT_EQ(errors, std::vector<std::string>{"'event_action' is missing or blank"});
  ParsePagerDuty(Pd(R"({"event_action": "snooze", "dedup_key": "k"})"), Integration(), &alert, &errors);
  EXPECT_EQ(errors, std::vector<std::string>{"'event_action' is invalid"});

  v1::PagerDutyEvent long_summary = Pd(R"({"event_action": "trigger",
      "payload": {"source": "h", "severity": "warning"}})");
  long_summary.mutable_payload()->set_summary(std::string(1025, 's'));
  EXPECT_FALSE(ParsePagerDuty(long_summary, Integration(), &alert, &errors).ok());
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("'payload.summary'"), std::string::npos);
  long_summary.mutable_payload()->set_summary(std::string(1024, 's'));
  EXPECT_TRUE(ParsePagerDuty(long_summary, Integration(), &alert, &errors).ok());
}

TEST(ParseNativeTest, DefaultsAndValidation) {
  v1::PostAlertsRequest req = FromJson<v1::PostAlertsRequest>(R"({"source": "health", "alerts": [
      {"labels": {"alertname": "ServiceDown", "service": "api"}, "startsAt": "2026-11-20T10:00:00Z"},
      {"labels": {"alertname": "ServiceDown", "service": "web"}, "status": "resolved",
       "fingerprint": "health:web"}]})");
  std::vector<AlertInput> alerts;
  grpc::Status s = ParseNative(req, &alerts);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(alerts.size(), 2u);
  EXPECT_TRUE(alerts[0].firing);
  EXPECT_EQ(alerts[0].fingerprint, FingerprintHex({{"alertname", "ServiceDown"}, {"service", "api"}}));
  EXPECT_EQ(alerts[0].source, "health");
  EXPECT_EQ(Iso(*alerts[0].starts_at), "2026-11-20T10:00:00Z");
  EXPECT_FALSE(alerts[1].firing);
  EXPECT_EQ(alerts[1].fingerprint, "health:web");

  req.mutable_alerts(1)->set_status("FIRING!");
  s = ParseNative(req, &alerts);
  EXPECT_NE(s.error_message().find("alerts[1].status"), std::string::npos);
  req.mutable_alerts(1)->set_status("");
  req.mutable_alerts(0)->mutable_labels()->erase("alertname");
  s = ParseNative(req, &alerts);
  EXPECT_NE(s.error_message().find("alerts[0].labels.alertname"), std::string::npos);
  EXPECT_FALSE(ParseNative(v1::PostAlertsRequest(), &alerts).ok());
}

// Found by fuzz_alert_intake: a protobuf Timestamp reaches year 9999, but the clock counts int64
// nanoseconds, so converting year 4054 overflowed (undefined behaviour) instead of being refused.
TEST(ParseNativeTest, TimesBeyondTheClocksRangeAreRefusedNamingTheField) {
  v1::PostAlertsRequest req = FromJson<v1::PostAlertsRequest>(R"({"alerts": [
      {"labels": {"alertname": "ServiceDown"}, "startsAt": "2026-11-20T10:00:00Z"},
      {"labels": {"alertname": "ServiceDown"}, "startsAt": "4054-11-20T10:00:00Z"},
      {"labels": {"alertname": "ServiceDown"}, "endsAt": "0001-01-01T00:00:00Z"}]})");
  std::vector<AlertInput> alerts;
  grpc::Status s = ParseNative(req, &alerts);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("alerts[1].startsAt"), std::string::npos) << s.error_message();
  EXPECT_NE(s.error_message().find("alerts[2].endsAt"), std::string::npos) << s.error_message();
  EXPECT_EQ(s.error_message().find("alerts[0]"), std::string::npos) << s.error_message();

  req.mutable_alerts(1)->mutable_starts_at()->set_seconds(1'800'000'000);
  req.mutable_alerts(2)->mutable_ends_at()->set_seconds(1'800'000'000);
  req.mutable_alerts(2)->mutable_ends_at()->set_nanos(-1);  // only a gRPC caller can send this
  s = ParseNative(req, &alerts);
  EXPECT_NE(s.error_message().find("alerts[2].endsAt"), std::string::npos) << s.error_message();
  req.mutable_alerts(2)->mutable_ends_at()->set_nanos(0);
  ASSERT_TRUE(ParseNative(req, &alerts).ok());
  EXPECT_EQ(ToMicros(*alerts[1].starts_at), 1'800'000'000LL * 1'000'000);
}

TEST(ParseRfc3339Test, Forms) {
  Clock::TimePoint t;
  ASSERT_TRUE(ParseRfc3339("2026-11-20T10:00:00Z", &t));
  EXPECT_EQ(t, Utc(2026, 11, 20, 10));
  ASSERT_TRUE(ParseRfc3339("2026-11-20T11:30:00+01:30", &t));
  EXPECT_EQ(t, Utc(2026, 11, 20, 10));
  ASSERT_TRUE(ParseRfc3339("2026-11-20T05:00:00-05:00", &t));
  EXPECT_EQ(t, Utc(2026, 11, 20, 10));
  ASSERT_TRUE(ParseRfc3339("2026-11-20T10:00:00.5Z", &t));
  EXPECT_EQ(ToMicros(t), ToMicros(Utc(2026, 11, 20, 10)) + 500000);
  ASSERT_TRUE(ParseRfc3339("2024-02-29T00:00:00Z", &t));
  for (const char* bad : {"", "2026-11-20", "2026-11-20T10:00:00", "2026-11-20 10:00:00Z",
                          "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z", "2026-11-20T24:00:00Z",
                          "2026-11-20T10:00:00.Z", "2026-11-20T10:00:00.1234567891Z",
                          "2026-11-20T10:00:00+0100", "2026-11-20T10:00:00Zjunk",
                          "0001-01-01T00:00:00Z"}) {
    EXPECT_FALSE(ParseRfc3339(bad, &t)) << bad;
  }
}

}  // namespace
}  // namespace flightdeck::incidents
