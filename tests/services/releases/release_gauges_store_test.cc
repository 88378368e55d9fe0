// Integration: ReleaseGauges reads the unfinished releases from the real table and exposes
// them per state; finished releases are not counted.
#include "common/metrics/metrics.h"
#include "services/releases/release_gauges.h"
#include "tests/services/releases/store_fixture.h"

namespace flightdeck::releases {
namespace {

using namespace std::chrono_literals;

class ReleaseGaugesStoreTest : public ReleaseStoreTest {
 protected:
  R Admit(const std::string& service, R::State state, bool queue = false) {
    R r = NewRelease(service, state);
    Changes changes;
    changes.now = clock_.Now();
    grpc::Status s = store_.Admit(&r, queue, changes);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return r;
  }

  double Gauge(const std::string& name, const std::string& state) {
    return registry_.AddGauge(name, "", {"state"}).With({state}).Value();
  }

  metrics::Registry registry_;
  PolicySet policies_ = PolicySet::Defaults();  // command_timeout 5 minutes
  ReleaseGauges gauges_{store_, clock_, registry_, policies_, 1min};
};

TEST_F(ReleaseGaugesStoreTest, CountsUnfinishedReleasesByStateAndTheOverdueCanary) {
  // A canary whose next analysis was due five minutes ago: the pipeline is not acting on it.
  R canary = Admit("checkout", R::CANARY);
  ASSERT_TRUE(store_
                  .Update(canary.id(), -1, clock_.Now(), "",
                          [&](R& r, Changes&) {
                            SetTimestamp(r.mutable_next_analysis_at(), clock_.Now() - 300s);
                            return grpc::Status::OK;
                          },
                          nullptr)
                  .ok());
  Admit("checkout", R::PENDING, /*queue=*/true);  // waits behind the canary
  Admit("payments", R::AWAITING_APPROVAL);
  R done = Admit("search", R::CANARY);
  ASSERT_TRUE(store_
                  .Update(done.id(), -1, clock_.Now(), "",
                          [](R& r, Changes&) {
                            r.set_state(R::FAILED);
                            return grpc::Status::OK;
                          },
                          nullptr)
                  .ok());

  // Before the first refresh every state is exposed, at 0.
  EXPECT_NE(registry_.Expose().find("flightdeck_releases_in_state{state=\"BAKING\"} 0"),
            std::string::npos)
      << registry_.Expose();

  grpc::Status s = gauges_.Refresh();
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(Gauge("flightdeck_releases_in_state", "CANARY"), 1);
  EXPECT_EQ(Gauge("flightdeck_releases_in_state", "PENDING"), 1);
  EXPECT_EQ(Gauge("flightdeck_releases_in_state", "AWAITING_APPROVAL"), 1);
  EXPECT_EQ(Gauge("flightdeck_releases_in_state", "VERIFYING"), 0);
  EXPECT_DOUBLE_EQ(Gauge("flightdeck_releases_overdue_seconds", "CANARY"), 300);
  EXPECT_EQ(Gauge("flightdeck_releases_overdue_seconds", "PENDING"), 0);
  EXPECT_EQ(registry_.Expose().find("FAILED"), std::string::npos) << registry_.Expose();

  clock_.Advance(60s);
  ASSERT_TRUE(gauges_.Refresh().ok());
  EXPECT_DOUBLE_EQ(Gauge("flightdeck_releases_overdue_seconds", "CANARY"), 360);
}

// The deadline of PROMOTING counts from the row's updated_at: the default environment's
// 5-minute command_timeout plus the 1-minute lease. An approval has no deadline; how long it
// has waited is its unchanged time.
TEST_F(ReleaseGaugesStoreTest, APromotionPastTheCommandTimeoutAndLeaseIsOverdue) {
  Admit("checkout", R::PROMOTING);
  Admit("payments", R::AWAITING_APPROVAL);

  clock_.Advance(6min);  // at the deadline: not late yet
  ASSERT_TRUE(gauges_.Refresh().ok());
  EXPECT_EQ(Gauge("flightdeck_releases_overdue_seconds", "PROMOTING"), 0);
  EXPECT_DOUBLE_EQ(Gauge("flightdeck_releases_unchanged_seconds", "AWAITING_APPROVAL"), 360);

  clock_.Advance(90s);
  ASSERT_TRUE(gauges_.Refresh().ok());
  EXPECT_DOUBLE_EQ(Gauge("flightdeck_releases_overdue_seconds", "PROMOTING"), 90);
  EXPECT_DOUBLE_EQ(Gauge("flightdeck_releases_unchanged_seconds", "PROMOTING"), 450);
  EXPECT_EQ(Gauge("flightdeck_releases_overdue_seconds", "AWAITING_APPROVAL"), 0);
  EXPECT_DOUBLE_EQ(Gauge("flightdeck_releases_unchanged_seconds", "AWAITING_APPROVAL"), 450);
  EXPECT_EQ(Gauge("flightdeck_releases_unchanged_seconds", "VERIFYING"), 0);
}

}  // namespace
}  // namespace flightdeck::releases
