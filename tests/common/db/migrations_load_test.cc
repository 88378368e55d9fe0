#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "common/db/migrate.h"

namespace flightdeck::db {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() / ("fd_migrations_" + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  void Write(const std::string& rel, const std::string& text) const {
    fs::create_directories((path_ / rel).parent_path());
    std::ofstream(path_ / rel) << text;
  }
  std::string path() const { return path_.string(); }

 private:
  fs::path path_;
};

TEST(LoadMigrationsTest, LoadsFilesInVersionOrder) {
  TempDir dir;
  dir.Write("shop/0010_later.sql", "SELECT 10;");
  dir.Write("shop/0002_second.sql", "SELECT 2;");
  dir.Write("shop/0001_first.sql", "SELECT 1;");
  dir.Write("shop/README.md", "not a migration");
  dir.Write("other/0001_x.sql", "SELECT 'other';");
  SchemaMigrations set = LoadMigrationsFromDirectory(dir.path(), "shop");
  ASSERT_EQ(set.error, "");
  ASSERT_EQ(set.migrations.size(), 3u);
  EXPECT_EQ(set.migrations[0].version, 1);
  EXPECT_EQ(set.migrations[0].name, "first");
  EXPECT_EQ(set.migrations[0].sql, "SELECT 1;");
  EXPECT_EQ(set.migrations[1].version, 2);
  EXPECT_EQ(set.migrations[2].version, 10);
  EXPECT_EQ(MigrationFileName("shop", set.migrations[2]), "shop/0010_later.sql");
}

TEST(LoadMigrationsTest, ReportsBadNamesDuplicatesAndZeroVersions) {
  {
    TempDir dir;
    dir.Write("shop/create_tables.sql", "SELECT 1;");
    SchemaMigrations set = LoadMigrationsFromDirectory(dir.path(), "shop");
    EXPECT_NE(set.error.find("create_tables.sql"), std::string::npos) << set.error;
  }
  {
    TempDir dir;
    dir.Write("shop/0001_a.sql", "SELECT 1;");
    dir.Write("shop/001_b.sql", "SELECT 1;");
    SchemaMigrations set = LoadMigrationsFromDirectory(dir.path(), "shop");
    EXPECT_NE(set.error.find("share version 1"), std::string::npos) << set.error;
  }
  {
    TempDir dir;
    dir.Write("shop/0000_zero.sql", "SELECT 1;");
    SchemaMigrations set = LoadMigrationsFromDirectory(dir.path(), "shop");
    EXPECT_NE(set.error.find("versions start at 1"), std::string::npos) << set.error;
  }
  {
    TempDir dir;
    SchemaMigrations set = LoadMigrationsFromDirectory(dir.path(), "missing");
    EXPECT_NE(set.error.find("missing"), std::string::npos) << set.error;
  }
}

TEST(MigrationChecksumTest, IsTheSha256OfTheText) {
  EXPECT_EQ(MigrationChecksum(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_NE(MigrationChecksum("SELECT 1;"), MigrationChecksum("SELECT 1; "));
}

TEST(EmbeddedMigrationsTest, ReleasesEqualsTheSourceDirectory) {
  SchemaMigrations embedded = EmbeddedMigrations("releases");
  SchemaMigrations on_disk = LoadMigrationsFromDirectory(FD_SOURCE_DIR "/migrations", "releases");
  ASSERT_EQ(embedded.error, "");
  ASSERT_EQ(on_disk.error, "");
  ASSERT_EQ(embedded.migrations.size(), on_disk.migrations.size());
  ASSERT_GE(embedded.migrations.size(), 2u);  // 0001_releases, 0002_jobs
  for (size_t i = 0; i < on_disk.migrations.size(); ++i) {
    EXPECT_EQ(embedded.migrations[i].version, on_disk.migrations[i].version);
    EXPECT_EQ(embedded.migrations[i].name, on_disk.migrations[i].name);
    EXPECT_EQ(embedded.migrations[i].sql, on_disk.migrations[i].sql)
        << MigrationFileName("releases", on_disk.migrations[i]);
  }
}

TEST(EmbeddedMigrationsTest, EverySchemaDirectoryIsEmbedded) {
  std::vector<std::string> on_disk;
  for (const auto& entry : fs::directory_iterator(FD_SOURCE_DIR "/migrations")) {
    if (!entry.is_directory()) continue;
    bool has_sql = false;
    for (const auto& file : fs::directory_iterator(entry.path())) {
      has_sql = has_sql || file.path().extension() == ".sql";
    }
    if (has_sql) on_disk.push_back(entry.path().filename().string());
  }
  std::sort(on_disk.begin(), on_disk.end());
  EXPECT_EQ(EmbeddedSchemas(), on_disk);
  for (const std::string& schema : on_disk) {
    SchemaMigrations embedded = EmbeddedMigrations(schema);
    SchemaMigrations files = LoadMigrationsFromDirectory(FD_SOURCE_DIR "/migrations", schema);
    EXPECT_EQ(embedded.error, "");
    EXPECT_EQ(embedded.migrations.size(), files.migrations.size()) << schema;
  }
}

TEST(EmbeddedMigrationsTest, UnknownSchemaIsAnError) {
  SchemaMigrations set = EmbeddedMigrations("nosuchschema");
  EXPECT_TRUE(set.migrations.empty());
  EXPECT_NE(set.error.find("nosuchschema"), std::string::npos);
}

}  // namespace
}  // namespace flightdeck::db
