#include "common/cache/redis_url.h"

#include <gtest/gtest.h>

namespace flightdeck::cache {
namespace {

TEST(RedisUrlTest, HostAloneDefaultsToPort6379Db0WithoutAuth) {
  auto e = ParseRedisUrl("redis://cache.internal");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->host, "cache.internal");
  EXPECT_EQ(e->port, 6379);
  EXPECT_EQ(e->db, 0);
  EXPECT_TRUE(e->user.empty());
  EXPECT_TRUE(e->password.empty());
}

TEST(RedisUrlTest, PasswordOnlyPortAndDb) {
  auto e = ParseRedisUrl("redis://:s3cret@127.0.0.1:6380/5");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->host, "127.0.0.1");
  EXPECT_EQ(e->port, 6380);
  EXPECT_EQ(e->db, 5);
  EXPECT_EQ(e->user, "");
  EXPECT_EQ(e->password, "s3cret");
}

TEST(RedisUrlTest, AclUserAndPassword) {
  auto e = ParseRedisUrl("redis://deployer:pa55@redis:6379/0");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->user, "deployer");
  EXPECT_EQ(e->password, "pa55");
}

TEST(RedisUrlTest, LoneUserinfoIsThePasswordAsRedisCliReadsIt) {
  auto e = ParseRedisUrl("redis://onlypass@redis");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->user, "");
  EXPECT_EQ(e->password, "onlypass");
}

TEST(RedisUrlTest, PercentEncodedAndRawSpecialCharactersInPassword) {
  auto encoded = ParseRedisUrl("redis://:p%40ss%2Fw%3Ard@h:1/2");
  ASSERT_TRUE(encoded.has_value());
  EXPECT_EQ(encoded->password, "p@ss/w:rd");
  EXPECT_EQ(encoded->host, "h");
  EXPECT_EQ(encoded->db, 2);

  auto raw = ParseRedisUrl("redis://:a/b@c@h:7/3");
  ASSERT_TRUE(raw.has_value());
  EXPECT_EQ(raw->password, "a/b@c");
  EXPECT_EQ(raw->host, "h");
  EXPECT_EQ(raw->port, 7);
  EXPECT_EQ(raw->db, 3);
}

TEST(RedisUrlTest, BracketedIpv6Host) {
  auto e = ParseRedisUrl("redis://[::1]:6390");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->host, "::1");
  EXPECT_EQ(e->port, 6390);
  EXPECT_EQ(e->Describe(), "[::1]:6390/0");
}

TEST(RedisUrlTest, RejectsMalformedUrlsWithoutEchoingThePassword) {
  for (const char* bad : {"http://h:6379", "rediss://h", "redis://", "redis://:pw@",
                          "redis://h:", "redis://h:0", "redis://h:70000", "redis://h:12ab",
                          "redis://h/x", "redis://h/-1", "redis://:bad%zzpw@h", "redis://[::1"}) {
    std::string error;
    EXPECT_FALSE(ParseRedisUrl(bad, &error).has_value()) << bad;
    EXPECT_FALSE(error.empty()) << bad;
    EXPECT_EQ(error.find("pw"), std::string::npos) << error;
  }
}

TEST(RedisUrlTest, DescribeNeverContainsCredentials) {
  auto e = ParseRedisUrl("redis://admin:topsecret@db.example:6379/4");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->Describe(), "db.example:6379/4");
}

}  // namespace
}  // namespace flightdeck::cache
