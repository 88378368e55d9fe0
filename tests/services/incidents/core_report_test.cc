// The weekly report's arithmetic on incidents with known times.
#include "tests/services/incidents/core_fixture.h"

namespace flightdeck::incidents {
namespace {

using Svc = IncidentServiceImpl;

TEST_F(CoreTest, WeeklyReportCountsAndTimesTheWeeksIncidents) {
  // Opened in 2026-W47 (kStart is Wednesday of it): acked after 2m/4m/(never), resolved after
  // 10m/30m/90m.
  std::string a = Declare("SEV1");
  std::string b = Declare("SEV2");
  std::string c = Declare("SEV2");
  clock_.Advance(2min);
  ASSERT_TRUE(Act(&Svc::AcknowledgeIncident, a).ok());
  clock_.Advance(2min);
  ASSERT_TRUE(Act(&Svc::AcknowledgeIncident, b).ok());
  clock_.Advance(6min);
  ASSERT_TRUE(Act(&Svc::ResolveIncident, a).ok());
  Advance(20min);  // +30m: c's SEV2 deadline (15m) has passed
  ASSERT_TRUE(Act(&Svc::ResolveIncident, b).ok());
  clock_.Advance(60min);
  ASSERT_TRUE(Act(&Svc::ResolveIncident, c).ok());

  // The next week: one more incident, which W47 must not count.
  clock_.Advance(7 * 24h);
  Declare("SEV4");
  clock_.Advance(1h);  // reviews of a, b, c (due 48h after resolution) are overdue by now

  grpc::ServerContext ctx;
  v1::WeeklyReportRequest req;
  req.set_week("2026-W47");
  v1::WeeklyReport r;
  grpc::Status s = service_.GetWeeklyReport(&ctx, &req, &r);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(r.week(), "2026-W47");
  EXPECT_EQ(TimeOf(r.from()), kStart - 2 * 24h - 10h);  // Monday 2026-11-16 00:00 UTC
  EXPECT_EQ(TimeOf(r.to()), TimeOf(r.from()) + 7 * 24h);
  EXPECT_EQ(r.incidents(), 3);
  EXPECT_EQ(r.by_severity().at("SEV1"), 1);
  EXPECT_EQ(r.by_severity().at("SEV2"), 2);
  EXPECT_EQ(r.mtta().count(), 2);
  EXPECT_DOUBLE_EQ(r.mtta().mean_seconds(), 180.0);
  EXPECT_DOUBLE_EQ(r.mtta().p90_seconds(), 240.0);
  EXPECT_EQ(r.mttr().count(), 3);
  EXPECT_DOUBLE_EQ(r.mttr().mean_seconds(), (600.0 + 1800.0 + 5400.0) / 3);
  EXPECT_DOUBLE_EQ(r.mttr().p90_seconds(), 5400.0);
  EXPECT_DOUBLE_EQ(r.deploy_correlated_share(), 0.0);
  ASSERT_EQ(r.ack_breached_size(), 1);
  EXPECT_EQ(r.ack_breached(0), c);
  EXPECT_EQ(r.overdue_reviews_size(), 3);

  req.set_week("2026-47");
  s = service_.GetWeeklyReport(&ctx, &req, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message().rfind("week:", 0), 0u) << s.error_message();

  req.clear_week();  // the current week: W48, one SEV4
  ASSERT_TRUE(service_.GetWeeklyReport(&ctx, &req, &r).ok());
  EXPECT_EQ(r.week(), "2026-W48");
  EXPECT_EQ(r.incidents(), 1);
  EXPECT_EQ(r.mtta().count(), 0);
}

}  // namespace
}  // namespace flightdeck::incidents
