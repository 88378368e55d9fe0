// Incident deadlines when the wall clock jumps forward and back: the acknowledgement deadline,
// each escalation level and the status-update reminder fire once each. A jump back neither
// repeats what fired nor fires what is not due; a jump forward over several reminder periods
// sends one reminder (the next counts from then), not one per missed period.
#include "tests/services/incidents/core_fixture.h"

namespace flightdeck::incidents {
namespace {

v1::EscalationPolicy PrimaryThenSecondary() {
  v1::EscalationPolicy p;
  p.set_name("payments");
  // Nothing listens on port 9: deliveries fail fast and are retried; the test counts the
  // notifications recorded and the timeline, not deliveries.
  auto* first = p.add_levels()->add_targets();
  first->set_name("oncall-primary");
  first->set_url("http://127.0.0.1:9/hook");
  v1::EscalationLevel* second = p.add_levels();
  SetDuration(second->mutable_delay(), 10min);
  auto* t2 = second->add_targets();
  t2->set_name("oncall-secondary");
  t2->set_url("http://127.0.0.1:9/hook");
  return p;
}

class ClockJumpTest : public CoreTest {
 protected:
  void JumpTo(Clock::TimePoint t) {
    clock_.Set(t);
    RunDue();
  }
  size_t Escalations(const std::string& id) { return Events(id, "ESCALATED").size(); }
  size_t Reminders(const std::string& id) { return Events(id, "UPDATE_REMINDER").size(); }
  long long NotificationsTo(const std::string& target) {
    return Count("SELECT count(*) FROM incidents.notifications WHERE target_name = '" + target + "'");
  }
};

TEST_F(ClockJumpTest, EscalationLevelsAndRemindersFireOnceWhateverTheClockJumps) {
  PutPolicy(PrimaryThenSecondary());
  // SEV2: acknowledgement due at +15m, a status update at +30m.
  std::string id = Alert("ServiceDown", Severity::kSev2, "checkout", "production", "payments");
  ASSERT_FALSE(id.empty());

  JumpTo(kStart - 1h);  // back: nothing is due
  JumpTo(kStart + 14min);
  EXPECT_EQ(Escalations(id), 0u);
  EXPECT_FALSE(Get(id).ack_breached());

  JumpTo(kStart + 15min + 30s);  // the deadline passed: level 1, once
  EXPECT_EQ(Escalations(id), 1u);
  EXPECT_EQ(Get(id).escalation_level(), 1);

  JumpTo(kStart - 30min);  // back across the deadline and forward over it again
  JumpTo(kStart + 15min + 30s);
  EXPECT_EQ(Escalations(id), 1u) << "the deadline fired once";
  EXPECT_TRUE(Get(id).ack_breached());
  EXPECT_EQ(Get(id).escalation_level(), 1);
  EXPECT_EQ(Reminders(id), 0u);

  JumpTo(kStart + 3h);  // forward past level 2's delay and five reminder periods
  EXPECT_EQ(Escalations(id), 2u);
  EXPECT_EQ(Get(id).escalation_level(), 2);
  EXPECT_EQ(Reminders(id), 1u) << "missed reminder periods are not replayed one by one";
  EXPECT_EQ(TimeOf(Get(id).next_update_due()), kStart + 3h + 30min);

  JumpTo(kStart + 1h);  // back again: nothing fires twice
  EXPECT_EQ(Escalations(id), 2u);
  EXPECT_EQ(Reminders(id), 1u);

  JumpTo(kStart + 3h + 30min);  // the next reminder, once
  EXPECT_EQ(Reminders(id), 2u);
  JumpTo(kStart);
  JumpTo(kStart + 3h + 45min);
  EXPECT_EQ(Escalations(id), 2u);
  EXPECT_EQ(Reminders(id), 2u);
  EXPECT_EQ(NotificationsTo("oncall-primary"), 1);
  EXPECT_EQ(NotificationsTo("oncall-secondary"), 1);
}

TEST_F(ClockJumpTest, AnIncidentAcknowledgedAfterAJumpBackIsNotEscalatedLater) {
  PutPolicy(PrimaryThenSecondary());
  std::string id = Alert("ServiceDown", Severity::kSev2, "checkout", "production", "payments");
  JumpTo(kStart - 2h);  // back: the acknowledgement deadline is now 2h15m away
  v1::Incident acked;
  ASSERT_TRUE(Act(&IncidentServiceImpl::AcknowledgeIncident, id, &acked).ok());
  JumpTo(kStart + 5h);  // forward past every deadline: the acknowledged incident stays put
  EXPECT_EQ(Escalations(id), 0u);
  EXPECT_FALSE(Get(id).ack_breached());
  EXPECT_EQ(NotificationsTo("oncall-primary"), 0);
}

}  // namespace
}  // namespace flightdeck::incidents
