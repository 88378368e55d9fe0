// Integration: the releases service against the real PostgreSQL and Redis.
#include <grpcpp/server_context.h>
#include <gtest/gtest.h>

#include "common/cache/cache.h"
#include "common/clock/clock.h"
#include "common/db/db.h"
#include "common/db/migrate.h"
#include "services/releases/service.h"
#include "services/releases/store.h"
#include "tests/support/env.h"
#include "tests/support/test_database.h"

namespace flightdeck::releases {
namespace {

class ReleaseServiceTest : public ::testing::Test {
 protected:
  ReleaseServiceTest()
      : pool_({database_.url(), 4, std::chrono::milliseconds(5000), 4, "test"}),
        cache_([] {
          cache::CacheOptions o;
          o.url = test::RequireEnv("REDIS_URL");
          return o;
        }()),
        store_((Migrate(), pool_)),
        service_(store_, cache_, clock_, std::chrono::seconds(60)) {}

  void Migrate() {
    int applied = 0;
    grpc::Status s = db::Migrate(pool_, db::EmbeddedMigrations("releases"), &applied);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  v1::Release Create(const std::string& service, const std::string& env, const std::string& sha) {
    grpc::ServerContext context;
    v1::CreateReleaseRequest request;
    request.set_service(service);
    request.set_environment(env);
    request.set_version("v-" + sha);
    request.set_commit_sha(sha);
    v1::Release release;
    grpc::Status s = service_.CreateRelease(&context, &request, &release);
    EXPECT_TRUE(s.ok()) << s.error_message();
    clock_.Advance(std::chrono::seconds(1));
    return release;
  }

  test::TestDatabase database_;
  FakeClock clock_;
  db::Pool pool_;
  cache::Cache cache_;
  ReleaseStore store_;
  ReleaseServiceImpl service_;
};

TEST_F(ReleaseServiceTest, CreatedReleaseIsReadBackAndCached) {
  v1::Release created = Create("checkout", "staging", "abcdef1");
  EXPECT_EQ(created.state(), v1::Release::PENDING);
  EXPECT_EQ(created.created_at().seconds(),
            std::chrono::duration_cast<std::chrono::seconds>(clock_.Now().time_since_epoch()).count() - 1);

  grpc::ServerContext context;
  v1::GetReleaseRequest get;
  get.set_id(created.id());
  v1::Release first;
  ASSERT_TRUE(service_.GetRelease(&context, &get, &first).ok());
  EXPECT_EQ(first.SerializeAsString(), created.SerializeAsString());
  // The read populated the cache with exactly the stored release.
  std::optional<std::string> cached = cache_.Get(ReleaseServiceImpl::CacheKey(created.id()));
  ASSERT_TRUE(cached.has_value());
  EXPECT_EQ(*cached, created.SerializeAsString());

  // A cached entry is what GetRelease answers (the database is not asked again).
  v1::Release doctored = created;
  doctored.set_version("from-cache");
  cache_.Set(ReleaseServiceImpl::CacheKey(created.id()), doctored.SerializeAsString(),
             std::chrono::seconds(60));
  grpc::ServerContext context2;
  v1::Release second;
  ASSERT_TRUE(service_.GetRelease(&context2, &get, &second).ok());
  EXPECT_EQ(second.version(), "from-cache");
  cache_.Del(ReleaseServiceImpl::CacheKey(created.id()));
}

TEST_F(ReleaseServiceTest, UnknownIdIsNotFound) {
  grpc::ServerContext context;
  v1::GetReleaseRequest get;
  get.set_id("00000000-0000-4000-8000-000000000000");
  v1::Release r;
  EXPECT_EQ(service_.GetRelease(&context, &get, &r).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(ReleaseServiceTest, ListPagesNewestFirstWithFilters) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(Create("api", "staging", "abcdef" + std::to_string(i)).id());
  Create("api", "production", "1234567");
  Create("web", "staging", "7654321");

  std::vector<std::string> seen;
  std::string token;
  do {
    grpc::ServerContext context;
    v1::ListReleasesRequest request;
    request.set_service("api");
    request.set_environment("staging");
    request.set_page_size(2);
    request.set_page_token(token);
    v1::ListReleasesResponse response;
    ASSERT_TRUE(service_.ListReleases(&context, &request, &response).ok());
    for (const auto& r : response.releases()) seen.push_back(r.id());
    token = response.next_page_token();
  } while (!token.empty());
  std::vector<std::string> expected(ids.rbegin(), ids.rend());
  EXPECT_EQ(seen, expected);

  grpc::ServerContext context;
  v1::ListReleasesRequest bad;
  bad.set_page_size(501);
  v1::ListReleasesResponse response;
  grpc::Status s = service_.ListReleases(&context, &bad, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message().rfind("page_size:", 0), 0u);
}

}  // namespace
}  // namespace flightdeck::releases
