// Integration: change feeds against the test PostgreSQL — a NOTIFY from another connection wakes
// a waiter, and each events-table trigger of the migrations (releases, health, incidents)
// notifies its channel at commit, within a bound far below the 5 s a Watch falls back to.
#include "common/db/change_feed.h"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <chrono>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>
#include <thread>

#include "common/db/autocommit.h"
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

// One events table of a service, the channel its trigger notifies, and SQL that inserts an event
// (after creating whatever row the event belongs to; it can run again).
struct EventsTrigger {
  std::string migrations;  // the service's migration set, which creates the table and trigger
  std::string channel;
  std::string insert_event;
};

std::ostream& operator<<(std::ostream& out, const EventsTrigger& t) { return out << t.channel; }

const EventsTrigger kReleases{
    "releases", "releases_events",
    "WITH r AS (INSERT INTO releases.releases (service, environment, version, commit_sha, state, "
    "  created_by, created_at, updated_at) VALUES ('checkout-' || gen_random_uuid(), 'staging', 'v1', 'abc1234', "
    "  'AWAITING_APPROVAL', 'ci', now(), now()) RETURNING id) "
    "INSERT INTO releases.events (release_id, at, type, message) SELECT id, now(), 'NOTE', 'hi' FROM r"};
const EventsTrigger kHealth{
    "health", "health_events",
    "INSERT INTO health.events (at, kind, service, environment, from_status, to_status) "
    "VALUES (now(), 'SERVICE', 'checkout', 'production', 'HEALTHY', 'UNHEALTHY')"};
const EventsTrigger kIncidents{
    "incidents", "incidents_events",
    "WITH i AS (INSERT INTO incidents.incidents (title, severity, state, declared_by, opened_at, "
    "  updated_at) VALUES ('checkout down', 2, 'TRIGGERED', 'oncall', now(), now()) RETURNING id) "
    "INSERT INTO incidents.events (incident_id, at, kind, message) SELECT id, now(), 'NOTE', 'hi' FROM i"};

// A plain libpqxx listener, independent of ChangeFeed: what the trigger sends, nothing else.
class Listener {
 public:
  Listener(const std::string& url, const std::string& channel)
      : connection_(url), receiver_(connection_, channel, this) {}

  // Waits at most `timeout` for the next notification; returns whether one came.
  bool Notified(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (received_ == 0) {
      const auto left = std::chrono::duration_cast<std::chrono::microseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      connection_.await_notification(static_cast<long>(left.count() / 1000000),
                                     static_cast<long>(left.count() % 1000000));
    }
    --received_;
    return true;
  }

 private:
  class Receiver final : public pqxx::notification_receiver {
   public:
    Receiver(pqxx::connection_base& c, const std::string& channel, Listener* owner)
        : pqxx::notification_receiver(c, channel), owner_(owner) {}
    void operator()(const std::string&, int) override { ++owner_->received_; }

   private:
    Listener* owner_;
  };

  pqxx::connection connection_;
  Receiver receiver_;  // LISTENs as it is constructed
  int received_ = 0;
};

class EventsTriggerTest : public ::testing::TestWithParam<EventsTrigger> {
 protected:
  void SetUp() override {
    Pool pool({db_.url(), 2, 5000ms, 2, "test"});
    grpc::Status migrated = Migrate(pool, EmbeddedMigrations(GetParam().migrations));
    ASSERT_TRUE(migrated.ok()) << migrated.error_message();
  }

  // A pool that announces through `announcer`, as a service's does (common/runtime).
  std::unique_ptr<Pool> AnnouncingPool(ChangeAnnouncer& announcer, int size) {
    PoolOptions options{db_.url(), size, 5000ms, 2, "announcing"};
    options.announcer = &announcer;
    return std::make_unique<Pool>(options);
  }

  void InsertEvent(bool commit) {
    pqxx::connection writer(db_.url());
    pqxx::work tx(writer);
    tx.exec(GetParam().insert_event);
    if (commit) tx.commit();  // else destroyed uncommitted: rolled back
  }

  test::TestDatabase db_;
};

// A notification is local and immediate once the insert commits; a bound of 2 s only keeps a
// loaded machine from failing the test, it is far below the 5 s a Watch falls back to.
constexpr auto kPrompt = 2000ms;

TEST_P(EventsTriggerTest, ACommittedInsertNotifiesTheChannelAtOnce) {
  Listener listener(db_.url(), GetParam().channel);
  InsertEvent(true);
  EXPECT_TRUE(listener.Notified(kPrompt)) << "no notification on " << GetParam().channel;
}

TEST_P(EventsTriggerTest, ARolledBackInsertNotifiesNothing) {
  Listener listener(db_.url(), GetParam().channel);
  InsertEvent(false);
  EXPECT_FALSE(listener.Notified(300ms)) << "a rolled-back insert notified " << GetParam().channel;
  InsertEvent(true);
  EXPECT_TRUE(listener.Notified(kPrompt));
}

TEST_P(EventsTriggerTest, AChangeFeedOnTheChannelWakesWellBeforeTheFallback) {
  ChangeFeed feed(db_.url(), GetParam().channel);
  const uint64_t seen = Listening(feed);
  const auto started = std::chrono::steady_clock::now();
  InsertEvent(true);
  feed.WaitForChange(seen, kPrompt);
  const auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_NE(feed.generation(), seen) << "the feed did not wake within " << kPrompt.count() << " ms";
  EXPECT_LT(waited, kPrompt);
}

// The announcer's count once it reached `n` (or after kPrompt): a listener may hear of a
// notification before the announcer has counted it.
uint64_t SentOnceAtLeast(const ChangeAnnouncer& announcer, uint64_t n) {
  const auto deadline = std::chrono::steady_clock::now() + kPrompt;
  while (announcer.sent() < n && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  return announcer.sent();
}

// A service's pool announces: its sessions set flightdeck.announce_changes, the trigger only raises
// a notice, and the announcer notifies after the commit, on its own connection.
TEST_P(EventsTriggerTest, ThroughAnAnnouncingPoolTheAnnouncerNotifiesOnceAfterTheCommit) {
  ChangeAnnouncer announcer(db_.url());
  std::unique_ptr<Pool> pool = AnnouncingPool(announcer, 2);
  Listener listener(db_.url(), GetParam().channel);
  grpc::Status inserted = pool->Transact("insert an event", [&](pqxx::transaction_base& tx) {
    tx.exec(GetParam().insert_event);
    return grpc::Status::OK;
  });
  ASSERT_TRUE(inserted.ok()) << inserted.error_message();
  EXPECT_TRUE(listener.Notified(kPrompt)) << "no notification on " << GetParam().channel;
  // Had the trigger notified inside the transaction as well, a second notification would come.
  EXPECT_FALSE(listener.Notified(300ms)) << "the trigger notified too";
  EXPECT_EQ(SentOnceAtLeast(announcer, 1), 1u);

  grpc::Status autocommitted = Autocommit(*pool, "insert an event", [&](pqxx::transaction_base& tx) {
    tx.exec(GetParam().insert_event);
    return grpc::Status::OK;
  });
  ASSERT_TRUE(autocommitted.ok()) << autocommitted.error_message();
  EXPECT_TRUE(listener.Notified(kPrompt)) << "an autocommitted insert was not announced";
}

TEST_P(EventsTriggerTest, ThroughAnAnnouncingPoolARolledBackInsertIsNotAnnounced) {
  ChangeAnnouncer announcer(db_.url());
  std::unique_ptr<Pool> pool = AnnouncingPool(announcer, 1);  // one connection, reused below
  Listener listener(db_.url(), GetParam().channel);
  grpc::Status refused = pool->Transact("insert an event", [&](pqxx::transaction_base& tx) {
    tx.exec(GetParam().insert_event);
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "changed my mind");
  });
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_FALSE(listener.Notified(300ms)) << "a rolled-back insert was announced";
  // The same connection's next transaction announces only its own change.
  grpc::Status read = pool->Transact("read", [](pqxx::transaction_base& tx) {
    tx.exec("SELECT 1");
    return grpc::Status::OK;
  });
  ASSERT_TRUE(read.ok()) << read.error_message();
  EXPECT_FALSE(listener.Notified(300ms)) << "the rolled-back insert was announced later";
  EXPECT_EQ(announcer.sent(), 0u);
}

INSTANTIATE_TEST_SUITE_P(EveryWatchedTable, EventsTriggerTest,
                         ::testing::Values(kReleases, kHealth, kIncidents),
                         [](const ::testing::TestParamInfo<EventsTrigger>& info) {
                           return info.param.migrations;
                         });

TEST(ChangeFeedTest, ItSaysWhetherItIsListening) {
  test::TestDatabase db;
  ChangeFeed feed(db.url(), "shop_events");
  Listening(feed);
  EXPECT_TRUE(feed.listening());
  EXPECT_EQ(feed.ListeningGeneration(), feed.generation());
  ChangeFeed deaf("postgresql://127.0.0.1:1/nothing?connect_timeout=1", "shop_events");
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(deaf.listening());
  EXPECT_EQ(deaf.ListeningGeneration(), std::nullopt);
}

// Every committed write to a release notifies too, not only new events: each replica keeps the
// releases it answered in memory until the channel says something changed (hot_releases.h).
TEST(ChangeFeedTest, ACommittedChangeOfAReleaseAloneNotifiesTheReleasesChannel) {
  test::TestDatabase db;
  Pool pool({db.url(), 2, 5000ms, 2, "test"});
  grpc::Status migrated = Migrate(pool, EmbeddedMigrations("releases"));
  ASSERT_TRUE(migrated.ok()) << migrated.error_message();
  pqxx::connection writer(db.url());
  pqxx::nontransaction(writer).exec(
      "INSERT INTO releases.releases (service, environment, version, commit_sha, state, created_by, "
      "created_at, updated_at) VALUES ('checkout', 'staging', 'v1', 'abc1234', 'AWAITING_APPROVAL', 'ci', "
      "now(), now())");
  Listener listener(db.url(), "releases_events");
  {
    pqxx::work rolled_back(writer);
    rolled_back.exec("UPDATE releases.releases SET revision = revision + 1");
  }
  EXPECT_FALSE(listener.Notified(300ms)) << "a rolled-back change notified";
  pqxx::work tx(writer);
  tx.exec("UPDATE releases.releases SET revision = revision + 1, state = 'CANARY'");
  tx.commit();
  EXPECT_TRUE(listener.Notified(kPrompt)) << "a committed change of a release notified nothing";
}

TEST(ChangeAnnouncerTest, AnAnnouncementSurvivesALostConnection) {
  test::TestDatabase db;
  ChangeAnnouncer announcer(db.url());
  Listener listener(db.url(), "shop_events");
  announcer.Announce("shop_events");
  ASSERT_TRUE(listener.Notified(kPrompt));
  pqxx::connection admin(db.url());
  pqxx::result ended = pqxx::nontransaction(admin).exec(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
      "WHERE datname = current_database() AND query LIKE 'SELECT pg_notify(%' AND pid <> pg_backend_pid()");
  ASSERT_EQ(ended.size(), 1u) << "the announcer's connection was not found";
  announcer.Announce("shop_events");
  EXPECT_TRUE(listener.Notified(kPrompt)) << "nothing was announced after the connection was lost";
  EXPECT_EQ(SentOnceAtLeast(announcer, 2), 2u);
}

TEST(ChangeAnnouncerTest, OnlyATriggersNoticeNamesAChannel) {
  EXPECT_EQ(AnnouncedChannel("NOTICE:  flightdeck changed releases_events\n"), "releases_events");
  EXPECT_EQ(AnnouncedChannel("flightdeck changed health_events"), "health_events");
  EXPECT_EQ(AnnouncedChannel("NOTICE:  relation \"x\" already exists, skipping\n"), "");
  EXPECT_EQ(AnnouncedChannel("NOTICE:  flightdeck changed Bad-Name\n"), "");
  EXPECT_EQ(AnnouncedChannel("NOTICE:  flightdeck changed \n"), "");
  EXPECT_EQ(AnnouncedChannel("HINWEIS:  flightdeck changed incidents_events\n"), "incidents_events");
  // A notice of the user's own that quotes the marker is not an announcement.
  EXPECT_EQ(AnnouncedChannel("NOTICE:  saw flightdeck changed releases_events\n"), "");
  EXPECT_EQ(AnnouncedChannel("NOTICE:  x:  flightdeck changed releases_events\n"), "");
  EXPECT_THROW(ChangeAnnouncer("postgresql://127.0.0.1:1/x").Announce("a;b"), std::invalid_argument);
}

TEST(ChangeFeedTest, AChannelMustBeAPlainIdentifier) {
  EXPECT_THROW(ChangeFeed("postgresql://127.0.0.1:1/x", "events; DROP TABLE x"), std::invalid_argument);
  EXPECT_THROW(ChangeFeed("postgresql://127.0.0.1:1/x", ""), std::invalid_argument);
}

}  // namespace
}  // namespace flightdeck::db
