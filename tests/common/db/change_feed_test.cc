// Integration: change feeds against the test PostgreSQL — a NOTIFY from another connection wakes
// a waiter, and the events-table triggers of the migrations notify at commit.
#include "common/db/change_feed.h"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <chrono>
#include <stdexcept>

#include "common/db/db.h"
#include "common/db/migrate.h"
#include "tests/support/test_database.h"

namespace flightdeck::db {
namespace {

using namespace std::chrono_literals;

// Waits (bounded) until the feed's generation moves past `seen`.
bool ChangedAfter(const ChangeFeed& feed, uint64_t seen) {
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (feed.generation() == seen && std::chrono::steady_clock::now() < deadline) {
    feed.WaitForChange(seen, 1s);
  }
  return feed.generation() != seen;
}

// The feed counts one change when it starts listening; wait for it so that later counts are ours.
uint64_t Listening(const ChangeFeed& feed) {
  EXPECT_TRUE(ChangedAfter(feed, 0)) << "the feed never connected";
  return feed.generation();
}

TEST(ChangeFeedTest, ANotifyFromAnotherConnectionWakesAWaiter) {
  test::TestDatabase db;
  ChangeFeed feed(db.url(), "shop_events");
  const uint64_t seen = Listening(feed);
  pqxx::connection other(db.url());
  pqxx::nontransaction(other).exec("NOTIFY shop_events");
  EXPECT_TRUE(ChangedAfter(feed, seen));
}

TEST(ChangeFeedTest, NothingIsNotifiedUntilTheWritingTransactionCommits) {
  test::TestDatabase db;
  ChangeFeed feed(db.url(), "shop_events");
  const uint64_t seen = Listening(feed);
  pqxx::connection other(db.url());
  pqxx::work tx(other);
  tx.exec("NOTIFY shop_events");
  feed.WaitForChange(seen, 500ms);
  EXPECT_EQ(feed.generation(), seen) << "a notification arrived before the commit";
  tx.commit();
  EXPECT_TRUE(ChangedAfter(feed, seen));
}

TEST(ChangeFeedTest, InsertingHealthEventsNotifiesItsChannel) {
  test::TestDatabase db;
  Pool pool({db.url(), 2, 5000ms, 2, "test"});
  grpc::Status migrated = Migrate(pool, EmbeddedMigrations("health"));
  ASSERT_TRUE(migrated.ok()) << migrated.error_message();
  ChangeFeed feed(db.url(), "health_events");
  const uint64_t seen = Listening(feed);
  pqxx::connection other(db.url());
  pqxx::work tx(other);
  tx.exec("INSERT INTO health.events (at, kind, service, environment, from_status, to_status) "
          "VALUES (now(), 'SERVICE', 'checkout', 'production', 'HEALTHY', 'UNHEALTHY')");
  tx.commit();
  EXPECT_TRUE(ChangedAfter(feed, seen));
}

TEST(ChangeFeedTest, AChannelMustBeAPlainIdentifier) {
  EXPECT_THROW(ChangeFeed("postgresql://127.0.0.1:1/x", "events; DROP TABLE x"), std::invalid_argument);
  EXPECT_THROW(ChangeFeed("postgresql://127.0.0.1:1/x", ""), std::invalid_argument);
}

}  // namespace
}  // namespace flightdeck::db
