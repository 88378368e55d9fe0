// Integration: the releases kept in memory (HotReleases) against a real change feed on the test
// PostgreSQL — kept until the channel is notified or this process changes a release, never
// kept when read across a change, never served while the feed is deaf or past their age.
#include "services/releases/hot_releases.h"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <chrono>

#include "common/clock/clock.h"
#include "common/db/change_feed.h"
#include "tests/support/test_database.h"

namespace flightdeck::releases {
namespace {

using namespace std::chrono_literals;

constexpr char kChannel[] = "releases_events";

class HotReleasesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    feed_.WaitForChange(0, 10s);  // its first LISTEN moves the generation
    ASSERT_TRUE(feed_.listening()) << "the change feed never connected";
  }

  // A commit on another replica: its notification, and the wait until this one has it.
  void NotifyAndWait() {
    const uint64_t seen = feed_.generation();
    pqxx::connection other(database_.url());
    pqxx::nontransaction(other).exec(std::string("NOTIFY ") + kChannel);
    for (int i = 0; i < 100 && feed_.generation() == seen; ++i) feed_.WaitForChange(seen, 200ms);
    ASSERT_NE(feed_.generation(), seen) << "the notification never arrived";
  }

  test::TestDatabase database_;
  db::ChangeFeed feed_{database_.url(), kChannel};
  FakeClock clock_;
};

TEST_F(HotReleasesTest, AReleaseIsServedUntilTheChannelIsNotified) {
  HotReleases hot(&feed_, clock_, 60s);
  hot.Put("rel-1", "bytes of rel-1", hot.Now());
  EXPECT_EQ(hot.Get("rel-1").value_or("missing"), "bytes of rel-1");
  EXPECT_FALSE(hot.Get("rel-2").has_value());
  NotifyAndWait();
  EXPECT_FALSE(hot.Get("rel-1").has_value()) << "served after another replica changed something";
  hot.Put("rel-1", "rel-1 read again", hot.Now());
  EXPECT_EQ(hot.Get("rel-1").value_or("missing"), "rel-1 read again");
}

TEST_F(HotReleasesTest, ThisProcessesOwnChangeIsSeenAtOnce) {
  HotReleases hot(&feed_, clock_, 60s);
  hot.Put("rel-1", "v1", hot.Now());
  hot.Changed();  // no notification needed, none waited for
  EXPECT_FALSE(hot.Get("rel-1").has_value());
}

TEST_F(HotReleasesTest, WhatWasReadAcrossAChangeIsNotKept) {
  HotReleases hot(&feed_, clock_, 60s);
  HotReleases::Stamp before_local = hot.Now();
  hot.Changed();
  hot.Put("rel-1", "maybe stale", before_local);
  EXPECT_FALSE(hot.Get("rel-1").has_value());

  HotReleases::Stamp before_remote = hot.Now();
  NotifyAndWait();
  hot.Put("rel-1", "maybe stale", before_remote);
  EXPECT_FALSE(hot.Get("rel-1").has_value());
}

TEST_F(HotReleasesTest, NothingIsServedPastItsAge) {
  HotReleases hot(&feed_, clock_, 50ms);
  hot.Put("rel-1", "v1", hot.Now());
  clock_.Advance(50ms);
  EXPECT_TRUE(hot.Get("rel-1").has_value());
  clock_.Advance(1ms);
  EXPECT_FALSE(hot.Get("rel-1").has_value());
}

TEST_F(HotReleasesTest, NothingStoredBeforeTheClockSteppedBackIsServed) {
  HotReleases hot(&feed_, clock_, 50ms);
  hot.Put("rel-1", "v1", hot.Now());
  clock_.Set(clock_.Now() - 1h);  // an entry would otherwise look young for an hour
  EXPECT_FALSE(hot.Get("rel-1").has_value());
}

TEST_F(HotReleasesTest, AFullCacheStartsAfreshAndKeepsTheNewest) {
  HotReleases hot(&feed_, clock_, 60s, 2);
  HotReleases::Stamp now = hot.Now();
  hot.Put("a", "a", now);
  hot.Put("b", "b", now);
  hot.Put("c", "c", now);
  EXPECT_EQ(hot.Get("c").value_or("missing"), "c");
  EXPECT_FALSE(hot.Get("a").has_value());
}

TEST(HotReleasesWithoutAFeedTest, NothingIsKeptWithoutAListeningFeed) {
  FakeClock clock;
  HotReleases none(nullptr, clock, 60s);
  none.Put("rel-1", "v1", none.Now());
  EXPECT_FALSE(none.Get("rel-1").has_value());

  // A feed whose database does not answer: deaf to changes, so it keeps nothing either.
  db::ChangeFeed deaf("postgresql://127.0.0.1:1/nothing?connect_timeout=1", kChannel);
  HotReleases hot(&deaf, clock, 60s);
  hot.Put("rel-1", "v1", hot.Now());
  EXPECT_FALSE(hot.Get("rel-1").has_value());
}

}  // namespace
}  // namespace flightdeck::releases
