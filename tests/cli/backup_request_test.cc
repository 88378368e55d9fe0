// What `fdctl backup target create` and `backup restore` send, and the readers of the
// backups service's proto JSON (64-bit integers as strings, durations as "86400s").
#include "cli/backup_request.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace flightdeck::cli {
namespace {

ParsedArgs Flags(const std::vector<std::pair<std::string, std::string>>& flags) {
  ParsedArgs args;
  for (const auto& [name, value] : flags) args.Set(name, value);
  return args;
}

constexpr const char* kUrl = "postgresql://backup:s3cret@db.internal:5432/orders";

TEST(BackupRequestTest, CreateTargetSendsEveryOptionGiven) {
  std::string error;
  const std::optional<Json> body = CreateBackupTargetBody("orders", kUrl,
                                                          Flags({{"path", "/var/backups/orders"},
                                                                 {"schedule", "0 3 * * *"},
                                                                 {"keep-last", "10"},
                                                                 {"keep-days", "14"},
                                                                 {"rpo", "6h"},
                                                                 {"no-verify", "true"}}),
                                                          &error);
  ASSERT_TRUE(body) << error;
  EXPECT_EQ(*body, Json::parse(R"({"name":"orders","database_url":")" + std::string(kUrl) +
                               R"(","storage":{"kind":"LOCAL","path":"/var/backups/orders"},
      "schedule":"0 3 * * *","retention":{"keep_last":10,"keep_days":14},
      "rpo_target":"21600s","verify_after_backup":false})"));
}

TEST(BackupRequestTest, CreateTargetLeavesDefaultsToTheServer) {
  std::string error;
  const std::optional<Json> body =
      CreateBackupTargetBody("orders", kUrl, Flags({{"path", "/backups"}}), &error);
  ASSERT_TRUE(body) << error;
  EXPECT_FALSE(body->contains("retention"));
  EXPECT_FALSE(body->contains("rpo_target"));
  EXPECT_FALSE(body->contains("schedule"));
  EXPECT_FALSE(body->contains("verify_after_backup"));
}

TEST(BackupRequestTest, RpoInDaysBecomesSeconds) {
  std::string error;
  const std::optional<Json> body =
      CreateBackupTargetBody("orders", kUrl, Flags({{"path", "/backups"}, {"rpo", "7d"}}), &error);
  ASSERT_TRUE(body) << error;
  EXPECT_EQ((*body)["rpo_target"], "604800s");
}

TEST(BackupRequestTest, BadValuesAreRefusedNamingTheFlag) {
  const std::vector<std::pair<std::vector<std::pair<std::string, std::string>>, std::string>>
      cases = {
          {{{"path", "backups/orders"}}, "--path"},
          {{{"path", "/b"}, {"schedule", "0 3 * *"}}, "--schedule"},
          {{{"path", "/b"}, {"keep-last", "0"}}, "--keep-last"},
          {{{"path", "/b"}, {"keep-days", "-3"}}, "--keep-days"},
          {{{"path", "/b"}, {"keep-days", "99999999999"}}, "--keep-days"},
          {{{"path", "/b"}, {"rpo", "24"}}, "--rpo"},
          {{{"path", "/b"}, {"rpo", "0s"}}, "--rpo"},
      };
  for (const auto& [flags, named] : cases) {
    std::string error;
    EXPECT_FALSE(CreateBackupTargetBody("orders", kUrl, Flags(flags), &error)) << named;
    EXPECT_NE(error.find(named), std::string::npos) << error;
  }
  std::string error;
  EXPECT_FALSE(
      CreateBackupTargetBody("orders", "mysql://db/orders", Flags({{"path", "/b"}}), &error));
  EXPECT_NE(error.find("--database-url"), std::string::npos) << error;
}

TEST(BackupRequestTest, RestoreBodyCarriesTheConfirmation) {
  EXPECT_EQ(RestoreBackupBody("orders_copy", "bk-1", false),
            Json::parse(R"({"target_database":"orders_copy","confirm":"bk-1"})"));
  EXPECT_EQ(RestoreBackupBody("orders", "bk-1", true)["overwrite"], true);
}

TEST(BackupRequestTest, StatesAreCaseInsensitive) {
  EXPECT_EQ(ParseBackupState("failed"), "FAILED");
  EXPECT_EQ(ParseBackupState("Running"), "RUNNING");
  EXPECT_FALSE(ParseBackupState("done"));
  EXPECT_TRUE(IsTerminalBackupState("SUCCEEDED"));
  EXPECT_TRUE(IsTerminalBackupState("FAILED"));
  EXPECT_FALSE(IsTerminalBackupState("RUNNING"));
}

TEST(BackupRequestTest, Int64FieldsReadStringsAndNumbers) {
  const Json backup =
      Json::parse(R"({"bytes_dumped":"1073741824","bytesStored":12345,"progress_bytes":"12x"})");
  EXPECT_EQ(Int64Field(backup, "bytes_dumped"), 1073741824);
  EXPECT_EQ(Int64Field(backup, "bytes_stored"), 12345);
  EXPECT_FALSE(Int64Field(backup, "progress_bytes"));
  EXPECT_FALSE(Int64Field(backup, "absent"));
}

TEST(BackupRequestTest, BytesReadLikeAProgressLine) {
  EXPECT_EQ(FormatBytes(0), "0 B");
  EXPECT_EQ(FormatBytes(999), "999 B");
  EXPECT_EQ(FormatBytes(12345678), "12.3 MB");
  EXPECT_EQ(FormatBytes(123456789), "123 MB");
  EXPECT_EQ(FormatBytes(999999999), "1.0 GB");
  EXPECT_EQ(FormatBytes(1073741824), "1.1 GB");
}

TEST(BackupRequestTest, DurationsReadLikeAPerson) {
  EXPECT_EQ(HumanDuration("86400s"), "24h");
  EXPECT_EQ(HumanDuration("3723s"), "1h2m3s");
  EXPECT_EQ(HumanDuration("3.500s"), "3.5s");
  EXPECT_EQ(HumanDuration("12s"), "12s");
  EXPECT_EQ(HumanDuration("0.250s"), "250ms");
  EXPECT_EQ(HumanDuration("P1D"), "P1D");
}

}  // namespace
}  // namespace flightdeck::cli
