// fdctl's backup commands as an operator or a script runs them, against a fake gateway on a
// loopback port. Polling commands run with a sleep that returns at once.
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>

#include "tests/cli/fake_gateway.h"
#include "tests/cli/fdctl_harness.h"

namespace flightdeck::cli {
namespace {

using nlohmann::json;
using testing::CannedResponse;
using testing::FakeGateway;
using testing::FdctlTest;
using testing::kToken;
using testing::Outcome;
using testing::RecordedRequest;

std::string BackupJson(const std::string& state, const std::string& extra = "") {
  return R"({"id":"bk-7","target":"orders","state":")" + state +
         R"(","trigger":"MANUAL","bytes_dumped":"0","bytes_stored":"0","compression_ratio":0,)"
         R"("progress_bytes":"0","failure_reason":"","tables":[])" +
         extra + "}";
}

const char* kTargetJson = R"({"name":"orders",
  "database_url":"postgresql://backup:***@db.internal/orders","schedule":"0 3 * * *",
  "retention":{"keep_last":7,"keep_days":30},"storage":{"kind":"LOCAL","path":"/srv/backups"},
  "rpo_target":"86400s","verify_after_backup":true,
  "status":{"last_success_id":"","last_failure_reason":"","rpo_met":false,
            "last_backup_verified":false,"consecutive_scheduled_failures":0,
            "next_run_at":"2026-11-23T03:00:00Z"}})";

class BackupCommandsTest : public FdctlTest {
 protected:
  Outcome Run(FakeGateway& gateway, std::vector<std::string> argv, const std::string& in = "") {
    argv.insert(argv.end(), {"--url", gateway.url(), "--token", kToken});
    return Fdctl(argv, in);
  }
};

TEST_F(BackupCommandsTest, TargetCreateReadsThePasswordFromStdinAndShowsTheRedactedTarget) {
  FakeGateway gateway([](const RecordedRequest&) { return CannedResponse{200, kTargetJson}; });
  Outcome o = Run(gateway,
                  {"backup", "target", "create", "orders", "--database-url", "-", "--path",
                   "/srv/backups", "--schedule", "0 3 * * *", "--keep-last", "7", "--rpo", "24h"},
                  "postgresql://backup:hunter2@db.internal/orders\n");
  ASSERT_EQ(o.code, kExitOk) << o.err;
  ASSERT_EQ(gateway.requests().size(), 1u);
  const RecordedRequest r = gateway.requests()[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/v1/backup-targets");
  EXPECT_EQ(json::parse(r.body), json::parse(R"({"name":"orders",
    "database_url":"postgresql://backup:hunter2@db.internal/orders",
    "storage":{"kind":"LOCAL","path":"/srv/backups"},"schedule":"0 3 * * *",
    "retention":{"keep_last":7},"rpo_target":"86400s"})"));
  EXPECT_EQ(o.out.find("hunter2"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("database: postgresql://***@db.internal/orders\n"), std::string::npos)
      << o.out;
  EXPECT_NE(o.out.find("RPO: no good backup yet (target 24h)\n"), std::string::npos) << o.out;
}

TEST_F(BackupCommandsTest, TargetCreateWithoutPathIsAUsageErrorAndSendsNothing) {
  FakeGateway gateway([](const RecordedRequest&) { return CannedResponse{200, kTargetJson}; });
  Outcome o = Run(gateway, {"backup", "target", "create", "orders", "--database-url",
                            "postgresql://db/orders", "--path", "relative/dir"});
  EXPECT_EQ(o.code, kExitUsage);
  EXPECT_NE(o.err.find("--path must be an absolute directory"), std::string::npos) << o.err;
  EXPECT_TRUE(gateway.requests().empty());
}

TEST_F(BackupCommandsTest, TargetListGetAndDelete) {
  FakeGateway gateway([](const RecordedRequest& r) {
    if (r.target == "/v1/backup-targets") {
      return CannedResponse{200, std::string(R"({"backup_targets":[)") + kTargetJson + "]}"};
    }
    if (r.target == "/v1/backup-targets/orders" && r.method == "GET") {
      return CannedResponse{200, kTargetJson};
    }
    if (r.target == "/v1/backup-targets/orders" && r.method == "DELETE") {
      return CannedResponse{200, kTargetJson};
    }
    return CannedResponse{404,
                          R"({"error":{"code":"NOT_FOUND","message":"no backup target 'x'"}})"};
  });
  Outcome list = Run(gateway, {"backup", "target", "list"});
  ASSERT_EQ(list.code, kExitOk) << list.err;
  EXPECT_EQ(list.out.rfind("NAME    SCHEDULE   LAST SUCCESS  RPO", 0), 0u) << list.out;
  EXPECT_NE(list.out.find("orders  0 3 * * *  never"), std::string::npos) << list.out;

  Outcome get = Run(gateway, {"backup", "target", "get", "orders"});
  ASSERT_EQ(get.code, kExitOk) << get.err;
  EXPECT_NE(get.out.find("next run: 2026-11-23T03:00:00Z\n"), std::string::npos) << get.out;

  Outcome del = Run(gateway, {"backup", "target", "delete", "orders"});
  ASSERT_EQ(del.code, kExitOk) << del.err;
  EXPECT_EQ(del.out, "Deleted backup target orders.\n");
  EXPECT_EQ(gateway.requests().back().method, "DELETE");

  Outcome missing = Run(gateway, {"backup", "target", "get", "x"});
  EXPECT_EQ(missing.code, kExitError);
  EXPECT_EQ(missing.err, "error: NOT_FOUND: no backup target 'x'\n");
}

TEST_F(BackupCommandsTest, RunWaitShowsProgressUntilSucceeded) {
  std::atomic<int> gets{0};
  FakeGateway gateway([&gets](const RecordedRequest& r) {
    if (r.method == "POST") return CannedResponse{200, BackupJson("PENDING")};
    switch (++gets) {
      case 1:
        return CannedResponse{200, BackupJson("RUNNING", R"(,"progress_bytes":"1500000")")};
      case 2:
        return CannedResponse{200, BackupJson("RUNNING", R"(,"progress_bytes":"1500000")")};
      case 3:
        return CannedResponse{503, R"({"error":{"code":"UNAVAILABLE","message":"restarting"}})"};
      case 4:
        return CannedResponse{200, BackupJson("RUNNING", R"(,"progress_bytes":"12345678")")};
      default:
        return CannedResponse{200, BackupJson("SUCCEEDED", R"(,"bytes_dumped":"20000000",
          "bytes_stored":"5000000","compression_ratio":4,"sha256":"abc123")")};
    }
  });
  Outcome o = Run(gateway, {"backup", "run", "orders", "--wait"});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(json::parse(gateway.requests()[0].body), json::parse(R"({"target":"orders"})"));
  EXPECT_EQ(gateway.requests()[1].target, "/v1/backups/bk-7");
  EXPECT_EQ(o.out.substr(0, o.out.find("\n\n")),
            "backup bk-7 of orders started\n"
            "waiting to start...\n"
            "dumped 1.5 MB...\n"
            "dumped 12.3 MB...\n"
            "backup bk-7 SUCCEEDED");
  EXPECT_NE(o.out.find("compression ratio: 4.00x\n"), std::string::npos) << o.out;
  EXPECT_NE(o.err.find("warning: UNAVAILABLE: restarting"), std::string::npos) << o.err;
  EXPECT_EQ(sleeps_.size(), 5u);
  for (auto d : sleeps_) EXPECT_EQ(d, std::chrono::milliseconds(1000));
}

TEST_F(BackupCommandsTest, RunWaitExitsOneWithTheReasonWhenTheBackupFails) {
  FakeGateway gateway([](const RecordedRequest& r) {
    if (r.method == "POST") return CannedResponse{200, BackupJson("RUNNING")};
    return CannedResponse{200, BackupJson("FAILED", R"(,"failure_reason":"pg_dump exited 1")")};
  });
  Outcome o = Run(gateway, {"backup", "run", "orders", "--wait"});
  EXPECT_EQ(o.code, kExitError);
  EXPECT_NE(o.out.find("backup bk-7 FAILED: pg_dump exited 1\n"), std::string::npos) << o.out;
}

TEST_F(BackupCommandsTest, RunWaitWithJsonPrintsOnlyTheFinalBackup) {
  FakeGateway gateway([](const RecordedRequest& r) {
    if (r.method == "POST") return CannedResponse{200, BackupJson("RUNNING")};
    return CannedResponse{200, BackupJson("SUCCEEDED")};
  });
  Outcome o = Run(gateway, {"backup", "run", "orders", "--wait", "--json"});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(json::parse(o.out)["state"], "SUCCEEDED");
}

TEST_F(BackupCommandsTest, RunWithoutWaitReturnsAtOnce) {
  FakeGateway gateway([](const RecordedRequest&) {
    return CannedResponse{200, BackupJson("PENDING")};
  });
  Outcome o = Run(gateway, {"backup", "run", "orders"});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(gateway.requests().size(), 1u);
  EXPECT_NE(o.out.find("Follow it: fdctl backup get bk-7\n"), std::string::npos) << o.out;
  EXPECT_TRUE(sleeps_.empty());
}

TEST_F(BackupCommandsTest, ListFiltersByTargetAndState) {
  FakeGateway gateway([](const RecordedRequest&) {
    return CannedResponse{200, R"({"backups":[)" +
                                   BackupJson("FAILED", R"(,"failure_reason":"disk full")") +
                                   R"(],"next_page_token":"p2"})"};
  });
  Outcome o = Run(gateway, {"backup", "list", "--target", "orders", "--state", "failed"});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(gateway.requests()[0].target, "/v1/backups?target=orders&state=FAILED");
  EXPECT_NE(o.out.find("bk-7  orders  FAILED"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("More: fdctl backup list --page-token p2\n"), std::string::npos) << o.out;

  Outcome bad = Run(gateway, {"backup", "list", "--state", "done"});
  EXPECT_EQ(bad.code, kExitUsage);
  EXPECT_NE(bad.err.find("--state 'done' is not a backup state"), std::string::npos) << bad.err;
  EXPECT_EQ(gateway.requests().size(), 1u);
}

TEST_F(BackupCommandsTest, GetWhileRunningShowsProgress) {
  FakeGateway gateway([](const RecordedRequest&) {
    return CannedResponse{200, BackupJson("RUNNING", R"(,"progress_bytes":"987654321")")};
  });
  Outcome o = Run(gateway, {"backup", "get", "bk-7"});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  EXPECT_NE(o.out.find("progress: dumped 988 MB...\n"), std::string::npos) << o.out;
}

TEST_F(BackupCommandsTest, VerifyWaitExitsOneAndListsDifferencesWhenItFails) {
  FakeGateway gateway([](const RecordedRequest& r) {
    if (r.method == "POST") {
      return CannedResponse{200,
                            BackupJson("SUCCEEDED", R"(,"verification":{"result":"RUNNING"})")};
    }
    return CannedResponse{200, BackupJson("SUCCEEDED", R"(,"verification":{"result":"FAILED",
      "differences":["public.orders: 10 rows in the manifest, 9 restored"],"duration":"3s"})")};
  });
  Outcome o = Run(gateway, {"backup", "verify", "bk-7", "--wait"});
  EXPECT_EQ(o.code, kExitError) << o.err;
  EXPECT_EQ(gateway.requests()[0].target, "/v1/backups/bk-7/verify");
  EXPECT_EQ(o.out,
            "verifying (restoring into a scratch database)...\n"
            "backup bk-7 verification: FAILED in 3s, 1 difference\n"
            "  - public.orders: 10 rows in the manifest, 9 restored\n");
}

TEST_F(BackupCommandsTest, RestoreWithoutYesRefusesWhenNobodyCanConfirm) {
  FakeGateway gateway([](const RecordedRequest&) {
    return CannedResponse{200, BackupJson("SUCCEEDED")};
  });
  Outcome o = Run(gateway, {"backup", "restore", "bk-7", "--to", "orders_copy"}, "bk-7\n");
  EXPECT_NE(o.code, kExitOk);
  EXPECT_NE(o.err.find("without confirmation"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("--yes"), std::string::npos) << o.err;
  EXPECT_TRUE(gateway.requests().empty());
}

TEST_F(BackupCommandsTest, RestoreAsksForTheBackupIdAndSendsItAsConfirmation) {
  FakeGateway gateway([](const RecordedRequest& r) {
    if (r.method == "GET") return CannedResponse{200, BackupJson("SUCCEEDED")};
    return CannedResponse{200, BackupJson("SUCCEEDED", R"(,"last_restore":{
      "target_database":"orders_copy","state":"RUNNING","started_at":"2026-11-22T04:00:00Z"})")};
  });
  interactive_ = true;
  Outcome wrong = Run(gateway, {"backup", "restore", "bk-7", "--to", "orders_copy"}, "yes\n");
  EXPECT_EQ(wrong.code, kExitError);
  EXPECT_NE(wrong.err.find("Type the backup id to confirm"), std::string::npos) << wrong.err;
  EXPECT_NE(wrong.err.find("nothing was restored"), std::string::npos) << wrong.err;
  ASSERT_EQ(gateway.requests().size(), 1u);
  EXPECT_EQ(gateway.requests()[0].method, "GET");

  Outcome right = Run(gateway, {"backup", "restore", "bk-7", "--to", "orders_copy"}, "bk-7\n");
  ASSERT_EQ(right.code, kExitOk) << right.err;
  const RecordedRequest post = gateway.requests().back();
  EXPECT_EQ(post.target, "/v1/backups/bk-7/restore");
  EXPECT_EQ(json::parse(post.body),
            json::parse(R"({"target_database":"orders_copy","confirm":"bk-7"})"));
  EXPECT_NE(right.out.find("restore of bk-7: RUNNING into orders_copy"), std::string::npos)
      << right.out;
}

TEST_F(BackupCommandsTest, RestoreByAnIdPrefixTakesThePrefixOrTheFullIdAsConfirmation) {
  FakeGateway gateway([](const RecordedRequest& r) {
    if (r.method == "GET") return CannedResponse{200, BackupJson("SUCCEEDED")};
    return CannedResponse{200, BackupJson("SUCCEEDED", R"(,"last_restore":{
      "target_database":"orders_copy","state":"RUNNING","started_at":"2026-11-22T04:00:00Z"})")};
  });
  interactive_ = true;
  // "bk-" stands for the backup whose full id is bk-7 (the fake's answer).
  Outcome full = Run(gateway, {"backup", "restore", "bk-", "--to", "orders_copy"}, "bk-7\n");
  ASSERT_EQ(full.code, kExitOk) << full.err;
  EXPECT_EQ(gateway.requests().back().target, "/v1/backups/bk-/restore");
  EXPECT_EQ(json::parse(gateway.requests().back().body)["confirm"], "bk-7");
  EXPECT_NE(full.out.find("restore of bk-7: RUNNING into orders_copy"), std::string::npos) << full.out;
  EXPECT_NE(full.out.find("Follow it: fdctl backup get bk-7\n"), std::string::npos) << full.out;

  Outcome same = Run(gateway, {"backup", "restore", "bk-", "--to", "orders_copy"}, "bk-\n");
  ASSERT_EQ(same.code, kExitOk) << same.err;
  EXPECT_EQ(json::parse(gateway.requests().back().body)["confirm"], "bk-");
}

TEST_F(BackupCommandsTest, RestoreYesWaitPollsUntilTheRestoreEnds) {
  std::atomic<int> gets{0};
  FakeGateway gateway([&gets](const RecordedRequest& r) {
    const std::string running = R"(,"last_restore":{"target_database":"orders","state":"RUNNING"})";
    if (r.method == "POST" || ++gets < 3)
      return CannedResponse{200, BackupJson("SUCCEEDED", running)};
    return CannedResponse{200, BackupJson("SUCCEEDED", R"(,"last_restore":{
      "target_database":"orders","state":"SUCCEEDED","duration":"42s"})")};
  });
  Outcome o = Run(
      gateway, {"backup", "restore", "bk-7", "--to", "orders", "--overwrite", "--yes", "--wait"});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(json::parse(gateway.requests()[0].body),
            json::parse(R"({"target_database":"orders","confirm":"bk-7","overwrite":true})"));
  EXPECT_EQ(o.out, "restoring into orders...\nrestore of bk-7: SUCCEEDED into orders in 42s\n");
  EXPECT_EQ(gets.load(), 3);
}

TEST_F(BackupCommandsTest, RestoreNeedsTo) {
  FakeGateway gateway([](const RecordedRequest&) { return CannedResponse{200, "{}"}; });
  Outcome o = Run(gateway, {"backup", "restore", "bk-7", "--yes"});
  EXPECT_EQ(o.code, kExitUsage);
  EXPECT_NE(o.err.find("--to is required"), std::string::npos) << o.err;
}

}  // namespace
}  // namespace flightdeck::cli
