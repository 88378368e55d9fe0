// Incidents from opening to CLOSED on a real database with a fake clock: grouping, deadlines
// across severities, escalation through a policy's levels, reminders, review due, closing rules.
#include <thread>

#include "tests/services/incidents/core_fixture.h"

namespace flightdeck::incidents {
namespace {

using Svc = IncidentServiceImpl;

v1::EscalationPolicy TwoLevels(const std::string& name) {
  v1::EscalationPolicy p;
  p.set_name(name);
  // Nothing listens on port 9 here: deliveries fail fast and are retried later; these tests
  // look at the timeline, not at the receivers.
  v1::EscalationLevel* first = p.add_levels();
  auto* t1 = first->add_targets();
  t1->set_name("oncall-primary");
  t1->set_url("http://127.0.0.1:9/hook");
  v1::EscalationLevel* second = p.add_levels();
  SetDuration(second->mutable_delay(), 10min);
  auto* t2 = second->add_targets();
  t2->set_name("oncall-secondary");
  t2->set_url("http://127.0.0.1:9/hook");
  return p;
}

TEST_F(CoreTest, AlertsOfOneGroupShareOneIncidentAndRaiseItsSeverity) {
  std::string first = Alert("HighLatency", Severity::kSev3);
  ASSERT_FALSE(first.empty());
  clock_.Advance(2min);
  std::string second = Alert("ServiceDown", Severity::kSev1);
  std::string other = Alert("HighLatency", Severity::kSev3, "search");

  EXPECT_EQ(second, first);
  EXPECT_NE(other, first);
  v1::Incident i = Get(first);
  EXPECT_EQ(i.state(), v1::Incident::TRIGGERED);
  EXPECT_EQ(i.declared_by(), "alert");
  EXPECT_EQ(i.title(), "HighLatency on checkout");
  EXPECT_EQ(i.service(), "checkout");
  EXPECT_EQ(i.environment(), "production");
  EXPECT_EQ(i.severity(), v1::Incident::SEV1);
  // Recomputed for SEV1 from the opening: 5 minutes.
  EXPECT_EQ(TimeOf(i.ack_deadline()), kStart + 5min);
  EXPECT_EQ(Events(first, "OPENED").size(), 1u);
  EXPECT_EQ(Events(first, "ALERT_ATTACHED").size(), 1u);
  ASSERT_EQ(Events(first, "SEVERITY_CHANGED").size(), 1u);
  EXPECT_EQ(Events(first, "SEVERITY_CHANGED")[0].message(),
            "severity raised from SEV3 to SEV1 by alert ServiceDown");
}

TEST_F(CoreTest, ConcurrentAlertsOfOneGroupOpenOneIncident) {
  std::vector<std::string> ids(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([this, t, &ids] {
      AlertForIncident a;
      a.alert_id = std::to_string(500 + t);
      a.alertname = "ServiceDown";
      a.severity = Severity::kSev2;
      a.service = "checkout";
      a.environment = "production";
      a.group_key = "service=checkout,environment=production";
      bool opened = false;
      grpc::Status s = pool_.Transact("race", [&](pqxx::transaction_base& tx) {
        return lifecycle_.AttachAlert(tx, a, "alertmanager", &ids[t], &opened);
      });
      EXPECT_TRUE(s.ok()) << s.error_message();
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& id : ids) EXPECT_EQ(id, ids[0]);
  EXPECT_EQ(Count("SELECT count(*) FROM incidents.incidents"), 1);
  EXPECT_EQ(Events(ids[0], "OPENED").size(), 1u);
}

TEST_F(CoreTest, AckDeadlinesAndRemindersFollowTheSeverity) {
  struct Case {
    const char* severity;
    Clock::TimePoint deadline;
    std::optional<Clock::TimePoint> update_due;
  };
  // kStart is a Wednesday 10:00 UTC: SEV4's deadline is Thursday 09:00.
  const Case cases[] = {{"SEV1", kStart + 5min, kStart + 15min},
                        {"SEV2", kStart + 15min, kStart + 30min},
                        {"SEV3", kStart + 1h, std::nullopt},
                        {"SEV4", kStart + 23h, std::nullopt}};
  for (const Case& c : cases) {
    v1::Incident i = Get(Declare(c.severity));
    EXPECT_EQ(TimeOf(i.ack_deadline()), c.deadline) << c.severity;
    EXPECT_EQ(i.has_next_update_due(), c.update_due.has_value()) << c.severity;
    if (c.update_due) {
      EXPECT_EQ(TimeOf(i.next_update_due()), *c.update_due) << c.severity;
    }
  }
}

TEST_F(CoreTest, ConfiguredAckDeadlinesOverrideTheDefaults) {
  std::map<Severity, std::chrono::milliseconds> deadlines;
  std::string error;
  ASSERT_TRUE(ParseAckDeadlines("SEV1=2s,SEV2=3s", &deadlines, &error)) << error;
  EXPECT_FALSE(ParseAckDeadlines("SEV1=soon", &deadlines, &error));
  EXPECT_NE(error.find("SEV1=soon"), std::string::npos);
  EXPECT_FALSE(ParseAckDeadlines("SEV9=2s", &deadlines, &error));
  ASSERT_TRUE(ParseAckDeadlines("SEV1=2s,SEV2=3s", &deadlines, &error));
  lifecycle_.SetAckDeadlines(deadlines);
  EXPECT_EQ(TimeOf(Get(Declare("SEV2")).ack_deadline()), kStart + 3s);
  EXPECT_EQ(TimeOf(Get(Declare("SEV3")).ack_deadline()), kStart + 1h);
}

TEST_F(CoreTest, UnacknowledgedIncidentEscalatesLevelByLevel) {
  PutPolicy(TwoLevels("payments"));
  std::string id = Alert("ServiceDown", Severity::kSev2, "checkout", "production", "payments");
  Advance(14min);
  EXPECT_TRUE(Events(id, "ESCALATED").empty());
  EXPECT_FALSE(Get(id).ack_breached());

  Advance(1min);
  v1::Incident i = Get(id);
  EXPECT_TRUE(i.ack_breached());
  EXPECT_EQ(i.escalation_level(), 1);
  ASSERT_EQ(Events(id, "ESCALATED").size(), 1u);
  EXPECT_EQ(Events(id, "ESCALATED")[0].message(),
            "acknowledgement deadline (SEV2, 15m) passed: escalated to level 1 (oncall-primary)");
  EXPECT_EQ(Count("SELECT count(*) FROM incidents.notifications WHERE target_name = 'oncall-primary'"), 1);

  Advance(9min);
  EXPECT_EQ(Events(id, "ESCALATED").size(), 1u);
  Advance(1min);
  ASSERT_EQ(Events(id, "ESCALATED").size(), 2u);
  EXPECT_EQ(Events(id, "ESCALATED")[1].message(),
            "not acknowledged 10m after level 1: escalated to level 2 (oncall-secondary)");
  EXPECT_EQ(Get(id).escalation_level(), 2);

  Advance(2h);  // the last level was notified: nothing further
  EXPECT_EQ(Events(id, "ESCALATED").size(), 2u);
}

TEST_F(CoreTest, AcknowledgedIncidentDoesNotEscalate) {
  PutPolicy(TwoLevels("payments"));
  std::string id = Alert("ServiceDown", Severity::kSev1, "checkout", "production", "payments");
  Advance(4min);
  v1::Incident acked;
  ASSERT_TRUE(Act(&Svc::AcknowledgeIncident, id, &acked).ok());
  EXPECT_EQ(acked.state(), v1::Incident::ACKNOWLEDGED);
  EXPECT_EQ(TimeOf(acked.acknowledged_at()), kStart + 4min);
  Advance(1h);
  EXPECT_TRUE(Events(id, "ESCALATED").empty());
  EXPECT_FALSE(Get(id).ack_breached());
}

TEST_F(CoreTest, ManualEscalationStopsAtTheLastLevel) {
  PutPolicy(TwoLevels("payments"));
  std::string id = Declare("SEV3", "payments");
  v1::Incident i;
  ASSERT_TRUE(Act(&Svc::EscalateIncident, id, &i).ok());
  EXPECT_EQ(i.escalation_level(), 1);
  ASSERT_TRUE(Act(&Svc::EscalateIncident, id, &i).ok());
  EXPECT_EQ(i.escalation_level(), 2);
  grpc::Status s = Act(&Svc::EscalateIncident, id);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("no further level"), std::string::npos) << s.error_message();
}

TEST_F(CoreTest, RemindersComeForSev1AndSev2UntilAnUpdateIsPosted) {
  std::string sev1 = Alert("ServiceDown", Severity::kSev1, "checkout");
  std::string sev2 = Alert("ServiceDown", Severity::kSev2, "search");
  std::string sev3 = Alert("ServiceDown", Severity::kSev3, "billing");
  Advance(15min);
  EXPECT_EQ(Events(sev1, "UPDATE_REMINDER").size(), 1u);
  EXPECT_EQ(Events(sev2, "UPDATE_REMINDER").size(), 0u);

  Advance(5min);  // +20m: an update resets SEV1's clock to +35m
  v1::PostStatusUpdateRequest req;
  req.set_id(sev1);
  req.set_message("rolled back the canary, watching error rates");
  v1::Incident updated;
  grpc::ServerContext ctx;
  ASSERT_TRUE(service_.PostStatusUpdate(&ctx, &req, &updated).ok());
  EXPECT_EQ(TimeOf(updated.next_update_due()), kStart + 35min);
  ASSERT_EQ(updated.updates_size(), 1);
  EXPECT_EQ(updated.updates(0).message(), "rolled back the canary, watching error rates");

  Advance(10min);  // +30m
  EXPECT_EQ(Events(sev1, "UPDATE_REMINDER").size(), 1u);
  EXPECT_EQ(Events(sev2, "UPDATE_REMINDER").size(), 1u);
  Advance(5min);  // +35m
  EXPECT_EQ(Events(sev1, "UPDATE_REMINDER").size(), 2u);
  Advance(2h);
  EXPECT_EQ(Events(sev3, "UPDATE_REMINDER").size(), 0u);

  ASSERT_TRUE(Act(&Svc::ResolveIncident, sev1).ok());
  size_t before = Events(sev1, "UPDATE_REMINDER").size();
  Advance(1h);
  EXPECT_EQ(Events(sev1, "UPDATE_REMINDER").size(), before);
}

TEST_F(CoreTest, ReviewBecomesOverdue48HoursAfterResolution) {
  std::string late = Declare("SEV2");
  std::string reviewed = Declare("SEV2");
  ASSERT_TRUE(Act(&Svc::ResolveIncident, late).ok());
  ASSERT_TRUE(Act(&Svc::ResolveIncident, reviewed).ok());
  v1::SubmitReviewRequest review;
  review.set_id(reviewed);
  review.set_summary("bad config push");
  grpc::ServerContext ctx;
  v1::Incident out;
  ASSERT_TRUE(service_.SubmitReview(&ctx, &review, &out).ok());
  EXPECT_EQ(out.state(), v1::Incident::RESOLVED);  // closing is its own step
  EXPECT_FALSE(out.review_overdue());

  Advance(47h);
  EXPECT_TRUE(Events(late, "REVIEW_OVERDUE").empty());
  Advance(1h + 1s);
  EXPECT_EQ(Events(late, "REVIEW_OVERDUE").size(), 1u);
  EXPECT_TRUE(Get(late).review_overdue());
  EXPECT_TRUE(Events(reviewed, "REVIEW_OVERDUE").empty());

  v1::ListIncidentsRequest list;
  list.set_review_overdue(true);
  v1::ListIncidentsResponse listed;
  ASSERT_TRUE(service_.ListIncidents(&ctx, &list, &listed).ok());
  ASSERT_EQ(listed.incidents_size(), 1);
  EXPECT_EQ(listed.incidents(0).id(), late);
}

TEST_F(CoreTest, BadRequestsNameTheFieldOrTheState) {
  grpc::ServerContext ctx;
  v1::DeclareIncidentRequest req;
  req.set_severity("SEV2");
  v1::Incident out;
  grpc::Status s = service_.DeclareIncident(&ctx, &req, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "title: required") << s.error_message();
  req.set_title("x");
  req.set_severity("");
  s = service_.DeclareIncident(&ctx, &req, &out);
  EXPECT_EQ(s.error_message().rfind("severity:", 0), 0u) << s.error_message();
  // Every problem at once, each naming its field; a bad enum lists the valid values.
  req.set_title("");
  req.set_severity("urgent");
  req.set_escalation_policy("no-such-policy");
  s = service_.DeclareIncident(&ctx, &req, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(),
            "title: required; severity: \"urgent\" is not one of SEV1, SEV2, SEV3, SEV4; "
            "escalation_policy: no policy named \"no-such-policy\"");
  req.set_title("x");
  req.set_escalation_policy("");
  req.set_severity("sev2");  // any case
  ASSERT_TRUE(service_.DeclareIncident(&ctx, &req, &out).ok());
  EXPECT_EQ(out.severity(), v1::Incident::SEV2);
  req.set_title("x");
  req.set_severity("SEV7");
  EXPECT_EQ(service_.DeclareIncident(&ctx, &req, &out).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  // Lengths in characters: 1024 two-byte characters are a title, 1025 are not.
  std::string e1024;
  for (int i = 0; i < 1024; ++i) e1024 += "\xC3\xA9";
  req.set_severity("SEV3");
  req.set_title(e1024);
  EXPECT_TRUE(service_.DeclareIncident(&ctx, &req, &out).ok());
  req.set_title(e1024 + "x");
  req.set_commander(std::string(256, 'c'));
  s = service_.DeclareIncident(&ctx, &req, &out);
  EXPECT_EQ(s.error_message(),
            "title: must be at most 1024 characters (it has 1025); "
            "commander: must be at most 255 characters (it has 256)");
  req.set_commander("");

  // A NUL, which only a caller of the service's own port can send (the gateway refuses it by
  // field name first): refused, where it used to be stored cut short ("cut").
  req.set_title(std::string("cut\0short", 9));
  s = service_.DeclareIncident(&ctx, &req, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_NE(s.error_message().find("NUL character"), std::string::npos) << s.error_message();

  EXPECT_EQ(Act(&Svc::AcknowledgeIncident, "INC-999").error_code(), grpc::StatusCode::NOT_FOUND);
  std::string id = Declare("SEV3");
  ASSERT_TRUE(Act(&Svc::ResolveIncident, id).ok());
  s = Act(&Svc::ResolveIncident, id);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(s.error_message().rfind("incident " + id + " is RESOLVED: ", 0), 0u) << s.error_message();
}

TEST_F(CoreTest, ANoteTooLongIsRefusedBeforeTheIncidentChanges) {
  std::string id = Declare("SEV3");
  grpc::ServerContext ctx;
  v1::IncidentActionRequest req;
  req.set_id(id);
  req.set_message(std::string(2001, 'n'));
  v1::Incident out;
  grpc::Status s = service_.AcknowledgeIncident(&ctx, &req, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "message: must be at most 2000 characters (it has 2001)");
  EXPECT_EQ(Get(id).state(), v1::Incident::TRIGGERED);
  req.set_message(std::string(2000, 'n'));
  EXPECT_TRUE(service_.AcknowledgeIncident(&ctx, &req, &out).ok());
}

TEST_F(CoreTest, AnAlertsLongSummaryIsCutToATitle) {
  AlertForIncident a;
  a.alert_id = "long-1";
  a.fingerprint = "fp-long-1";
  a.alertname = "Chatty";
  a.summary = std::string(5000, 's');
  a.severity = Severity::kSev3;
  a.service = "checkout";
  a.environment = "production";
  a.group_key = "service=checkout,environment=production";
  a.group_labels = {{"service", "checkout"}, {"environment", "production"}};
  std::string id;
  bool opened = false;
  grpc::Status s = pool_.Transact("test alert", [&](pqxx::transaction_base& tx) {
    return lifecycle_.AttachAlert(tx, a, "alertmanager", &id, &opened);
  });
  ASSERT_TRUE(s.ok()) << s.error_message();
  const std::string title = Get(id).title();
  EXPECT_EQ(title, std::string(1023, 's') + "\xE2\x80\xA6") << title.size();
}

TEST_F(CoreTest, AlertOpenedIncidentResolvesWhenItsLastAlertResolves) {
  std::string by_alert = Alert("ServiceDown", Severity::kSev2);
  std::string declared = Declare("SEV2");
  grpc::Status s = pool_.Transact("resolve", [&](pqxx::transaction_base& tx) {
    grpc::Status a = lifecycle_.OnAlertResolved(tx, by_alert, 1, "alertmanager");
    if (!a.ok()) return a;
    return lifecycle_.OnAlertResolved(tx, declared, 0, "alertmanager");
  });
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(Get(by_alert).state(), v1::Incident::TRIGGERED);
  EXPECT_EQ(Get(declared).state(), v1::Incident::TRIGGERED);
  s = pool_.Transact("resolve", [&](pqxx::transaction_base& tx) {
    return lifecycle_.OnAlertResolved(tx, by_alert, 0, "alertmanager");
  });
  ASSERT_TRUE(s.ok()) << s.error_message();
  v1::Incident i = Get(by_alert);
  EXPECT_EQ(i.state(), v1::Incident::RESOLVED);
  ASSERT_EQ(Events(by_alert, "RESOLVED").size(), 1u);
  EXPECT_NE(Events(by_alert, "RESOLVED")[0].message().find("all alerts resolved"), std::string::npos);
  // A new alert of the group now opens a new incident.
  EXPECT_NE(Alert("ServiceDown", Severity::kSev2), by_alert);
}

}  // namespace
}  // namespace flightdeck::incidents
