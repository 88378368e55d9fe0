#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "common/clock/clock.h"
#include "common/db/db.h"
#include "common/db/migrate.h"
#include "common/jobs/jobs.h"
#include "tests/support/test_database.h"

namespace flightdeck::jobs {

// A fresh database migrated with the releases schema (which holds releases.jobs) and a clock
// that moves only when the test says so.
class JobsTest : public ::testing::Test {
 protected:
  static db::PoolOptions Options(const std::string& url) {
    db::PoolOptions options;
    options.url = url;
    options.size = 4;
    return options;
  }

  void SetUp() override {
    grpc::Status migrated = db::Migrate(pool_, db::EmbeddedMigrations("releases"));
    ASSERT_TRUE(migrated.ok()) << migrated.error_message();
  }

  Job MustGet(long long id, std::string* state) {
    Job job;
    grpc::Status status = queue_.Get(id, &job, state);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return job;
  }

  std::string StateOf(long long id) {
    std::string state;
    MustGet(id, &state);
    return state;
  }

  template <typename Pred>
  static bool WaitFor(Pred pred, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (pred()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return pred();
  }

  test::TestDatabase db_;
  db::Pool pool_{Options(db_.url())};
  FakeClock clock_;
  Queue queue_{pool_, "releases", clock_};
};

}  // namespace flightdeck::jobs
