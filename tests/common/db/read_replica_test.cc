// Pool::Read against a real streaming hot standby of the test PostgreSQL, started by
// tests/support/pg_standby (pg_basebackup -R) on a free loopback port and removed afterwards.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <string>
#include <thread>

#include "common/db/db.h"
#include "common/metrics/metrics.h"
#include "tests/support/test_database.h"

namespace flightdeck::db {
namespace {

using namespace std::chrono_literals;

int FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

bool Standby(const std::string& args) {
  const std::string command = std::string(FD_SOURCE_DIR) + "/tests/support/pg_standby " + args;
  return std::system(command.c_str()) == 0;
}

// The same URL on another port: the standby serves every database of the primary.
std::string OnPort(const std::string& url, int port) {
  return std::regex_replace(url, std::regex("@([^:/@]+):[0-9]+/"), "@$1:" + std::to_string(port) + "/");
}

class ReadReplicaTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = (std::filesystem::temp_directory_path() /
            ("fd-standby-" + std::to_string(getpid())))
               .string();
    port_ = FreeLoopbackPort();
    started_ = port_ > 0 && Standby("start " + dir_ + " " + std::to_string(port_));
  }
  static void TearDownTestSuite() { Standby("remove " + dir_); }

  void SetUp() override {
    ASSERT_TRUE(started_) << "the standby did not start (see the output above)";
    // A test that stopped the standby or paused its replay leaves it running and replaying.
    ASSERT_TRUE(Standby("start " + dir_ + " " + std::to_string(port_)));
    options_.url = db_.url();
    options_.read_url = OnPort(db_.url(), port_);
    options_.name = "replica_test";
    options_.size = 2;
    options_.acquire_timeout = 2s;
    options_.read_recheck = 0ms;  // measure the lag before every read
  }

  // Runs a read through pool.Read: whether a standby answered it, and the rows of table t.
  struct Answer {
    grpc::Status status;
    bool from_standby = false;
    long long rows = -1;
  };
  static Answer ReadRows(Pool& pool) {
    Answer answer;
    answer.status = pool.Read("count rows", [&](pqxx::transaction_base& tx) {
      pqxx::row row = tx.exec1("SELECT pg_is_in_recovery(), (SELECT count(*) FROM t)");
      answer.from_standby = row[0].as<bool>();
      answer.rows = row[1].as<long long>();
      return grpc::Status::OK;
    });
    return answer;
  }

  static grpc::Status Write(Pool& pool, const std::string& sql) {
    return pool.Transact("write", [&](pqxx::transaction_base& tx) {
      tx.exec(sql);
      return grpc::Status::OK;
    });
  }

  // Bounded: waits until the standby has replayed `rows` rows and answers reads.
  static bool WaitForStandby(Pool& pool, long long rows) {
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < deadline) {
      Answer a = ReadRows(pool);
      if (a.status.ok() && a.from_standby && a.rows == rows) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

  double Fallbacks(const std::string& reason) {
    return registry_.AddCounter("flightdeck_db_read_fallbacks_total", "", {"pool", "reason"})
        .With({"replica_test", reason})
        .Value();
  }
  double Lag() {
    return registry_.AddGauge("flightdeck_db_replica_lag_seconds", "", {"pool"})
        .With({"replica_test"})
        .Value();
  }

  static inline std::string dir_;
  static inline int port_ = 0;
  static inline bool started_ = false;
  test::TestDatabase db_;
  metrics::Registry registry_;
  PoolOptions options_;
};

TEST_F(ReadReplicaTest, ReadsFromTheStandbyOnceARowIsReplicated) {
  Pool pool(options_, &registry_);
  ASSERT_TRUE(pool.has_read_replica());
  ASSERT_TRUE(Write(pool, "CREATE TABLE t (v text)").ok());
  ASSERT_TRUE(Write(pool, "INSERT INTO t VALUES ('one')").ok());

  ASSERT_TRUE(WaitForStandby(pool, 1)) << "the standby never served the replicated row";
  EXPECT_GE(Lag(), 0);
  EXPECT_LE(Lag(), 5);
  // A read-only transaction on the standby: a write inside Read fails rather than diverging.
  grpc::Status write_on_read = pool.Read("write in a read", [](pqxx::transaction_base& tx) {
    tx.exec("INSERT INTO t VALUES ('two')");
    return grpc::Status::OK;
  });
  EXPECT_EQ(write_on_read.error_code(), grpc::StatusCode::INTERNAL) << write_on_read.error_message();
}

TEST_F(ReadReplicaTest, FallsBackToThePrimaryWhenTheStandbyStops) {
  Pool pool(options_, &registry_);
  ASSERT_TRUE(Write(pool, "CREATE TABLE t (v text)").ok());
  ASSERT_TRUE(Write(pool, "INSERT INTO t VALUES ('one')").ok());
  ASSERT_TRUE(WaitForStandby(pool, 1));
  const double before = Fallbacks("unreachable");

  ASSERT_TRUE(Standby("stop " + dir_));
  Answer a = ReadRows(pool);
  ASSERT_TRUE(a.status.ok()) << a.status.error_message();
  EXPECT_FALSE(a.from_standby);
  EXPECT_EQ(a.rows, 1);
  EXPECT_GT(Fallbacks("unreachable"), before);
  EXPECT_EQ(Fallbacks("lag"), 0);
}

TEST_F(ReadReplicaTest, FallsBackToThePrimaryWhileReplayLagsPastTheBound) {
  options_.read_max_lag = 300ms;
  Pool pool(options_, &registry_);
  ASSERT_TRUE(Write(pool, "CREATE TABLE t (v text)").ok());
  ASSERT_TRUE(Write(pool, "INSERT INTO t VALUES ('one')").ok());
  ASSERT_TRUE(WaitForStandby(pool, 1));

  pqxx::connection standby(options_.read_url);
  pqxx::nontransaction(standby).exec("SELECT pg_wal_replay_pause()");
  ASSERT_TRUE(Write(pool, "INSERT INTO t VALUES ('two')").ok());

  // The standby receives the insert but does not replay it: its lag grows past 300ms.
  Answer a;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  do {
    a = ReadRows(pool);
    if (a.status.ok() && !a.from_standby) break;
    std::this_thread::sleep_for(50ms);
  } while (std::chrono::steady_clock::now() < deadline);
  pqxx::nontransaction(standby).exec("SELECT pg_wal_replay_resume()");

  ASSERT_TRUE(a.status.ok()) << a.status.error_message();
  EXPECT_FALSE(a.from_standby) << "reads stayed on a standby lagging past the bound";
  EXPECT_EQ(a.rows, 2);  // the primary has the row the standby had not replayed
  EXPECT_GE(Fallbacks("lag"), 1);
  EXPECT_GT(Lag(), 0.3);

  // Replay resumed: the standby catches up and serves reads again.
  EXPECT_TRUE(WaitForStandby(pool, 2));
}

// A read URL that names the primary by mistake: reads still go there, and still cannot write.
TEST(ReadWithoutReplicaTest, AReadUrlNamingThePrimaryStillCannotBeWrittenThrough) {
  test::TestDatabase db;
  PoolOptions options;
  options.url = db.url();
  options.read_url = db.url();
  options.size = 2;
  Pool pool(options);
  ASSERT_TRUE(pool.Transact("create", [](pqxx::transaction_base& tx) {
    tx.exec0("CREATE TABLE t (v text)");
    return grpc::Status::OK;
  }).ok());
  std::string read_only;
  ASSERT_TRUE(pool.Read("read", [&](pqxx::transaction_base& tx) {
    read_only = tx.exec1("SHOW transaction_read_only")[0].as<std::string>();
    return grpc::Status::OK;
  }).ok());
  EXPECT_EQ(read_only, "on");
  grpc::Status write_on_read = pool.Read("write in a read", [](pqxx::transaction_base& tx) {
    tx.exec0("INSERT INTO t VALUES ('one')");
    return grpc::Status::OK;
  });
  EXPECT_EQ(write_on_read.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_NE(write_on_read.error_message().find("read-only transaction"), std::string::npos)
      << write_on_read.error_message();
  // The primary's own sessions are not read-only.
  EXPECT_TRUE(pool.Transact("write", [](pqxx::transaction_base& tx) {
    tx.exec0("INSERT INTO t VALUES ('one')");
    return grpc::Status::OK;
  }).ok());
}

TEST(ReadWithoutReplicaTest, ReadsFromThePrimary) {
  test::TestDatabase db;
  PoolOptions options;
  options.url = db.url();
  Pool pool(options);
  EXPECT_FALSE(pool.has_read_replica());
  bool in_recovery = true;
  grpc::Status s = pool.Read("read", [&](pqxx::transaction_base& tx) {
    in_recovery = tx.exec1("SELECT pg_is_in_recovery()")[0].as<bool>();
    return grpc::Status::OK;
  });
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_FALSE(in_recovery);
}

}  // namespace
}  // namespace flightdeck::db
