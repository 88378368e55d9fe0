// End to end: backups over REST against the running processes and a real source database.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "tests/support/http_client.h"
#include "tests/e2e/stack.h"
#include "tests/support/test_database.h"
#include "tests/support/wait.h"

namespace flightdeck::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class BackupsE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char dir[] = "/tmp/fd-backups-e2e-XXXXXX";
    dir_ = new std::string(mkdtemp(dir));
    // pg_dump through a wrapper that can be made to stall, so a test can kill the service
    // in the middle of a run.
    std::ofstream(*dir_ + "/pg_dump") << "#!/bin/sh\n[ -e " << *dir_
                                      << "/stall ] && sleep 5\nexec /usr/lib/postgresql/15/bin/pg_dump \"$@\"\n";
    chmod((*dir_ + "/pg_dump").c_str(), 0755);
    stack_ = new Stack(std::map<std::string, std::string>{{"FLIGHTDECK_JOBS_POLL_INTERVAL", "100ms"},
                                                          {"FLIGHTDECK_PG_DUMP", *dir_ + "/pg_dump"},
                                                          {"FLIGHTDECK_BACKUP_ROOT", *dir_}});
    ready_ = stack_->WaitReady();
  }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
    std::string cmd = "rm -rf " + *dir_;
    (void)!system(cmd.c_str());
    delete dir_;
  }
  void SetUp() override { ASSERT_TRUE(ready_) << "the stack did not start"; }

  static HttpResponse Call(const std::string& method, const std::string& path, const json& body = nullptr) {
    return CallAs(stack_->admin_token(), method, path, body);
  }
  static HttpResponse CallAs(const std::string& token, const std::string& method, const std::string& path,
                             const json& body = nullptr) {
    return HttpRequest(method, stack_->gateway_url() + path, body.is_null() ? "" : body.dump(),
                       {{"Authorization", "Bearer " + token}});
  }

  // Polls a backup until `done(backup)` or 60 s.
  static json WaitBackup(const std::string& id, const std::function<bool(const json&)>& done) {
    const json b = PollUntil([&] { return json::parse(Call("GET", "/v1/backups/" + id).body, nullptr, false); },
                             done, 60s, 200ms);
    if (done(b)) return b;
    ADD_FAILURE() << "backup " << id << " did not get there in time: " << b.dump(2) << "\n" << stack_->Logs();
    return b;
  }

  static void Fill(const std::string& url) {
    pqxx::connection c(url);
    pqxx::work w(c);
    w.exec("CREATE TABLE customers (id serial PRIMARY KEY, name text, notes text)");
    w.exec("CREATE TABLE \"Order Lines\" (id bigserial PRIMARY KEY, customer int, amount numeric)");
    w.exec("INSERT INTO customers (name, notes) SELECT 'c' || i, repeat('x', 200) FROM generate_series(1, 5000) i");
    w.exec("INSERT INTO \"Order Lines\" (customer, amount) SELECT i % 5000, i * 1.5 FROM generate_series(1, 20000) i");
    w.commit();
  }

  static long long Count(const std::string& url, const std::string& table) {
    pqxx::connection c(url);
    pqxx::work w(c);
    return w.exec("SELECT count(*) FROM " + table)[0][0].as<long long>();
  }

  static std::string* dir_;
  static Stack* stack_;
  static bool ready_;
};

std::string* BackupsE2eTest::dir_ = nullptr;
Stack* BackupsE2eTest::stack_ = nullptr;
bool BackupsE2eTest::ready_ = false;

TEST_F(BackupsE2eTest, BackUpVerifyRestoreAndDetectCorruption) {
  TestDatabase source;
  Fill(source.url());
  HttpResponse created = Call("POST", "/v1/backup-targets",
                              {{"name", "shop"}, {"database_url", source.url()},
                               {"storage", {{"kind", "LOCAL"}, {"path", *dir_ + "/shop"}}}});
  ASSERT_EQ(created.status, 200) << created.body;
  json target = json::parse(created.body);
  const std::string& url = source.url();
  const std::string authority = url.substr(url.find("://") + 3, url.find('@') - url.find("://") - 3);
  if (url.find('@') != std::string::npos && authority.find(':') != std::string::npos) {
    const std::string password = authority.substr(authority.find(':') + 1);
    EXPECT_EQ(created.body.find(password), std::string::npos) << "the password is never returned";
    EXPECT_NE(target["database_url"].get<std::string>().find("***"), std::string::npos);
  }
  EXPECT_EQ(target["retention"]["keep_last"], 7);
  EXPECT_EQ(target["retention"]["keep_days"], 30);

  HttpResponse started = Call("POST", "/v1/backups", {{"target", "shop"}});
  ASSERT_EQ(started.status, 200) << started.body;
  std::string id = json::parse(started.body)["id"];
  json backup = WaitBackup(id, [](const json& b) { return b.value("state", "") == "SUCCEEDED" || b.value("state", "") == "FAILED"; });
  ASSERT_EQ(backup["state"], "SUCCEEDED") << backup.dump(2);
  std::map<std::string, long long> counts;
  for (const json& t : backup["tables"]) counts[t["table"]] = std::stoll(t["rows"].get<std::string>());
  EXPECT_EQ(counts["public.customers"], 5000);
  EXPECT_EQ(counts["public.Order Lines"], 20000);
  EXPECT_EQ(backup["cipher"], "zstd+aes-256-gcm-chunked/v1");
  EXPECT_EQ(backup["sha256"].get<std::string>().size(), 64u);
  EXPECT_GT(backup["compression_ratio"].get<double>(), 1.0);
  struct stat st {};
  ASSERT_EQ(stat(backup["location"].get<std::string>().c_str(), &st), 0);
  EXPECT_EQ(std::stoll(backup["bytes_stored"].get<std::string>()), st.st_size);

  HttpResponse verify = Call("POST", "/v1/backups/" + id + "/verify", json::object());
  ASSERT_EQ(verify.status, 200) << verify.body;
  json verified = WaitBackup(id, [](const json& b) {
    std::string r = b["verification"].value("result", "");
    return r == "PASSED" || r == "FAILED";
  });
  EXPECT_EQ(verified["verification"]["result"], "PASSED") << verified.dump(2);
  json protected_now = json::parse(Call("GET", "/v1/backup-targets/shop").body);
  EXPECT_TRUE(protected_now["status"]["rpo_met"].get<bool>()) << protected_now.dump(2);
  EXPECT_TRUE(protected_now["status"].contains("verified_rpo")) << protected_now.dump(2);

  HttpResponse unconfirmed = Call("POST", "/v1/backups/" + id + "/restore",
                                  {{"target_database", "shop_restored"}, {"confirm", "yes"}});
  EXPECT_EQ(unconfirmed.status, 400);
  EXPECT_NE(unconfirmed.body.find("confirm"), std::string::npos);
  // Like git: a unique prefix names the backup; confirm repeats it as given.
  const std::string prefix = id.substr(0, 8);
  HttpResponse by_prefix = Call("GET", "/v1/backups/" + prefix);
  ASSERT_EQ(by_prefix.status, 200) << by_prefix.body;
  EXPECT_EQ(json::parse(by_prefix.body)["id"], id);
  const std::string restored_db = "fd_restored_" + std::to_string(getpid());
  HttpResponse restore = Call("POST", "/v1/backups/" + prefix + "/restore",
                              {{"target_database", restored_db}, {"confirm", prefix}});
  ASSERT_EQ(restore.status, 200) << restore.body;
  json restored = WaitBackup(id, [](const json& b) {
    std::string s = b["last_restore"].value("state", "");
    return s == "SUCCEEDED" || s == "FAILED";
  });
  ASSERT_EQ(restored["last_restore"]["state"], "SUCCEEDED") << restored.dump(2);
  const std::string restored_url = source.url().substr(0, source.url().rfind('/') + 1) + restored_db;
  EXPECT_EQ(Count(restored_url, "customers"), 5000);
  EXPECT_EQ(Count(restored_url, "\"Order Lines\""), 20000);
  {
    pqxx::connection admin(source.admin_url());
    pqxx::nontransaction n(admin);
    n.exec("DROP DATABASE IF EXISTS " + restored_db + " WITH (FORCE)");
  }

  // Flip one byte in the middle of the stored file: verification must fail and say why.
  {
    std::fstream f(backup["location"].get<std::string>(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(st.st_size / 2);
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x01);
    f.seekp(st.st_size / 2);
    f.write(&c, 1);
  }
  Call("POST", "/v1/backups/" + id + "/verify", json::object());
  json corrupted = WaitBackup(id, [](const json& b) {
    std::string r = b["verification"].value("result", "");
    return r == "PASSED" || r == "FAILED";
  });
  EXPECT_EQ(corrupted["verification"]["result"], "FAILED");
  ASSERT_FALSE(corrupted["verification"]["differences"].empty());

  // The backup still succeeded, but it no longer restores: it meets no RPO.
  json status = json::parse(Call("GET", "/v1/backup-targets/shop").body);
  EXPECT_EQ(status["status"]["last_success_id"], id);
  EXPECT_TRUE(status["status"].contains("achieved_rpo")) << status.dump(2);
  EXPECT_FALSE(status["status"].contains("verified_rpo")) << status.dump(2);
  EXPECT_FALSE(status["status"]["rpo_met"].get<bool>());
}

TEST_F(BackupsE2eTest, BadCredentialsFailLoudlyWithoutLeakingThePassword) {
  TestDatabase source;
  std::string url = source.url();
  // A role that does not exist, with a password: refused whatever the server's auth method.
  size_t at = url.find('@');
  ASSERT_NE(at, std::string::npos);
  std::string bad = url.substr(0, url.find("://") + 3) + "nobody_here:Wr0ngPassw0rd" + url.substr(at);
  ASSERT_EQ(Call("POST", "/v1/backup-targets",
                 {{"name", "badcreds"}, {"database_url", bad},
                  {"storage", {{"kind", "LOCAL"}, {"path", *dir_ + "/bad"}}}}).status, 200);
  std::string id = json::parse(Call("POST", "/v1/backups", {{"target", "badcreds"}}).body)["id"];
  json b = WaitBackup(id, [](const json& x) { return x.value("state", "") == "FAILED" || x.value("state", "") == "SUCCEEDED"; });
  EXPECT_EQ(b["state"], "FAILED");
  EXPECT_FALSE(b["failure_reason"].get<std::string>().empty());
  EXPECT_EQ(b.dump().find("Wr0ngPassw0rd"), std::string::npos);
  json target = json::parse(Call("GET", "/v1/backup-targets/badcreds").body);
  EXPECT_EQ(target["status"]["last_failure_id"], id);
  EXPECT_EQ(target.dump().find("Wr0ngPassw0rd"), std::string::npos);
  // Nothing is left in the storage directory but nothing good was claimed either.
  struct stat st {};
  EXPECT_NE(stat((*dir_ + "/bad/" + id + ".fdbk").c_str(), &st), 0);
}

TEST_F(BackupsE2eTest, KillNineMidBackupLeavesNoGoodMarkedPartial) {
  TestDatabase source;
  Fill(source.url());
  ASSERT_EQ(Call("POST", "/v1/backup-targets",
                 {{"name", "crashy"}, {"database_url", source.url()},
                  {"storage", {{"kind", "LOCAL"}, {"path", *dir_ + "/crashy"}}}}).status, 200);
  std::ofstream(*dir_ + "/stall") << "1";
  std::string id = json::parse(Call("POST", "/v1/backups", {{"target", "crashy"}}).body)["id"];
  WaitBackup(id, [](const json& b) { return b.value("state", "") == "RUNNING"; });
  const std::string partial = *dir_ + "/crashy/" + id + ".fdbk.partial";
  struct stat st {};
  // RUNNING is recorded just before the file is opened: give it a moment.
  ASSERT_TRUE(WaitUntil([&] { return stat(partial.c_str(), &st) == 0; }, 4s))
      << "the run writes under a temporary name";
  stack_->KillAndRestart("backups");
  unlink((*dir_ + "/stall").c_str());
  ASSERT_TRUE(stack_->WaitReady());
  json b = WaitBackup(id, [](const json& x) {
    return x.contains("state") && x["state"] != "RUNNING" && x["state"] != "PENDING";
  });
  EXPECT_EQ(b["state"], "FAILED");
  EXPECT_NE(b["failure_reason"].get<std::string>().find("interrupted"), std::string::npos) << b.dump(2);
  EXPECT_NE(stat(partial.c_str(), &st), 0) << "the partial file is removed on restart";
  EXPECT_NE(stat((*dir_ + "/crashy/" + id + ".fdbk").c_str(), &st), 0) << "and nothing good-looking remains";
  // The restarted service backs up fine.
  std::string next = json::parse(Call("POST", "/v1/backups", {{"target", "crashy"}}).body)["id"];
  json ok = WaitBackup(next, [](const json& x) { return x.value("state", "") == "SUCCEEDED" || x.value("state", "") == "FAILED"; });
  EXPECT_EQ(ok["state"], "SUCCEEDED") << ok.dump(2);
}

// A real every-minute schedule: two runs, one per due minute, verified, and retention
// (keep_last 1, keep_days 0) deleting the older once the newer is verified. Up to ~2.5 minutes.
TEST_F(BackupsE2eTest, AnEveryMinuteScheduleRunsOncePerMinuteAndRetentionFollows) {
  TestDatabase source;
  Fill(source.url());
  HttpResponse created = Call("POST", "/v1/backup-targets",
                              {{"name", "minutely"}, {"database_url", source.url()}, {"schedule", "* * * * *"},
                               {"retention", {{"keep_last", 1}, {"keep_days", 0}}},
                               {"storage", {{"kind", "LOCAL"}, {"path", *dir_ + "/minutely"}}}});
  ASSERT_EQ(created.status, 200) << created.body;
  EXPECT_TRUE(json::parse(created.body)["status"].contains("next_run_at"));
  json list;
  int deleted = 0;
  int verified = 0;
  WaitUntil([&] {
    list = json::parse(Call("GET", "/v1/backups?target=minutely").body, nullptr, false);
    deleted = 0;
    verified = 0;
    for (const json& b : list["backups"]) {
      deleted += b["state"] == "DELETED";
      verified += b["state"] == "SUCCEEDED" && b["verification"].value("result", "") == "PASSED";
    }
    return deleted >= 1 && verified >= 1;
  }, 170s, 1s);
  ASSERT_GE(list["backups"].size(), 2u) << list.dump(2);
  std::set<std::string> minutes;
  for (const json& b : list["backups"]) {
    EXPECT_EQ(b["trigger"], "SCHEDULED");
    EXPECT_NE(b["state"], "FAILED") << b.dump(2);
    minutes.insert(b["created_at"].get<std::string>().substr(0, 16));  // to the minute
  }
  EXPECT_EQ(minutes.size(), list["backups"].size()) << "one run per due minute";
  int finished = 0;
  for (const json& b : list["backups"]) finished += b["state"] == "SUCCEEDED" || b["state"] == "DELETED";
  EXPECT_GE(deleted, 1) << list.dump(2);
  EXPECT_EQ(deleted, finished - 1) << "all but the newest verified backup are deleted: " << list.dump(2);
  // Stop the schedule so the rest of the suite is not disturbed.
  EXPECT_EQ(Call("PATCH", "/v1/backup-targets/minutely", {{"schedule", ""}}).status, 200);
}

TEST_F(BackupsE2eTest, AnOperatorCannotRedirectABackupsDataNorStoreOutsideTheRoot) {
  TestDatabase source;
  Fill(source.url());
  ASSERT_EQ(Call("POST", "/v1/backup-targets",
                 {{"name", "guarded"}, {"database_url", source.url()},
                  {"storage", {{"kind", "LOCAL"}, {"path", *dir_ + "/guarded"}}}}).status, 200);
  HttpResponse started = Call("POST", "/v1/backups", {{"target", "guarded"}});
  ASSERT_EQ(started.status, 200) << started.body;
  const std::string id = json::parse(started.body)["id"];
  json backup = WaitBackup(id, [](const json& b) { return b.value("state", "") == "SUCCEEDED" || b.value("state", "") == "FAILED"; });
  ASSERT_EQ(backup["state"], "SUCCEEDED") << backup.dump(2);
  const std::string server = backup.value("server", "");
  EXPECT_FALSE(server.empty()) << backup.dump(2);

  HttpResponse token = Call("POST", "/v1/tokens", {{"name", "operator-" + std::to_string(getpid())}, {"role", "OPERATOR"}});
  ASSERT_EQ(token.status, 200) << token.body;
  const std::string operator_token = json::parse(token.body).value("secret", "");

  // Pointing the target at a server of the operator's choosing is refused...
  HttpResponse moved = CallAs(operator_token, "PATCH", "/v1/backup-targets/guarded",
                              {{"database_url", "postgres://me:pw@collector.example:5432/loot"}});
  EXPECT_EQ(moved.status, 403) << moved.body;
  EXPECT_NE(moved.body.find("database_url"), std::string::npos) << moved.body;
  // ...and so is naming that server for a restore.
  HttpResponse redirected = CallAs(operator_token, "POST", "/v1/backups/" + id + "/restore",
                                   {{"target_database", "loot"}, {"confirm", id},
                                    {"server_url", "postgres://me:pw@collector.example:5432/postgres"}});
  EXPECT_EQ(redirected.status, 403) << redirected.body;
  EXPECT_NE(redirected.body.find("server_url"), std::string::npos) << redirected.body;

  // The operator's own restore goes to the server the backup came from.
  const std::string restored_db = "fd_guarded_" + std::to_string(getpid());
  HttpResponse restore = CallAs(operator_token, "POST", "/v1/backups/" + id + "/restore",
                                {{"target_database", restored_db}, {"confirm", id}});
  ASSERT_EQ(restore.status, 200) << restore.body;
  json restored = WaitBackup(id, [](const json& b) {
    std::string s = b["last_restore"].value("state", "");
    return s == "SUCCEEDED" || s == "FAILED";
  });
  EXPECT_EQ(restored["last_restore"]["state"], "SUCCEEDED") << restored.dump(2);
  EXPECT_EQ(restored["last_restore"].value("server", ""), server);
  {
    pqxx::connection admin(source.admin_url());
    pqxx::nontransaction n(admin);
    n.exec("DROP DATABASE IF EXISTS " + restored_db + " WITH (FORCE)");
  }

  // Storage outside FLIGHTDECK_BACKUP_ROOT, plainly or by "..", is refused.
  for (const std::string& path : {std::string("/var/tmp/fd-elsewhere"), *dir_ + "/../fd-elsewhere"}) {
    HttpResponse outside = Call("POST", "/v1/backup-targets",
                                {{"name", "outside"}, {"database_url", source.url()},
                                 {"storage", {{"kind", "LOCAL"}, {"path", path}}}});
    EXPECT_EQ(outside.status, 400) << path << ": " << outside.body;
    EXPECT_NE(outside.body.find("storage.path: must lie under FLIGHTDECK_BACKUP_ROOT"), std::string::npos)
        << outside.body;
  }
}

TEST_F(BackupsE2eTest, BadInputIsRefusedNamingTheField) {
  HttpResponse bad_cron = Call("POST", "/v1/backup-targets",
                               {{"name", "x"}, {"database_url", "postgres://u@h/db"}, {"schedule", "61 * * * *"},
                                {"storage", {{"kind", "LOCAL"}, {"path", "/tmp/x"}}}});
  EXPECT_EQ(bad_cron.status, 400);
  EXPECT_NE(bad_cron.body.find("schedule"), std::string::npos) << bad_cron.body;
  HttpResponse bad_url = Call("POST", "/v1/backup-targets",
                              {{"name", "x"}, {"database_url", "mysql://h/db"},
                               {"storage", {{"kind", "LOCAL"}, {"path", "/tmp/x"}}}});
  EXPECT_EQ(bad_url.status, 400);
  EXPECT_NE(bad_url.body.find("database_url"), std::string::npos);
  HttpResponse no_storage = Call("POST", "/v1/backup-targets", {{"name", "x"}, {"database_url", "postgres://u@h/db"}});
  EXPECT_EQ(no_storage.status, 400);
  EXPECT_NE(no_storage.body.find("storage"), std::string::npos);
  EXPECT_EQ(Call("POST", "/v1/backups", {{"target", "nope"}}).status, 404);

  // Every problem of a request in one answer.
  HttpResponse many = Call("POST", "/v1/backup-targets",
                           {{"name", "Bad Name"}, {"database_url", "mysql://h/db"}, {"schedule", "61 * * * *"}});
  EXPECT_EQ(many.status, 400);
  for (const char* field : {"name: ", "; database_url: ", "; schedule: ", "; storage.kind: ", "; storage.path: "}) {
    EXPECT_NE(many.body.find(field), std::string::npos) << field << " in " << many.body;
  }
  // The state filter in any case; a wrong one lists the valid states.
  EXPECT_EQ(Call("GET", "/v1/backups?state=succeeded").status, 200);
  HttpResponse bad_state = Call("GET", "/v1/backups?state=done");
  EXPECT_EQ(bad_state.status, 400);
  EXPECT_NE(bad_state.body.find("one of PENDING, RUNNING, SUCCEEDED, FAILED, DELETED"), std::string::npos)
      << bad_state.body;
}

}  // namespace
}  // namespace flightdeck::test
