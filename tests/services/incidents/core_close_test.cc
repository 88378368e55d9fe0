// Review, corrective actions and closing on a real database with a fake clock: the runbook's
// order (resolve, review, then actions, then close) works; closing says what it waits for.
#include "tests/services/incidents/core_fixture.h"

namespace flightdeck::incidents {
namespace {

using Svc = IncidentServiceImpl;

class CloseTest : public CoreTest {
 protected:
  grpc::Status Review(const std::string& id, std::vector<v1::AddActionRequest> actions = {},
                      v1::Incident* out = nullptr) {
    v1::SubmitReviewRequest review;
    review.set_id(id);
    review.set_summary("bad config push");
    review.set_root_cause("no validation before push");
    for (v1::AddActionRequest& a : actions) *review.add_actions() = std::move(a);
    v1::Incident ignored;
    grpc::ServerContext ctx;
    return service_.SubmitReview(&ctx, &review, out ? out : &ignored);
  }

  static v1::AddActionRequest Action(const std::string& title, const std::string& owner,
                                     std::optional<Clock::TimePoint> due = std::nullopt) {
    v1::AddActionRequest a;
    a.set_title(title);
    a.set_owner(owner);
    if (due) SetTimestamp(a.mutable_due(), *due);
    return a;
  }

  grpc::Status AddAction(const std::string& id, v1::AddActionRequest a, v1::ActionItem* out) {
    a.set_id(id);
    grpc::ServerContext ctx;
    return service_.AddAction(&ctx, &a, out);
  }

  grpc::Status Complete(const std::string& action_id, const std::string& tracking_url = "") {
    v1::CompleteActionRequest req;
    req.set_id(action_id);
    req.set_tracking_url(tracking_url);
    v1::ActionItem out;
    grpc::ServerContext ctx;
    return service_.CompleteAction(&ctx, &req, &out);
  }
};

TEST_F(CloseTest, TheRunbookOrderReviewThenActionsThenCloseWorks) {
  std::string id = Declare("SEV2");
  ASSERT_TRUE(Act(&Svc::ResolveIncident, id).ok());
  v1::Incident reviewed;
  ASSERT_TRUE(Review(id, {}, &reviewed).ok());
  EXPECT_EQ(reviewed.state(), v1::Incident::RESOLVED) << "a review never closes the incident";

  // Actions after the review: the incident is RESOLVED, not CLOSED, so it takes them.
  v1::ActionItem first, second;
  grpc::Status s = AddAction(id, Action("validate config before push", "alice", kStart + 24h), &first);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_TRUE(AddAction(id, Action("alert on config drift", "bob"), &second).ok());

  // Closing waits for both and names them.
  s = Act(&Svc::CloseIncident, id);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(s.error_message(),
            "incident " + id + " is RESOLVED: cannot close it: 2 actions are still open: " + first.id() +
                " \"validate config before push\", " + second.id() +
                " \"alert on config drift\" (complete each, or mark it tracked elsewhere with a tracking_url)");

  // Completing the last action does not close it either.
  ASSERT_TRUE(Complete(first.id()).ok());
  ASSERT_TRUE(Complete(second.id(), "https://tickets.example/OPS-7").ok());
  EXPECT_EQ(Get(id).state(), v1::Incident::RESOLVED);
  EXPECT_TRUE(Events(id, "CLOSED").empty());

  v1::Incident closed;
  s = Act(&Svc::CloseIncident, id, &closed);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(closed.state(), v1::Incident::CLOSED);
  EXPECT_TRUE(closed.has_closed_at());
  EXPECT_EQ(Events(id, "CLOSED").size(), 1u);

  // Closed is final: no more actions, no second close.
  v1::ActionItem late;
  s = AddAction(id, Action("one more", "carol"), &late);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("a CLOSED incident takes no new actions"), std::string::npos);
  s = Act(&Svc::CloseIncident, id);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("closed already"), std::string::npos) << s.error_message();
}

TEST_F(CloseTest, AReviewCarriesItsActionsInOneRequest) {
  std::string id = Declare("SEV2");
  ASSERT_TRUE(Act(&Svc::ResolveIncident, id).ok());
  v1::Incident out;
  grpc::Status s = Review(id, {Action("rotate the key", "ana", kStart + 24h), Action("add an alert", "bo")}, &out);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(out.actions_size(), 2);
  EXPECT_EQ(out.actions(0).title(), "rotate the key");
  EXPECT_EQ(out.actions(1).owner(), "bo");
  EXPECT_EQ(out.review().summary(), "bad config push");
  EXPECT_EQ(Events(id, "ACTION_ADDED").size(), 2u);
  EXPECT_EQ(out.state(), v1::Incident::RESOLVED);
}

TEST_F(CloseTest, AReviewWithBadActionsIsRefusedWholeNamingEveryField) {
  std::string id = Declare("SEV2");
  ASSERT_TRUE(Act(&Svc::ResolveIncident, id).ok());
  v1::SubmitReviewRequest review;
  review.set_id(id);
  *review.add_actions() = Action("fine", "ana");
  *review.add_actions() = Action("", "");
  v1::Incident out;
  grpc::ServerContext ctx;
  grpc::Status s = service_.SubmitReview(&ctx, &review, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "summary: required; actions[1].title: required; actions[1].owner: required");
  v1::Incident after = Get(id);
  EXPECT_FALSE(after.has_review());
  EXPECT_EQ(after.actions_size(), 0) << "nothing of a refused review is written";
}

TEST_F(CloseTest, CloseSaysWhatIsMissingAndWhenItIsTooEarly) {
  std::string id = Declare("SEV3");
  grpc::Status s = Act(&Svc::CloseIncident, id);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(s.error_message().rfind("incident " + id + " is TRIGGERED: only a RESOLVED incident can be closed", 0), 0u)
      << s.error_message();

  ASSERT_TRUE(Act(&Svc::ResolveIncident, id).ok());
  v1::ActionItem open;
  ASSERT_TRUE(AddAction(id, Action("fix the runbook", "dana"), &open).ok());
  s = Act(&Svc::CloseIncident, id);
  EXPECT_EQ(s.error_message(),
            "incident " + id + " is RESOLVED: cannot close it: no review submitted yet; 1 action is still open: " +
                open.id() + " \"fix the runbook\" (complete each, or mark it tracked elsewhere with a tracking_url)");

  ASSERT_TRUE(Review(id).ok());
  s = Act(&Svc::CloseIncident, id);
  EXPECT_EQ(s.error_message().find("no review"), std::string::npos) << s.error_message();
  ASSERT_TRUE(Complete(open.id()).ok());
  EXPECT_TRUE(Act(&Svc::CloseIncident, id).ok());
}

TEST_F(CloseTest, ReviewedButUnclosedIncidentsAreNotOverdueAndTheirLateActionsAre) {
  std::string id = Declare("SEV2");
  ASSERT_TRUE(Act(&Svc::ResolveIncident, id).ok());
  ASSERT_TRUE(Review(id, {Action("rotate the key", "ana", kStart + 24h)}).ok());
  Advance(72h);  // past the review's due time (48h) and the action's (24h)
  EXPECT_TRUE(Events(id, "REVIEW_OVERDUE").empty());
  EXPECT_FALSE(Get(id).review_overdue());

  grpc::ServerContext ctx;
  v1::WeeklyReportRequest req;
  req.set_week("2026-W47");
  v1::WeeklyReport report;
  ASSERT_TRUE(service_.GetWeeklyReport(&ctx, &req, &report).ok());
  EXPECT_EQ(report.overdue_reviews_size(), 0);
  ASSERT_EQ(report.overdue_actions_size(), 1);
  EXPECT_EQ(report.overdue_actions(0).title(), "rotate the key");
  EXPECT_EQ(report.incidents(), 1);
}

}  // namespace
}  // namespace flightdeck::incidents
