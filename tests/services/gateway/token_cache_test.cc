// Integration: the token cache is bounded, and a flood of unknown bearer tokens cannot push
// the known ones out of it (each would then cost a database query again).
#include <gtest/gtest.h>

#include "common/db/db.h"
#include "common/db/migrate.h"
#include "services/gateway/core/auth.h"
#include "services/gateway/core/lru.h"
#include "tests/support/test_database.h"

namespace flightdeck::gateway {
namespace {

TEST(LruMap, ForgetsTheLeastRecentlyUsedWhenFull) {
  LruMap<int, std::string> m(2);
  m.Put(1, "a");
  m.Put(2, "b");
  ASSERT_NE(m.Find(1), nullptr);  // 1 is now the most recent
  m.Put(3, "c");                  // evicts 2
  EXPECT_EQ(m.Find(2), nullptr);
  EXPECT_EQ(*m.Find(1), "a");
  EXPECT_EQ(*m.Find(3), "c");
  m.Put(3, "c2");
  EXPECT_EQ(m.size(), 2u);
  EXPECT_EQ(*m.Find(3), "c2");
  m.Erase(1);
  EXPECT_EQ(m.Find(1), nullptr);
  EXPECT_EQ(m.size(), 1u);
}

TEST(TokenCache, RandomTokensDoNotEvictKnownOnes) {
  test::TestDatabase database;
  db::Pool pool(db::PoolOptions{database.url(), 2});
  ASSERT_TRUE(db::Migrate(pool, db::EmbeddedMigrations("gateway")).ok());
  TokenStore tokens(pool, "", std::chrono::minutes(5), /*max_cached=*/20);
  v1::CreateTokenRequest request;
  request.set_name("ci-pipeline");
  request.set_role(v1::Token::DEPLOYER);
  v1::Token created;
  ASSERT_TRUE(tokens.Create(request, "test", &created).ok());
  Principal p;
  ASSERT_TRUE(tokens.Lookup(created.secret(), &p).ok());
  EXPECT_EQ(p.name, "ci-pipeline");

  for (int i = 0; i < 500; ++i) {
    Principal ignored;
    EXPECT_EQ(tokens.Lookup("fd_random_" + std::to_string(i), &ignored).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  auto cached = tokens.LookupCached(created.secret());
  ASSERT_TRUE(cached.has_value()) << "the known token was evicted by unknown ones";
  ASSERT_TRUE(cached->has_value());
  EXPECT_EQ((*cached)->role, v1::Token::DEPLOYER);
  // Unknown ones are remembered too, within their own bound.
  EXPECT_TRUE(tokens.LookupCached("fd_random_499").has_value());
  EXPECT_FALSE(tokens.LookupCached("fd_random_0").has_value());
}

}  // namespace
}  // namespace flightdeck::gateway
