#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/clock/timestamps.h"
#include "common/db/db.h"
#include "common/db/migrate.h"
#include "common/jobs/jobs.h"
#include "services/releases/store.h"
#include "tests/support/test_database.h"

namespace flightdeck::releases {

// A fresh database migrated with the releases schema, a ReleaseStore and its job queue on it,
// and a clock that moves only when the test says so.
class ReleaseStoreTest : public ::testing::Test {
 protected:
  using R = v1::Release;

  void SetUp() override {
    grpc::Status s = db::Migrate(pool_, db::EmbeddedMigrations("releases"));
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  // A DEPLOY of v1 to production in `state`, not yet stored.
  R NewRelease(const std::string& service, R::State state = R::PENDING) {
    R r;
    r.set_service(service);
    r.set_environment("production");
    r.set_version("v1");
    r.set_commit_sha("abc1234");
    r.set_state(state);
    r.set_kind(R::DEPLOY);
    r.set_created_by("ci");
    SetTimestamp(r.mutable_created_at(), clock_.Now());
    return r;
  }

  std::vector<v1::ReleaseEvent> Events(const std::string& id) {
    std::vector<v1::ReleaseEvent> events;
    bool more = false;
    EXPECT_TRUE(store_.ListEvents(id, 0, 100, &events, &more).ok());
    return events;
  }

  test::TestDatabase database_;
  db::Pool pool_{{database_.url(), 4, std::chrono::milliseconds(5000), 4, "test"}};
  FakeClock clock_;
  jobs::Queue queue_{pool_, "releases", clock_};
  ReleaseStore store_{pool_, queue_};
};

}  // namespace flightdeck::releases
