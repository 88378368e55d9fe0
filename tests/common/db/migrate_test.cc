#include <gtest/gtest.h>

#include <future>

#include "common/db/db.h"
#include "common/db/migrate.h"
#include "tests/support/test_database.h"

namespace flightdeck::db {
namespace {

SchemaMigrations ShopMigrations() {
  SchemaMigrations set;
  set.schema = "shop";
  set.migrations.push_back(
      {1, "items", "CREATE TABLE shop.items (id int PRIMARY KEY, label text NOT NULL);"});
  // A data migration: applying it twice would leave two rows.
  set.migrations.push_back({2, "seed", "INSERT INTO items (id, label) VALUES (1, 'seed');"});
  return set;
}

constexpr const char* kAdvisoryLocksHere =
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())";

class MigrateTest : public ::testing::Test {
 protected:
  PoolOptions Options() {
    PoolOptions options;
    options.url = db_.url();
    options.size = 2;
    return options;
  }

  long long Count(const std::string& sql) {
    long long n = -1;
    EXPECT_TRUE(pool_.Transact("count", [&](pqxx::transaction_base& tx) {
                       n = tx.exec1(sql)[0].as<long long>();
                       return grpc::Status::OK;
                     }).ok());
    return n;
  }

  test::TestDatabase db_;
  Pool pool_{Options()};
};

TEST_F(MigrateTest, SecondRunAppliesNothing) {
  int applied = -1;
  grpc::Status first = Migrate(pool_, ShopMigrations(), &applied);
  ASSERT_TRUE(first.ok()) << first.error_message();
  EXPECT_EQ(applied, 2);
  grpc::Status second = Migrate(pool_, ShopMigrations(), &applied);
  ASSERT_TRUE(second.ok()) << second.error_message();
  EXPECT_EQ(applied, 0);
  EXPECT_EQ(Count("SELECT count(*) FROM shop.items"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM shop.schema_migrations"), 2);
  EXPECT_EQ(Count(kAdvisoryLocksHere), 0);
}

TEST_F(MigrateTest, ConcurrentRunnersApplyEachFileOnce) {
  constexpr int kRunners = 4;
  std::vector<std::future<std::pair<grpc::Status, int>>> runners;
  for (int i = 0; i < kRunners; ++i) {
    runners.push_back(std::async(std::launch::async, [this] {
      Pool own(Options());  // a separate replica
      int applied = 0;
      grpc::Status status = Migrate(own, ShopMigrations(), &applied);
      return std::make_pair(status, applied);
    }));
  }
  int total = 0;
  for (auto& runner : runners) {
    auto [status, applied] = runner.get();
    EXPECT_TRUE(status.ok()) << status.error_message();
    total += applied;
  }
  EXPECT_EQ(total, 2);
  EXPECT_EQ(Count("SELECT count(*) FROM shop.items"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM shop.schema_migrations"), 2);
}

TEST_F(MigrateTest, ChangedFileIsRefused) {
  ASSERT_TRUE(Migrate(pool_, ShopMigrations()).ok());
  SchemaMigrations edited = ShopMigrations();
  edited.migrations[0].sql += "\nCREATE INDEX ON shop.items (label);";
  int applied = -1;
  grpc::Status status = Migrate(pool_, edited, &applied);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(status.error_message().find("shop/0001_items.sql"), std::string::npos)
      << status.error_message();
  EXPECT_EQ(applied, 0);
}

TEST_F(MigrateTest, DatabaseNewerThanTheBinaryIsRefused) {
  ASSERT_TRUE(Migrate(pool_, ShopMigrations()).ok());
  SchemaMigrations older = ShopMigrations();
  older.migrations.pop_back();
  grpc::Status status = Migrate(pool_, older);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status.error_message(),
            "database schema shop is at version 2, newer than this binary knows (1)");
}

TEST_F(MigrateTest, FailingFileIsRolledBackAndNamedAndTheLockReleased) {
  SchemaMigrations set = ShopMigrations();
  set.migrations.push_back({3, "broken", "CREATE TABLE shop.notes (id int); SELEC oops;"});
  int applied = -1;
  grpc::Status status = Migrate(pool_, set, &applied);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_NE(status.error_message().find("shop/0003_broken.sql"), std::string::npos)
      << status.error_message();
  EXPECT_EQ(applied, 2);
  EXPECT_EQ(Count("SELECT count(*) FROM shop.schema_migrations"), 2);
  EXPECT_EQ(Count("SELECT count(*) FROM pg_tables WHERE schemaname = 'shop'"
                  " AND tablename = 'notes'"),
            0);
  EXPECT_EQ(Count(kAdvisoryLocksHere), 0);

  set.migrations[2].sql = "CREATE TABLE shop.notes (id int);";
  ASSERT_TRUE(Migrate(pool_, set, &applied).ok());
  EXPECT_EQ(applied, 1);
}

TEST_F(MigrateTest, InvalidSetIsRefusedBeforeTouchingTheDatabase) {
  SchemaMigrations set = ShopMigrations();
  set.migrations[1].version = 1;
  grpc::Status status = Migrate(pool_, set);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(status.error_message().find("share version 1"), std::string::npos);
  EXPECT_EQ(Count("SELECT count(*) FROM pg_namespace WHERE nspname = 'shop'"), 0);

  SchemaMigrations with_error = ShopMigrations();
  with_error.error = "migration file shop/x.sql is not named NNNN_name.sql";
  EXPECT_EQ(Migrate(pool_, with_error).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(MigrateTest, EmbeddedReleasesMigrationsApplyToAnEmptyDatabase) {
  int applied = 0;
  grpc::Status status = Migrate(pool_, EmbeddedMigrations("releases"), &applied);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(applied, static_cast<int>(EmbeddedMigrations("releases").migrations.size()));
  EXPECT_EQ(Count("SELECT count(*) FROM releases.jobs"), 0);
  EXPECT_EQ(Count("SELECT count(*) FROM releases.releases"), 0);
}

}  // namespace
}  // namespace flightdeck::db
