// How fdctl shows backup targets and backups: the answers below are shaped like the gateway's
// (proto JSON, snake_case names, primitive fields always printed, int64 as strings).
#include "cli/backup_format.h"

#include <gtest/gtest.h>

#include <string>

namespace flightdeck::cli {
namespace {

Json Target(const std::string& status) {
  return Json::parse(R"({"name":"orders",
    "database_url":"postgresql://backup:***@db.internal:5432/orders","schedule":"0 3 * * *",
    "retention":{"keep_last":7,"keep_days":30},"storage":{"kind":"LOCAL","path":"/var/backups"},
    "rpo_target":"86400s","verify_after_backup":true,"status":)" +
                     status + R"(,"created_at":"2026-11-20T10:00:00.123Z"})");
}

const char* kHealthyStatus = R"({"last_success_id":"bk-9",
    "last_success_at":"2026-11-22T03:04:05.5Z","last_failure_id":"","last_failure_reason":"",
    "next_run_at":"2026-11-23T03:00:00Z","achieved_rpo":"11520s","verified_rpo":"11520s","rpo_met":true,
    "last_backup_verified":true,"consecutive_scheduled_failures":0})";

const char* kFailingStatus = R"({"last_success_id":"bk-1",
    "last_success_at":"2026-11-19T03:00:00Z","last_failure_id":"bk-7",
    "last_failure_at":"2026-11-22T03:00:01Z",
    "last_failure_reason":"pg_dump exited with status 1: connection refused",
    "next_run_at":"2026-11-23T03:00:00Z","achieved_rpo":"270000s","rpo_met":false,
    "last_backup_verified":false,"consecutive_scheduled_failures":3})";

TEST(BackupFormatTest, TargetStatusShowsRpoAgainstTheTarget) {
  const std::string text = FormatBackupTargetDetails(Target(kHealthyStatus));
  EXPECT_NE(text.find("RPO: 3h12m of 24h (met)\n"), std::string::npos) << text;
  EXPECT_NE(text.find("last success: 2026-11-22T03:04:05Z (bk-9)\n"), std::string::npos) << text;
  EXPECT_NE(text.find("next run: 2026-11-23T03:00:00Z\n"), std::string::npos) << text;
  EXPECT_NE(text.find("last backup verified: yes\n"), std::string::npos) << text;
  EXPECT_NE(text.find("schedule: 0 3 * * * (UTC)\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("last failure"), std::string::npos) << text;
  EXPECT_EQ(text.find("in a row"), std::string::npos) << text;
}

TEST(BackupFormatTest, FailingTargetSaysWhyAndThatTheRpoIsMissed) {
  const std::string text = FormatBackupTargetDetails(Target(kFailingStatus));
  EXPECT_NE(text.find("last failure: 2026-11-22T03:00:01Z (bk-7): pg_dump exited with status 1: "
                      "connection refused\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("RPO: no verified backup (newest 75h, target 24h) (MISSED)\n"), std::string::npos) << text;
  EXPECT_NE(text.find("failed scheduled runs in a row: 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("last backup verified: no\n"), std::string::npos) << text;
}

TEST(BackupFormatTest, NeverBackedUpTargetHasNoRpoYet) {
  const Json target = Target(R"({"last_success_id":"","rpo_met":false,
      "last_backup_verified":false,"consecutive_scheduled_failures":0})");
  EXPECT_EQ(FormatRpo(target), "no good backup yet (target 24h)");
  const std::string table = FormatBackupTargetTable(Json::array({target}));
  EXPECT_NE(table.find("never"), std::string::npos) << table;
}

// Only a verified backup meets the RPO: the figure is the verified one, and a newer backup not
// verified yet is named beside it.
TEST(BackupFormatTest, TheRpoCountsFromTheNewestVerifiedBackup) {
  const Json newer_unverified = Target(R"({"last_success_id":"bk-10","achieved_rpo":"120s",
      "verified_rpo":"720s","rpo_met":true,"last_backup_verified":false})");
  EXPECT_EQ(FormatRpo(newer_unverified), "12m of 24h (met), newer backup 2m not verified");
  const Json old_verified = Target(R"({"last_success_id":"bk-10","achieved_rpo":"120s",
      "verified_rpo":"90000s","rpo_met":false,"last_backup_verified":false})");
  EXPECT_EQ(FormatRpo(old_verified), "25h of 24h (MISSED), newer backup 2m not verified");
}

TEST(BackupFormatTest, APasswordLeftInTheUrlIsMaskedAnyway) {
  Json target = Target(kHealthyStatus);
  target["database_url"] = "postgresql://backup:hunter2@db/orders";
  const std::string text = FormatBackupTargetDetails(target);
  EXPECT_EQ(text.find("hunter2"), std::string::npos) << text;
  EXPECT_NE(text.find("database: postgresql://***@db/orders\n"), std::string::npos) << text;
}

TEST(BackupFormatTest, TargetTableHasOneRowPerTarget) {
  Json failing = Target(kFailingStatus);
  failing["name"] = "billing";
  failing["schedule"] = "";
  const std::string table = FormatBackupTargetTable(Json::array({Target(kHealthyStatus), failing}));
  EXPECT_EQ(table.rfind("NAME", 0), 0u) << table;
  EXPECT_NE(table.find("orders   0 3 * * *  2026-11-22T03:04:05Z  3h12m of 24h (met)  "), std::string::npos)
      << table;
  EXPECT_NE(table.find("billing  on demand"), std::string::npos) << table;
  EXPECT_NE(table.find("no verified backup (newest 75h, target 24h) (MISSED)"), std::string::npos) << table;
}

Json SucceededBackup() {
  return Json::parse(R"({"id":"bk-9","target":"orders","state":"SUCCEEDED","trigger":"MANUAL",
    "started_at":"2026-11-22T03:00:00Z","finished_at":"2026-11-22T03:01:40Z",
    "snapshot_time":"2026-11-22T03:00:01Z","server_version":"15.5",
    "tables":[{"table":"public.orders","rows":"1200000"},{"table":"public.items","rows":"35"}],
    "bytes_dumped":"1073741824","bytes_stored":"268435456","compression_ratio":4,
    "sha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "cipher":"zstd+aes-256-gcm-chunked/v1","key_id":"k-2026-11","location":"/var/backups/orders/bk-9.fdb",
    "request_id":"req-1","trace_id":"","created_by":"token:ci","failure_reason":"",
    "progress_bytes":"1073741824",
    "verification":{"result":"PASSED","finished_at":"2026-11-22T03:03:00Z","differences":[],
      "duration":"80s"},
    "last_restore":{"target_database":"orders_copy","state":"SUCCEEDED",
      "started_at":"2026-11-22T04:00:00Z","finished_at":"2026-11-22T04:02:05Z",
      "duration":"125s","error":"","requested_by":"token:alice"},
    "deletion_reason":""})");
}

TEST(BackupFormatTest, ManifestShowsSizesChecksumKeyAndTables) {
  const std::string text = FormatBackupDetails(SucceededBackup());
  for (const char* line :
       {"state: SUCCEEDED\n", "dumped: 1.1 GB\n", "stored: 268 MB\n", "compression ratio: 4.00x\n",
        "sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n",
        "cipher: zstd+aes-256-gcm-chunked/v1\n", "key id: k-2026-11\n",
        "location: /var/backups/orders/bk-9.fdb\n", "snapshot: 2026-11-22T03:00:01Z\n",
        "verification: PASSED at 2026-11-22T03:03:00Z in 1m20s\n",
        "last restore: SUCCEEDED into orders_copy at 2026-11-22T04:02:05Z in 2m5s by token:alice\n",
        "tables (2, 1200035 rows in the snapshot):\n", "  public.orders  1200000\n",
        "  public.items   35\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << "missing: " << line << "in:\n" << text;
  }
  EXPECT_EQ(text.find("progress"), std::string::npos) << text;
  EXPECT_EQ(text.find("failure"), std::string::npos) << text;
}

TEST(BackupFormatTest, RunningBackupShowsProgressNotFinalSizes) {
  Json backup = Json::parse(R"({"id":"bk-10","target":"orders","state":"RUNNING",
    "bytes_dumped":"0","bytes_stored":"0","compression_ratio":0,"progress_bytes":"12345678",
    "tables":[]})");
  const std::string text = FormatBackupDetails(backup);
  EXPECT_NE(text.find("progress: dumped 12.3 MB...\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("stored:"), std::string::npos) << text;
  EXPECT_EQ(text.find("compression ratio"), std::string::npos) << text;
  EXPECT_EQ(FormatBackupProgress(backup), "dumped 12.3 MB...");
  backup["state"] = "PENDING";
  EXPECT_EQ(FormatBackupProgress(backup), "waiting to start...");
}

TEST(BackupFormatTest, FailedVerificationListsTheDifferences) {
  Json backup = SucceededBackup();
  backup["verification"] = Json::parse(R"({"result":"FAILED","finished_at":"2026-11-22T03:03:00Z",
    "differences":["public.orders: 1200000 rows in the manifest, 1199999 restored",
                   "sha256 mismatch"],"duration":"4s"})");
  const std::string section = FormatVerificationSection(backup);
  EXPECT_EQ(section,
            "verification: FAILED at 2026-11-22T03:03:00Z in 4s, 2 differences\n"
            "  - public.orders: 1200000 rows in the manifest, 1199999 restored\n"
            "  - sha256 mismatch\n");
  EXPECT_NE(FormatBackupDetails(backup).find(section), std::string::npos);
}

TEST(BackupFormatTest, FailedBackupSaysWhy) {
  const Json backup = Json::parse(R"({"id":"bk-11","target":"orders","state":"FAILED",
    "failure_reason":"pg_dump: error: connection to server failed","bytes_dumped":"0",
    "bytes_stored":"0","compression_ratio":0,"progress_bytes":"0","tables":[]})");
  const std::string text = FormatBackupDetails(backup);
  EXPECT_NE(text.find("failure: pg_dump: error: connection to server failed\n"), std::string::npos)
      << text;
  EXPECT_EQ(text.find("dumped:"), std::string::npos) << text;
  const std::string table = FormatBackupTable(Json::array({backup, SucceededBackup()}));
  EXPECT_NE(table.find("bk-11  orders  FAILED"), std::string::npos) << table;
  EXPECT_NE(table.find("1.1 GB  268 MB  4.00x  PASSED"), std::string::npos) << table;
}

TEST(BackupFormatTest, RestoreInFlightAndFailed) {
  Json backup = SucceededBackup();
  backup["last_restore"] = Json::parse(
      R"({"target_database":"orders_copy","state":"RUNNING","started_at":"2026-11-22T04:00:00Z"})");
  EXPECT_EQ(FormatRestore(backup), "RUNNING into orders_copy since 2026-11-22T04:00:00Z");
  backup["last_restore"] = Json::parse(
      R"j({"target_database":"orders","state":"FAILED","duration":"1s",
          "error":"database \"orders\" exists (pass overwrite)"})j");
  EXPECT_EQ(FormatRestore(backup),
            "FAILED into orders in 1s: database \"orders\" exists (pass overwrite)");
  backup.erase("last_restore");
  EXPECT_EQ(FormatRestore(backup), "");
}

}  // namespace
}  // namespace flightdeck::cli
