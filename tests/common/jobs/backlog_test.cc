#include <gtest/gtest.h>

#include "common/jobs/backlog.h"
#include "common/metrics/metrics.h"
#include "tests/common/jobs/jobs_fixture.h"

namespace flightdeck::jobs {
namespace {

using namespace std::chrono_literals;

class BacklogTest : public JobsTest {
 protected:
  double Due(const std::string& kind) {
    return registry_.AddGauge("flightdeck_jobs_due", "", {"schema", "kind"})
        .With({"releases", kind})
        .Value();
  }
  double Oldest(const std::string& kind) {
    return registry_.AddGauge("flightdeck_jobs_oldest_due_seconds", "", {"schema", "kind"})
        .With({"releases", kind})
        .Value();
  }
  void Refresh() {
    grpc::Status s = gauges_.Refresh();
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  metrics::Registry registry_;
  BacklogGauges gauges_{pool_, "releases", clock_, registry_};
};

TEST_F(BacklogTest, CountsDueJobsPerKindAndTheAgeOfTheOldest) {
  ASSERT_TRUE(queue_.Enqueue("advance", "", "{}", clock_.Now() - 90s).ok());
  ASSERT_TRUE(queue_.Enqueue("advance", "", "{}", clock_.Now() - 10s).ok());
  ASSERT_TRUE(queue_.Enqueue("send_alert", "", "{}", clock_.Now() - 5s).ok());
  // Not due yet: no backlog.
  ASSERT_TRUE(queue_.Enqueue("window_check", "", "{}", clock_.Now() + 1h).ok());

  Refresh();
  EXPECT_EQ(Due("advance"), 2);
  EXPECT_DOUBLE_EQ(Oldest("advance"), 90);
  EXPECT_EQ(Due("send_alert"), 1);
  EXPECT_DOUBLE_EQ(Oldest("send_alert"), 5);
  EXPECT_EQ(registry_.Expose().find("window_check"), std::string::npos) << registry_.Expose();

  // Time passes with nobody working: the same backlog, older.
  clock_.Advance(60s);
  Refresh();
  EXPECT_DOUBLE_EQ(Oldest("advance"), 150);
}

TEST_F(BacklogTest, AJobALiveWorkerHoldsIsNotBacklogButAnExpiredLeaseIs) {
  ASSERT_TRUE(queue_.Enqueue("advance", "", "{}", clock_.Now() - 30s).ok());
  std::vector<Job> claimed;
  ASSERT_TRUE(queue_.Claim("worker-a", 10, 60s, &claimed).ok());
  ASSERT_EQ(claimed.size(), 1u);

  Refresh();
  EXPECT_EQ(Due("advance"), 0);
  EXPECT_EQ(Oldest("advance"), 0);

  clock_.Advance(70s);  // worker-a died: its lease ran out 10 s ago, and the job waits since
  Refresh();
  EXPECT_EQ(Due("advance"), 1);
  EXPECT_DOUBLE_EQ(Oldest("advance"), 10);
}

TEST_F(BacklogTest, AKindWhoseBacklogClearsDropsToZero) {
  ASSERT_TRUE(queue_.Enqueue("advance", "", "{}", clock_.Now() - 20s).ok());
  Refresh();
  EXPECT_EQ(Due("advance"), 1);

  std::vector<Job> claimed;
  ASSERT_TRUE(queue_.Claim("worker-a", 10, 60s, &claimed).ok());
  ASSERT_EQ(claimed.size(), 1u);
  ASSERT_TRUE(queue_.Complete(claimed[0].id, "worker-a").ok());
  Refresh();
  EXPECT_EQ(Due("advance"), 0);
  EXPECT_EQ(Oldest("advance"), 0);
  EXPECT_NE(registry_.Expose().find("flightdeck_jobs_due{schema=\"releases\",kind=\"advance\"} 0"),
            std::string::npos)
      << registry_.Expose();
}

}  // namespace
}  // namespace flightdeck::jobs
