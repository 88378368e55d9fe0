#include "services/backups/pg_dump_runner.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <pqxx/pqxx>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/db/db.h"
#include "common/text/utf8.h"
#include "services/backups/archive_rows.h"
#include "tests/support/test_database.h"

// SIGPIPE keeps its default disposition in this binary on purpose: RestoreDatabase has to
// survive a pg_restore that exits while it is being fed, whatever the process did with SIGPIPE.

namespace flightdeck::backups {
namespace {

using namespace std::chrono_literals;

void Exec(const std::string& url, const std::string& sql) {
  pqxx::connection conn(url);
  pqxx::nontransaction tx(conn);
  tx.exec(sql);
}

std::string Query(const std::string& url, const std::string& sql) {
  pqxx::connection conn(url);
  pqxx::nontransaction tx(conn);
  pqxx::row row = tx.exec1(sql);
  return row[0].is_null() ? "<null>" : row[0].as<std::string>();
}

// Several kinds of table, a few MB in all.
void FillSource(const std::string& url) {
  Exec(url, R"sql(
    CREATE TABLE accounts (id int PRIMARY KEY, name text NOT NULL, balance numeric(12, 2),
                           note text);
    INSERT INTO accounts
      SELECT i, 'account-' || i, (i * 7 % 100000) / 100.0, repeat(md5(i::text), 3)
      FROM generate_series(1, 40000) i;
    CREATE TABLE events (id bigserial PRIMARY KEY, payload text NOT NULL,
                         created_at timestamptz NOT NULL DEFAULT clock_timestamp());
    INSERT INTO events (payload) SELECT md5(i::text) FROM generate_series(1, 5000) i;
    CREATE TABLE measurements (taken_on date NOT NULL, sensor int, value double precision)
      PARTITION BY RANGE (taken_on);
    CREATE TABLE measurements_2024 PARTITION OF measurements
      FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
    CREATE TABLE measurements_2025 PARTITION OF measurements
      FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
    INSERT INTO measurements
      SELECT date '2024-01-01' + (i % 700), i % 50, i * 0.5 FROM generate_series(1, 30000) i;
    CREATE TABLE "Weird Name" ("Key" text PRIMARY KEY, "Value With Space" int);
    INSERT INTO "Weird Name" SELECT 'k' || i, i FROM generate_series(1, 321) i;
    CREATE SCHEMA audit;
    CREATE TABLE audit.empty_log (id int);
    -- What COPY text escapes, and rows that look like its end-of-data line.
    CREATE TABLE notes (body text);
    INSERT INTO notes VALUES (E'two\nlines'), ('\.'), (E'\\.\n\\.'), (''), (NULL), (E'tab\there');
    -- Inheritance: the parent's count(*) includes its child's rows.
    CREATE TABLE vehicles (id int, wheels int);
    CREATE TABLE trucks (load_kg int) INHERITS (vehicles);
    INSERT INTO vehicles SELECT i, 4 FROM generate_series(1, 10) i;
    INSERT INTO trucks SELECT i, 6, i * 100 FROM generate_series(1, 3) i;
    SELECT lo_from_bytea(0, convert_to(E'a large object\nwith lines\n\\.\n', 'UTF8'));
  )sql");
}

// The password of a postgres://user:password@host URL ("" when it has none).
std::string PasswordOf(const std::string& url) {
  size_t start = url.find("://") + 3;
  size_t at = url.find('@', start);
  size_t colon = url.find(':', start);
  if (at == std::string::npos || colon == std::string::npos || colon > at) return "";
  return url.substr(colon + 1, at - colon - 1);
}

std::string WithPassword(const std::string& url, const std::string& password) {
  size_t start = url.find("://") + 3;
  size_t at = url.find('@', start);
  size_t colon = url.find(':', start);
  return url.substr(0, colon) + ":" + password + url.substr(at);
}

struct MemorySink {
  std::string data;
  size_t pieces = 0;
  size_t largest_piece = 0;

  bool Append(const uint8_t* bytes, size_t size) {
    data.append(reinterpret_cast<const char*>(bytes), size);
    ++pieces;
    largest_piece = std::max(largest_piece, size);
    return true;
  }
};

// FillSource's tables in `source`, dumped into `sink`.
void DumpFilledSource(const test::TestDatabase& source, MemorySink* sink) {
  FillSource(source.url());
  DumpManifest manifest;
  grpc::Status dumped = DumpDatabase(
      source.url(), [sink](const uint8_t* d, size_t n) { return sink->Append(d, n); }, &manifest);
  ASSERT_TRUE(dumped.ok()) << dumped.error_message();
}

// Feeds `data` in pieces of `step` bytes; fails (false) once `fail_after` bytes were given.
ByteSource FromMemory(const std::string& data, size_t step = 10000,
                      size_t fail_after = std::string::npos) {
  return [&data, step, fail_after](const ByteSink& write) {
    for (size_t pos = 0; pos < data.size(); pos += step) {
      if (pos >= fail_after) return false;
      const auto* piece = reinterpret_cast<const uint8_t*>(data.data()) + pos;
      if (!write(piece, std::min(step, data.size() - pos))) return true;  // pg_restore stopped
    }
    return true;
  };
}

// A /proc file's text, or "" if its process is gone.
std::string ReadWhileItExists(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  std::string text;
  char buffer[512];
  ssize_t got;
  while ((got = read(fd, buffer, sizeof buffer)) > 0) text.append(buffer, static_cast<size_t>(got));
  close(fd);
  return got < 0 ? "" : text;
}

// Our live child processes (zombies included: an unreaped child was left behind too).
std::vector<pid_t> ChildProcesses() {
  std::vector<pid_t> children;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return children;
  while (dirent* entry = readdir(proc)) {
    pid_t pid = static_cast<pid_t>(std::atoi(entry->d_name));
    if (pid <= 0) continue;
    // Read with read(2), not a filebuf: a process that exits between the open and the read
    // makes the read fail with ESRCH, which libstdc++'s filebuf throws as an exception.
    std::string text = ReadWhileItExists("/proc/" + std::string(entry->d_name) + "/stat");
    size_t paren = text.rfind(')');
    if (paren == std::string::npos) continue;
    std::istringstream fields(text.substr(paren + 2));
    std::string state;
    pid_t ppid = 0;
    fields >> state >> ppid;
    if (ppid == getpid()) children.push_back(pid);
  }
  closedir(proc);
  return children;
}

// Keeps inserting into events, one committed row at a time, until stopped.
class Inserter {
 public:
  explicit Inserter(const std::string& url) : thread_([this, url] { Run(url); }) {}
  ~Inserter() { Stop(); }

  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  // True once `more` rows beyond those committed at the call have been committed.
  bool WaitForMore(long long more, std::chrono::seconds timeout) {
    std::unique_lock<std::mutex> lock(mutex_);
    long long target = committed_ + more;
    return changed_.wait_for(lock, timeout, [&] {
      return committed_ >= target || !error_.empty();
    }) && error_.empty();
  }
  std::string error() {
    std::lock_guard<std::mutex> lock(mutex_);
    return error_;
  }

 private:
  void Run(const std::string& url) {
    try {
      pqxx::connection conn(url);
      while (!stop_) {
        pqxx::nontransaction tx(conn);
        tx.exec("INSERT INTO events (payload) VALUES ('live ' || clock_timestamp())");
        std::lock_guard<std::mutex> lock(mutex_);
        ++committed_;
        changed_.notify_all();
      }
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> lock(mutex_);
      error_ = e.what();
      changed_.notify_all();
    }
  }

  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::condition_variable changed_;
  long long committed_ = 0;
  std::string error_;
  std::thread thread_;  // last: it starts once the members it uses exist
};

std::string Digest(const std::string& url, const std::string& table, const std::string& order,
                   const std::string& where = "true") {
  return Query(url, "SELECT md5(string_agg(t::text, '|' ORDER BY " + order + ")) FROM " + table +
                        " t WHERE " + where);
}

TEST(DumpDatabaseTest, ManifestCountsAreExactlyWhatTheRestoreHoldsWhileWritesGoOn) {
  test::TestDatabase source;
  FillSource(source.url());
  Inserter inserter(source.url());
  ASSERT_TRUE(inserter.WaitForMore(10, 10s)) << "inserter did not start: " << inserter.error();

  MemorySink sink;
  bool rows_committed_during_dump = false;
  DumpManifest manifest;
  grpc::Status dumped = DumpDatabase(
      source.url(),
      [&](const uint8_t* data, size_t size) {
        // The snapshot exists before pg_dump writes anything: rows committed now are after it.
        if (sink.pieces == 0) rows_committed_during_dump = inserter.WaitForMore(25, 10s);
        return sink.Append(data, size);
      },
      &manifest);
  ASSERT_TRUE(dumped.ok()) << dumped.error_message();
  EXPECT_TRUE(rows_committed_during_dump) << inserter.error();
  inserter.Stop();

  EXPECT_EQ(manifest.row_counts.at("public.accounts"), 40000);
  EXPECT_EQ(manifest.row_counts.at("public.measurements"), 30000);
  EXPECT_EQ(manifest.row_counts.at("public.measurements_2024") +
                manifest.row_counts.at("public.measurements_2025"),
            30000);
  EXPECT_EQ(manifest.row_counts.at("public.Weird Name"), 321);
  EXPECT_EQ(manifest.row_counts.at("audit.empty_log"), 0);
  EXPECT_EQ(manifest.row_counts.at("public.notes"), 6);
  EXPECT_EQ(manifest.row_counts.at("public.vehicles"), 13);
  EXPECT_EQ(manifest.row_counts.at("public.trucks"), 3);
  EXPECT_EQ(manifest.row_counts.size(), 10u);
  EXPECT_TRUE(manifest.archive_unread.empty()) << manifest.archive_unread;
  EXPECT_TRUE(manifest.counted_by_query.empty()) << manifest.counted_by_query.front();
  const long long events_in_snapshot = manifest.row_counts.at("public.events");
  EXPECT_GE(events_in_snapshot, 5010);
  EXPECT_GT(std::stoll(Query(source.url(), "SELECT count(*) FROM events")), events_in_snapshot)
      << "rows inserted during the dump should be in the source but not in the snapshot";

  EXPECT_EQ(manifest.bytes_dumped, sink.data.size());
  EXPECT_GT(sink.data.size(), 3u * 1024 * 1024);
  EXPECT_EQ(sink.data.compare(0, 5, "PGDMP"), 0) << "not a custom-format archive";
  EXPECT_LE(sink.largest_piece, 64u * 1024);
  EXPECT_EQ(manifest.server_version.substr(0, 2), "15");
  EXPECT_FALSE(manifest.snapshot_id.empty());
  auto age = std::chrono::system_clock::now() - manifest.snapshot_time;
  EXPECT_TRUE(age >= -5s && age < 5min)
      << "snapshot time is off by " << std::chrono::duration_cast<std::chrono::seconds>(age).count()
      << " s";

  test::TestDatabase restored;
  grpc::Status restore = RestoreDatabase(restored.url(), FromMemory(sink.data));
  ASSERT_TRUE(restore.ok()) << restore.error_message();
  std::map<std::string, long long> counts;
  grpc::Status counted = CountRows(restored.url(), &counts);
  ASSERT_TRUE(counted.ok()) << counted.error_message();
  EXPECT_EQ(counts, manifest.row_counts);

  // Tables nobody writes to: identical contents.
  EXPECT_EQ(Digest(restored.url(), "accounts", "id"), Digest(source.url(), "accounts", "id"));
  EXPECT_EQ(Digest(restored.url(), "measurements", "taken_on, sensor, value"),
            Digest(source.url(), "measurements", "taken_on, sensor, value"));
  EXPECT_EQ(Digest(restored.url(), "\"Weird Name\"", "\"Key\""),
            Digest(source.url(), "\"Weird Name\"", "\"Key\""));
  // events: one writer commits in id order, so the snapshot held exactly the ids up to its
  // largest, and nothing after.
  std::string last_id = Query(restored.url(), "SELECT max(id) FROM events");
  EXPECT_EQ(Digest(restored.url(), "events", "id"),
            Digest(source.url(), "events", "id", "id <= " + last_id));
}

TEST(DumpDatabaseTest, WrongPasswordFailsWithTheReasonAndNeverThePassword) {
  test::TestDatabase source;
  const std::string real_password = PasswordOf(source.url());
  ASSERT_FALSE(real_password.empty())
      << "DATABASE_URL must carry a password (scripts/test starts a scram-sha-256 server)";
  const std::string wrong = "Wr0ng-Secret-6a1f";
  const std::string url = WithPassword(source.url(), wrong);

  bool sink_called = false;
  DumpManifest manifest;
  grpc::Status dumped = DumpDatabase(
      url, [&](const uint8_t*, size_t) { return sink_called = true; }, &manifest);
  ASSERT_FALSE(dumped.ok());
  EXPECT_FALSE(sink_called);
  EXPECT_NE(dumped.error_message().find("password authentication failed"), std::string::npos)
      << dumped.error_message();
  EXPECT_EQ(dumped.error_message().find(wrong), std::string::npos) << dumped.error_message();
  EXPECT_EQ(dumped.error_message().find(real_password), std::string::npos);

  // pg_restore reads the archive's header before it connects: give it a real one.
  Exec(source.url(), "CREATE TABLE t AS SELECT generate_series(1, 10) AS n");
  MemorySink sink;
  ASSERT_TRUE(
      DumpDatabase(
          source.url(), [&](const uint8_t* d, size_t n) { return sink.Append(d, n); }, &manifest)
          .ok());
  test::TestDatabase target;
  grpc::Status restore = RestoreDatabase(WithPassword(target.url(), wrong), FromMemory(sink.data));
  ASSERT_FALSE(restore.ok());
  EXPECT_NE(restore.error_message().find("password authentication failed"), std::string::npos)
      << restore.error_message();
  EXPECT_EQ(restore.error_message().find(wrong), std::string::npos) << restore.error_message();

  std::map<std::string, long long> counts;
  grpc::Status counted = CountRows(url, &counts);
  ASSERT_FALSE(counted.ok());
  EXPECT_EQ(counted.error_message().find(wrong), std::string::npos) << counted.error_message();
}

class FakeTool {
 public:
  explicit FakeTool(const std::string& script) {
    char dir_template[] = "/tmp/fd_fake_pg_dump.XXXXXX";
    const char* made = mkdtemp(dir_template);
    if (made == nullptr) throw std::runtime_error("mkdtemp failed in /tmp");
    dir_ = made;
    path_ = dir_ + "/pg_dump";
    std::string text = script;
    for (size_t pos; (pos = text.find("$DIR")) != std::string::npos;) text.replace(pos, 4, dir_);
    std::ofstream(path_) << text;
    chmod(path_.c_str(), 0700);
  }
  ~FakeTool() {
    for (const char* name : {"/pg_dump", "/args", "/env"}) unlink((dir_ + name).c_str());
    rmdir(dir_.c_str());
  }
  const std::string& path() const { return path_; }
  std::string Read(const char* name) const {
    std::ifstream in(dir_ + "/" + name);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }

 private:
  std::string dir_;
  std::string path_;
};

// A login role whose password needs percent-encoding in a URL; dropped with what it owns.
class EncodedPasswordRole {
 public:
  explicit EncodedPasswordRole(const test::TestDatabase& db)
      : db_(db), name_("fd_test_role_" + std::to_string(std::random_device()())) {
    Exec(db_.admin_url(), "CREATE ROLE " + name_ + " LOGIN PASSWORD 'p@ss:w/rd?&=%A'");
    Exec(db_.url(), "GRANT SELECT ON ALL TABLES IN SCHEMA public TO " + name_);
  }
  ~EncodedPasswordRole() {
    try {
      Exec(db_.url(), "DROP OWNED BY " + name_);
      Exec(db_.admin_url(), "DROP ROLE " + name_);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "cannot drop role " << name_ << ": " << e.what();
    }
  }
  const char* password() const { return "p@ss:w/rd?&=%A"; }
  std::string url() const {
    const std::string& admin = db_.url();
    size_t start = admin.find("://") + 3;
    return admin.substr(0, start) + name_ + ":p%40ss%3Aw%2Frd%3F%26%3D%25A" +
           admin.substr(admin.find('@', start));
  }

 private:
  const test::TestDatabase& db_;
  std::string name_;
};

TEST(DumpDatabaseTest, PgDumpGetsThePasswordThroughItsEnvironmentNeverItsArguments) {
  test::TestDatabase source;
  Exec(source.url(), "CREATE TABLE t AS SELECT generate_series(1, 10) AS n");
  EncodedPasswordRole role(source);
  FakeTool wrapper(
      "#!/bin/sh\nprintf '%s\\n' \"$@\" > $DIR/args\nprintf '%s' \"$PGPASSWORD\" > $DIR/env\n"
      "exec /usr/lib/postgresql/15/bin/pg_dump \"$@\"\n");

  MemorySink sink;
  DumpManifest manifest;
  grpc::Status dumped = DumpDatabase(
      role.url(), [&](const uint8_t* d, size_t n) { return sink.Append(d, n); }, &manifest,
      wrapper.path());
  ASSERT_TRUE(dumped.ok()) << dumped.error_message();
  std::string args = wrapper.Read("args");
  EXPECT_NE(args.find("--snapshot=" + manifest.snapshot_id + "\n"), std::string::npos) << args;
  EXPECT_NE(args.find("-Fc\n-Z0\n"), std::string::npos) << args;
  EXPECT_NE(args.find(source.name()), std::string::npos) << args;
  EXPECT_EQ(args.find("p%40ss"), std::string::npos) << "password on pg_dump's command line";
  EXPECT_EQ(args.find(role.password()), std::string::npos) << "password on pg_dump's command line";
  EXPECT_EQ(wrapper.Read("env"), role.password());
  EXPECT_EQ(manifest.row_counts.at("public.t"), 10);
  EXPECT_GT(sink.data.size(), 0u);
}

TEST(DumpDatabaseTest, TheArchiveCountsAlikeInPiecesOfAnySizeAndNotWhenCutShort) {
  test::TestDatabase source;
  MemorySink sink;
  ASSERT_NO_FATAL_FAILURE(DumpFilledSource(source, &sink));
  const uint32_t accounts =
      static_cast<uint32_t>(std::stoul(Query(source.url(), "SELECT 'accounts'::regclass::oid")));

  std::map<uint32_t, long long> whole;
  for (size_t piece : {size_t{65536}, size_t{1}, size_t{13}, size_t{4099}}) {
    ArchiveRowCounter counter;
    for (size_t at = 0; at < sink.data.size(); at += piece) {
      const size_t n = std::min(piece, sink.data.size() - at);
      counter.Feed(reinterpret_cast<const uint8_t*>(sink.data.data() + at), n);
    }
    ASSERT_TRUE(counter.Finish()) << "pieces of " << piece << ": " << counter.error();
    if (whole.empty()) whole = counter.rows();
    EXPECT_EQ(counter.rows(), whole) << "pieces of " << piece;
  }
  EXPECT_EQ(whole.at(accounts), 40000);
  EXPECT_EQ(whole.size(), 9u) << "every ordinary table has its data block";

  ArchiveRowCounter cut;
  cut.Feed(reinterpret_cast<const uint8_t*>(sink.data.data()), sink.data.size() - 1);
  EXPECT_FALSE(cut.Finish());
}

TEST(DumpDatabaseTest, WhatTheArchiveCannotCountIsCountedWithSqlInTheSnapshot) {
  test::TestDatabase source;
  Exec(source.url(), R"sql(
    CREATE TABLE plain AS SELECT generate_series(1, 25) AS n;
    CREATE EXTENSION file_fdw;
    CREATE SERVER files FOREIGN DATA WRAPPER file_fdw;
    CREATE TABLE readings (v int);
    INSERT INTO readings SELECT generate_series(1, 5);
    -- A foreign child: count(*) of the parent reads it, pg_dump dumps no rows of it.
    CREATE FOREIGN TABLE remote_readings () INHERITS (readings)
      SERVER files OPTIONS (program 'printf "7\n8\n"');
  )sql");
  const std::map<std::string, long long> in_snapshot = {{"public.plain", 25}, {"public.readings", 7}};
  auto discard = [](const uint8_t*, size_t) { return true; };
  DumpManifest manifest;
  grpc::Status dumped = DumpDatabase(source.url(), discard, &manifest);
  ASSERT_TRUE(dumped.ok()) << dumped.error_message();
  EXPECT_TRUE(manifest.archive_unread.empty()) << manifest.archive_unread;
  EXPECT_EQ(manifest.row_counts, in_snapshot);
  EXPECT_EQ(manifest.counted_by_query, std::vector<std::string>{"public.readings"});

  // An archive the service cannot read (compressed by a pg_dump that adds -Z1): every count by SQL.
  FakeTool compressing("#!/bin/sh\nexec /usr/lib/postgresql/15/bin/pg_dump \"$@\" -Z1\n");
  dumped = DumpDatabase(source.url(), discard, &manifest, compressing.path());
  ASSERT_TRUE(dumped.ok()) << dumped.error_message();
  EXPECT_NE(manifest.archive_unread.find("compressed"), std::string::npos) << manifest.archive_unread;
  EXPECT_EQ(manifest.row_counts, in_snapshot);
  EXPECT_EQ(manifest.counted_by_query, (std::vector<std::string>{"public.plain", "public.readings"}));
}

// Sets variables for one test and puts the old values back.
class ScopedEnvironment {
 public:
  void Set(const std::string& name, const std::string& value) {
    const char* old = std::getenv(name.c_str());
    saved_.emplace_back(name, old == nullptr ? std::nullopt : std::optional<std::string>(old));
    setenv(name.c_str(), value.c_str(), 1);
  }
  ~ScopedEnvironment() {
    for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
      if (it->second) {
        setenv(it->first.c_str(), it->second->c_str(), 1);
      } else {
        unsetenv(it->first.c_str());
      }
    }
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

// The service's own secrets and settings, as a deployment sets them.
void SetServiceSecrets(ScopedEnvironment* env) {
  env->Set("FLIGHTDECK_MASTER_KEY", "k1:c2VjcmV0LW1hc3Rlci1rZXktbm90LWZvci1jaGlsZHJlbg==");
  env->Set("DATABASE_URL", "postgres://flightdeck:control-plane-password@db.internal/flightdeck");
  env->Set("REDIS_URL", "redis://:redis-password@cache.internal:6379");
  env->Set("FLIGHTDECK_BACKUP_ROOT", "/var/lib/flightdeck/backups");
  env->Set("PGHOST", "elsewhere.example");
  env->Set("LC_ALL", "C.UTF-8");
  env->Set("TZ", "UTC");
}

void ExpectOnlyToolVariables(const std::string& env, const std::string& password) {
  EXPECT_NE(env.find("PGPASSWORD=" + password + "\n"), std::string::npos) << env;
  EXPECT_NE(env.find("PATH="), std::string::npos) << env;
  EXPECT_NE(env.find("LC_ALL=C.UTF-8\n"), std::string::npos) << env;
  EXPECT_NE(env.find("TZ=UTC\n"), std::string::npos) << env;
  for (const char* secret : {"FLIGHTDECK_", "DATABASE_URL", "REDIS_URL", "PGHOST", "control-plane-password",
                             "redis-password", "c2VjcmV0"}) {
    EXPECT_EQ(env.find(secret), std::string::npos) << secret << " reached the tool:\n" << env;
  }
}

TEST(DumpDatabaseTest, PgDumpSeesNoneOfTheServicesSecretsOrSettings) {
  test::TestDatabase source;
  Exec(source.url(), "CREATE TABLE t AS SELECT generate_series(1, 3) AS n");
  const std::string password = PasswordOf(source.url());
  ASSERT_FALSE(password.empty()) << "DATABASE_URL must carry a password";
  ScopedEnvironment env;
  SetServiceSecrets(&env);
  FakeTool wrapper("#!/bin/sh\nenv > $DIR/env\nexec /usr/lib/postgresql/15/bin/pg_dump \"$@\"\n");

  MemorySink sink;
  DumpManifest manifest;
  grpc::Status dumped = DumpDatabase(
      source.url(), [&](const uint8_t* d, size_t n) { return sink.Append(d, n); }, &manifest, wrapper.path());
  ASSERT_TRUE(dumped.ok()) << dumped.error_message();
  ExpectOnlyToolVariables(wrapper.Read("env"), password);
}

TEST(RestoreDatabaseTest, PgRestoreSeesNoneOfTheServicesSecretsOrSettings) {
  test::TestDatabase target;
  const std::string password = PasswordOf(target.url());
  ASSERT_FALSE(password.empty()) << "DATABASE_URL must carry a password";
  ScopedEnvironment env;
  SetServiceSecrets(&env);
  FakeTool fake("#!/bin/sh\nenv > $DIR/env\ncat > /dev/null\n");

  grpc::Status restored = RestoreDatabase(target.url(), FromMemory("not a dump, the fake reads it anyway"),
                                          fake.path());
  ASSERT_TRUE(restored.ok()) << restored.error_message();
  ExpectOnlyToolVariables(fake.Read("env"), password);
}

TEST(DumpDatabaseTest, PgDumpFailureReportsItsStderrWithThePasswordRemoved) {
  test::TestDatabase source;
  const std::string password = PasswordOf(source.url());
  ASSERT_FALSE(password.empty()) << "DATABASE_URL must carry a password";
  // Many warnings, then the error: the message keeps the end, bounded.
  FakeTool failing(
      "#!/bin/sh\ni=0\nwhile [ $i -lt 3000 ]; do echo \"pg_dump: warning: noise $i\"; "
      "i=$((i+1)); done >&2\n"
      "echo \"pg_dump: error: simulated failure, password $PGPASSWORD\" >&2\nexit 3\n");

  DumpManifest manifest;
  grpc::Status dumped = DumpDatabase(
      source.url(), [](const uint8_t*, size_t) { return true; }, &manifest, failing.path());
  ASSERT_FALSE(dumped.ok());
  EXPECT_NE(dumped.error_message().find("exited with status 3"), std::string::npos)
      << dumped.error_message();
  EXPECT_NE(dumped.error_message().find("simulated failure"), std::string::npos)
      << dumped.error_message();
  EXPECT_EQ(dumped.error_message().find(password), std::string::npos) << dumped.error_message();
  EXPECT_LT(dumped.error_message().size(), 9000u);
  EXPECT_NE(dumped.error_message().find("bytes omitted"), std::string::npos);

  // Whatever bytes the tool printed (a name from a SQL_ASCII database, a NUL), the message is
  // text a proto string and a text column take.
  FakeTool raw("#!/bin/sh\nprintf 'pg_dump: error: table \"caf\\351\\000\" is locked' >&2\nexit 1\n");
  grpc::Status raw_failure = DumpDatabase(
      source.url(), [](const uint8_t*, size_t) { return true; }, &manifest, raw.path());
  ASSERT_FALSE(raw_failure.ok());
  EXPECT_TRUE(text::IsUtf8(raw_failure.error_message())) << raw_failure.error_message();
  EXPECT_NE(raw_failure.error_message().find("table \"caf\xEF\xBF\xBD\xEF\xBF\xBD\" is locked"), std::string::npos)
      << raw_failure.error_message();

  grpc::Status missing = DumpDatabase(
      source.url(), [](const uint8_t*, size_t) { return true; }, &manifest, "/nonexistent/pg_dump");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error_message().find("/nonexistent/pg_dump"), std::string::npos);
  EXPECT_NE(missing.error_message().find("No such file"), std::string::npos)
      << missing.error_message();
  EXPECT_TRUE(ChildProcesses().empty());
}

TEST(DumpDatabaseTest, FailingSinkStopsPgDumpAndLeavesNothingRunning) {
  test::TestDatabase source;
  FillSource(source.url());
  size_t accepted = 0;
  DumpManifest manifest;
  grpc::Status dumped = DumpDatabase(
      source.url(),
      [&](const uint8_t*, size_t size) {
        if (accepted >= 3 * 64 * 1024) return false;  // a full disk, say
        accepted += size;
        return true;
      },
      &manifest);
  ASSERT_FALSE(dumped.ok());
  EXPECT_NE(dumped.error_message().find("pg_dump was stopped"), std::string::npos)
      << dumped.error_message();
  EXPECT_EQ(manifest.bytes_dumped, accepted);
  EXPECT_TRUE(ChildProcesses().empty()) << "pg_dump still running or unreaped";

  // Its session ends too (the server notices the closed socket), so no locks stay held.
  std::string sessions;
  auto deadline = std::chrono::steady_clock::now() + 15s;
  while (true) {
    sessions = Query(source.admin_url(), "SELECT count(*) FROM pg_stat_activity WHERE datname = '" +
                                             source.name() + "' AND application_name = 'pg_dump'");
    if (sessions == "0" || std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(sessions, "0") << "pg_dump sessions still on the server";
}

TEST(RestoreDatabaseTest, ConflictingObjectsFailWithPgRestoresMessage) {
  test::TestDatabase source;
  MemorySink sink;
  ASSERT_NO_FATAL_FAILURE(DumpFilledSource(source, &sink));

  test::TestDatabase target;
  Exec(target.url(), "CREATE TABLE accounts (something_else int)");
  grpc::Status restore = RestoreDatabase(target.url(), FromMemory(sink.data));
  ASSERT_FALSE(restore.ok());
  EXPECT_NE(restore.error_message().find("pg_restore"), std::string::npos)
      << restore.error_message();
  EXPECT_NE(restore.error_message().find("\"accounts\" already exists"), std::string::npos)
      << restore.error_message();
  EXPECT_TRUE(ChildProcesses().empty());

  // A truncated archive fails instead of restoring part of the data quietly.
  test::TestDatabase truncated_target;
  std::string half = sink.data.substr(0, sink.data.size() / 2);
  grpc::Status truncated = RestoreDatabase(truncated_target.url(), FromMemory(half));
  EXPECT_FALSE(truncated.ok());

  // A source that fails stops pg_restore.
  test::TestDatabase failing_target;
  grpc::Status failed = RestoreDatabase(failing_target.url(), FromMemory(sink.data, 10000, 50000));
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error_message().find("pg_restore was stopped"), std::string::npos)
      << failed.error_message();
  EXPECT_TRUE(ChildProcesses().empty());
}

std::string UniqueName(const std::string& prefix) {
  std::random_device device;
  return prefix + std::to_string(device()) + std::to_string(device() % 1000);
}

TEST(DatabaseAdminTest, CreateDropAndExistsWorkAndRefuseBadNames) {
  test::TestDatabase anchor;  // supplies DATABASE_URL, the admin connection
  const std::string& server = anchor.admin_url();
  const std::string name = UniqueName("fd_test_admin_");
  struct DropAtEnd {
    const std::string& server;
    const std::string& name;
    ~DropAtEnd() { DropDatabase(server, name); }  // NOT_FOUND when the test got that far
  } drop_at_end{server, name};

  bool exists = true;
  ASSERT_TRUE(DatabaseExists(server, name, &exists).ok());
  EXPECT_FALSE(exists);
  grpc::Status created = CreateDatabase(server, name);
  ASSERT_TRUE(created.ok()) << created.error_message();
  ASSERT_TRUE(DatabaseExists(server, name, &exists).ok());
  EXPECT_TRUE(exists);
  EXPECT_EQ(CreateDatabase(server, name).error_code(), grpc::StatusCode::ALREADY_EXISTS);

  // Usable, empty, and droppable while someone is connected to it, even through a URL that
  // names it.
  const std::string url = db::WithDatabase(server, name);
  std::map<std::string, long long> counts{{"stale", 1}};
  ASSERT_TRUE(CountRows(url, &counts).ok());
  EXPECT_TRUE(counts.empty());
  pqxx::connection connected(url);
  grpc::Status dropped = DropDatabase(url, name);
  ASSERT_TRUE(dropped.ok()) << dropped.error_message();
  ASSERT_TRUE(DatabaseExists(server, name, &exists).ok());
  EXPECT_FALSE(exists);
  EXPECT_EQ(DropDatabase(server, name).error_code(), grpc::StatusCode::NOT_FOUND);

  for (const std::string& bad :
       {std::string(), std::string("Upper"), std::string("a b"), std::string("x; DROP DATABASE y"),
        std::string("quote\"d"), std::string(64, 'a')}) {
    EXPECT_EQ(CreateDatabase(server, bad).error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
    EXPECT_EQ(DropDatabase(server, bad).error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
    EXPECT_EQ(DatabaseExists(server, bad, &exists).error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << bad;
  }
  EXPECT_EQ(DropDatabase(server, "postgres").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_TRUE(DatabaseExists(server, "postgres", &exists).ok());
  EXPECT_TRUE(exists);
  ASSERT_TRUE(DatabaseExists(server, std::string(63, 'z'), &exists).ok());
  EXPECT_FALSE(exists);
}

}  // namespace
}  // namespace flightdeck::backups
