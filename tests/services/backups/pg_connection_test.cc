#include "services/backups/pg_connection.h"

#include <gtest/gtest.h>

#include <string>

namespace flightdeck::backups {
namespace {

PgConnection Parse(const std::string& url) {
  PgConnection c;
  std::string error;
  EXPECT_TRUE(ParseConnection(url, &c, &error)) << url << ": " << error;
  return c;
}

TEST(ParseConnectionTest, PasswordInTheUserInfoGoesToPasswordNotConninfo) {
  PgConnection c = Parse("postgresql://backup:s3cret@db.internal:5432/orders?sslmode=require");
  EXPECT_EQ(c.password, "s3cret");
  EXPECT_EQ(c.conninfo, "postgresql://backup@db.internal:5432/orders?sslmode=require");
  EXPECT_EQ(Scrub("FATAL: password s3cret rejected", c.secrets), "FATAL: password *** rejected");
}

TEST(ParseConnectionTest, PasswordQueryParameterIsTakenOutAndOverridesTheUserInfo) {
  PgConnection c =
      Parse("postgres://backup:first@db/orders?sslmode=require&password=second&connect_timeout=5");
  EXPECT_EQ(c.password, "second");
  EXPECT_EQ(c.conninfo, "postgres://backup@db/orders?sslmode=require&connect_timeout=5");
  std::string text = Scrub("tried first, then second", c.secrets);
  EXPECT_EQ(text, "tried ***, then ***");
}

TEST(ParseConnectionTest, OnlyParameterIsPasswordLeavesNoQuery) {
  PgConnection c = Parse("postgres://backup@db/orders?password=pw");
  EXPECT_EQ(c.password, "pw");
  EXPECT_EQ(c.conninfo, "postgres://backup@db/orders");
}

TEST(ParseConnectionTest, PercentEncodedPasswordIsDecodedAndBothSpellingsAreScrubbed) {
  PgConnection c = Parse("postgres://backup:p%40ss%3Aw0rd@db/orders");
  EXPECT_EQ(c.password, "p@ss:w0rd");
  EXPECT_EQ(c.conninfo, "postgres://backup@db/orders");
  EXPECT_EQ(Scrub("a p@ss:w0rd b p%40ss%3Aw0rd c", c.secrets), "a *** b *** c");
}

TEST(ParseConnectionTest, AnAtSignAfterTheHostIsNotUserInfo) {
  PgConnection c = Parse("postgres://db/orders?application_name=a@b");
  EXPECT_TRUE(c.password.empty());
  EXPECT_TRUE(c.secrets.empty());
  EXPECT_EQ(c.conninfo, "postgres://db/orders?application_name=a@b");
}

TEST(ParseConnectionTest, NoPasswordMeansNothingToScrub) {
  PgConnection c = Parse("postgresql://backup@db/orders");
  EXPECT_TRUE(c.password.empty());
  EXPECT_EQ(Scrub("backup@db", c.secrets), "backup@db");
}

TEST(ParseConnectionTest, KeyValueConninfoIsRefusedRatherThanPassedOnWithItsPassword) {
  PgConnection c;
  std::string error;
  EXPECT_FALSE(ParseConnection("host=db dbname=orders password=s3cret", &c, &error));
  EXPECT_EQ(error, "must be a postgres:// or postgresql:// URL");
  EXPECT_FALSE(ParseConnection("mysql://u:p@db/x", &c, &error));
}

TEST(ScrubTest, ReplacesEveryOccurrenceAndIgnoresEmptySecrets) {
  EXPECT_EQ(Scrub("pw pw pwpw", {"pw"}), "*** *** ******");
  EXPECT_EQ(Scrub("unchanged", {""}), "unchanged");
}

}  // namespace
}  // namespace flightdeck::backups
