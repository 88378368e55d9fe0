// How the incidents service reads what people type: ids by number or unique prefix, enum
// filters in any case, and every bad field of a request reported at once.
#include "tests/services/incidents/core_fixture.h"

namespace flightdeck::incidents {
namespace {

using Svc = IncidentServiceImpl;

class RequestsTest : public CoreTest {
 protected:
  grpc::Status List(const std::string& state, const std::string& severity,
                    v1::ListIncidentsResponse* out) {
    v1::ListIncidentsRequest req;
    req.set_state(state);
    req.set_severity(severity);
    grpc::ServerContext ctx;
    return service_.ListIncidents(&ctx, &req, out);
  }

  // Declares incidents until one with `id` exists (ids come from a sequence).
  void DeclareUpTo(const std::string& id) {
    for (int i = 0; i < 30; ++i) {
      if (Declare("SEV3") == id) return;
    }
    FAIL() << id << " was never declared";
  }
};

TEST_F(RequestsTest, AnIncidentIsNamedByItsIdNumberOrAUniquePrefix) {
  DeclareUpTo("INC-12");
  v1::Incident out;
  grpc::ServerContext ctx;
  v1::GetIncidentRequest req;
  for (const char* typed : {"INC-12", "inc-12", "12"}) {
    req.set_id(typed);
    grpc::Status s = service_.GetIncident(&ctx, &req, &out);
    ASSERT_TRUE(s.ok()) << typed << ": " << s.error_message();
    EXPECT_EQ(out.id(), "INC-12") << typed;
  }
  // "INC-1" is an id of its own; "inc-1" names it too, not its ten prefixed neighbours.
  req.set_id("inc-1");
  ASSERT_TRUE(service_.GetIncident(&ctx, &req, &out).ok());
  EXPECT_EQ(out.id(), "INC-1");

  // A prefix that is no id: unique resolves, several answer the candidates.
  v1::Incident acked;
  ASSERT_TRUE(Act(&Svc::AcknowledgeIncident, "inc-12", &acked).ok());
  EXPECT_EQ(acked.id(), "INC-12");
  EXPECT_EQ(acked.state(), v1::Incident::ACKNOWLEDGED);
  // Escalating reads the incident's policy first: it takes the number too.
  grpc::Status s = Act(&Svc::EscalateIncident, "inc-12");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  EXPECT_EQ(s.error_message().rfind("incident INC-12 is ACKNOWLEDGED: no further level", 0), 0u) << s.error_message();
  req.set_id("INC-");
  s = service_.GetIncident(&ctx, &req, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message().rfind("id: \"INC-\" is ambiguous: it begins incident ids INC-1, INC-2, ", 0), 0u)
      << s.error_message();
  req.set_id("INC-9999");
  EXPECT_EQ(service_.GetIncident(&ctx, &req, &out).error_code(), grpc::StatusCode::NOT_FOUND);
  req.set_id("IN");  // too short to be a prefix
  EXPECT_EQ(service_.GetIncident(&ctx, &req, &out).error_code(), grpc::StatusCode::NOT_FOUND);
  req.set_id("INC%");  // never a LIKE pattern
  EXPECT_EQ(service_.GetIncident(&ctx, &req, &out).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(RequestsTest, AnActionIsNamedByItsIdOrNumber) {
  std::string id = Declare("SEV3");
  grpc::ServerContext ctx;
  v1::AddActionRequest add;
  add.set_id(id);
  add.set_title("t");
  add.set_owner("o");
  v1::ActionItem action;
  ASSERT_TRUE(service_.AddAction(&ctx, &add, &action).ok());
  ASSERT_EQ(action.id().rfind("ACT-", 0), 0u);
  v1::CompleteActionRequest done;
  done.set_id(action.id().substr(4));  // "ACT-1" -> "1"
  v1::ActionItem completed;
  grpc::Status s = service_.CompleteAction(&ctx, &done, &completed);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(completed.id(), action.id());
  EXPECT_EQ(completed.state(), v1::ActionItem::DONE);

  // The incident filter of ListActions takes a number too.
  v1::ListActionsRequest list;
  list.set_incident_id(id.substr(4));
  list.set_state("done");
  v1::ListActionsResponse listed;
  s = service_.ListActions(&ctx, &list, &listed);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(listed.actions_size(), 1);
  EXPECT_EQ(listed.actions(0).id(), action.id());
}

TEST_F(RequestsTest, AlertsAreListedByTheirIncidentsNumberAndStateInAnyCase) {
  grpc::ServerContext ctx;
  v1::PostAlertsRequest post;
  auto* alert = post.add_alerts();
  (*alert->mutable_labels())["alertname"] = "ServiceDown";
  (*alert->mutable_labels())["service"] = "checkout";
  v1::IngestResponse ingested;
  grpc::Status s = service_.PostAlerts(&ctx, &post, &ingested);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(ingested.incident_ids_size(), 1);
  const std::string incident = ingested.incident_ids(0);

  v1::ListAlertsRequest list;
  list.set_incident_id(incident.substr(4));  // "INC-1" -> "1"
  list.set_state("Firing");
  v1::ListAlertsResponse alerts;
  s = service_.ListAlerts(&ctx, &list, &alerts);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(alerts.alerts_size(), 1);
  EXPECT_EQ(alerts.alerts(0).incident_id(), incident);
  EXPECT_EQ(alerts.alerts(0).state(), v1::Alert::FIRING);

  list.set_state("burning");
  list.set_page_size(-1);
  s = service_.ListAlerts(&ctx, &list, &alerts);
  EXPECT_EQ(s.error_message(),
            "state: \"burning\" is not one of FIRING, RESOLVED; page_size: must be between 1 and 500 (0 for the default 50)");
  list.set_state("");
  list.set_page_size(0);
  list.set_incident_id("INC-999");
  EXPECT_EQ(service_.ListAlerts(&ctx, &list, &alerts).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(RequestsTest, StateAndSeverityFiltersTakeAnyCaseAndBadOnesListTheValidValues) {
  std::string open = Declare("SEV2");
  std::string resolved = Declare("SEV3");
  ASSERT_TRUE(Act(&Svc::ResolveIncident, resolved).ok());
  for (const char* state : {"open", "OPEN", "Open"}) {
    v1::ListIncidentsResponse out;
    grpc::Status s = List(state, "", &out);
    ASSERT_TRUE(s.ok()) << state << ": " << s.error_message();
    ASSERT_EQ(out.incidents_size(), 1) << state;
    EXPECT_EQ(out.incidents(0).id(), open);
  }
  v1::ListIncidentsResponse out;
  ASSERT_TRUE(List("resolved", "sev3", &out).ok());
  ASSERT_EQ(out.incidents_size(), 1);
  EXPECT_EQ(out.incidents(0).id(), resolved);

  grpc::Status s = List("sleeping", "SEV9", &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(),
            "state: \"sleeping\" is not one of TRIGGERED, ACKNOWLEDGED, RESOLVED, CLOSED, OPEN (OPEN: not "
            "resolved yet); severity: \"SEV9\" is not one of SEV1, SEV2, SEV3, SEV4");

  grpc::ServerContext ctx;
  v1::ListActionsRequest actions;
  actions.set_state("finished");
  actions.set_page_size(501);
  v1::ListActionsResponse listed;
  s = service_.ListActions(&ctx, &actions, &listed);
  EXPECT_EQ(s.error_message(),
            "page_size: must be between 1 and 500 (0 for the default 50); state: \"finished\" is not one "
            "of OPEN, DONE");
}

TEST_F(RequestsTest, ConfigurationRequestsReportEveryBadFieldAtOnce) {
  grpc::ServerContext ctx;
  v1::Integration integration;
  integration.set_name("Bad Name");
  integration.set_routing_key("short");
  integration.set_severity_override("urgent");
  v1::Integration created;
  grpc::Status s = service_.CreateIntegration(&ctx, &integration, &created);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(),
            "name: must match [a-z0-9][a-z0-9._-]* (at most 63 characters); routing_key: must be 32 "
            "characters of a-z and 0-9 (or empty to generate one); service: required; severity_override: "
            "\"urgent\" is not one of SEV1, SEV2, SEV3, SEV4");

  v1::EscalationPolicy policy;
  policy.set_name("oncall");
  auto* target = policy.add_on_open();
  target->set_url("ftp://x");
  target->set_format("email");
  policy.add_levels();
  v1::EscalationPolicy stored;
  s = service_.PutEscalationPolicy(&ctx, &policy, &stored);
  EXPECT_EQ(s.error_message(),
            "on_open[0].name: required; on_open[0].url: must be an http:// or https:// URL; "
            "on_open[0].format: \"email\" is not one of json, slack; levels[0].targets: at least one "
            "target is required");
  // Formats in any case are answered in one.
  target->set_name("chat");
  target->set_url("https://chat.example/hook");
  target->set_format("SLACK");
  policy.clear_levels();
  s = service_.PutEscalationPolicy(&ctx, &policy, &stored);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(stored.on_open(0).format(), "slack");

  v1::Silence silence;
  auto* m = silence.add_matchers();
  m->set_op("~=");
  v1::Silence silenced;
  s = service_.CreateSilence(&ctx, &silence, &silenced);
  EXPECT_EQ(s.error_message(),
            "matchers[0].name: required; matchers[0].op: \"~=\" is not one of =, !=, =~, !~; ends_at: required");

  v1::InhibitionRule rule;
  rule.add_equal("");
  v1::InhibitionRule created_rule;
  s = service_.CreateInhibitionRule(&ctx, &rule, &created_rule);
  EXPECT_EQ(s.error_message(),
            "source_matchers: must not be empty; target_matchers: must not be empty; equal[0]: must be a "
            "label name");
}

TEST_F(RequestsTest, ASilenceIsExpiredByAUniquePrefixOfItsId) {
  grpc::ServerContext ctx;
  v1::Silence silence;
  auto* m = silence.add_matchers();
  m->set_name("service");
  m->set_value("checkout");
  SetTimestamp(silence.mutable_ends_at(), kStart + 2h);
  v1::Silence created;
  ASSERT_TRUE(service_.CreateSilence(&ctx, &silence, &created).ok());
  v1::IdRequest expire;
  std::string prefix = created.id().substr(0, 8);
  for (char& c : prefix) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  expire.set_id(prefix);
  v1::Silence expired;
  grpc::Status s = service_.ExpireSilence(&ctx, &expire, &expired);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(expired.id(), created.id());
  EXPECT_FALSE(expired.active());
  expire.set_id("abc");  // shorter than a prefix may be
  EXPECT_EQ(service_.ExpireSilence(&ctx, &expire, &expired).error_code(), grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace flightdeck::incidents
