#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <thread>

#include "common/db/db.h"
#include "common/metrics/metrics.h"
#include "common/trace/trace.h"
#include "tests/support/test_database.h"

namespace flightdeck::db {
namespace {

using namespace std::chrono_literals;

template <typename Pred>
bool WaitFor(Pred pred, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

// Lets test threads meet; bounded so that a broken test fails instead of hanging.
class Gate {
 public:
  explicit Gate(int parties) : waiting_for_(parties) {}
  bool ArriveAndWait() {
    std::unique_lock lock(mu_);
    if (--waiting_for_ <= 0) cv_.notify_all();
    return cv_.wait_for(lock, 10s, [&] { return waiting_for_ <= 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int waiting_for_;
};

// Blocks waiters until opened (bounded, like Gate).
class Latch {
 public:
  bool Wait() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 10s, [&] { return open_; });
  }
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

class PoolTest : public ::testing::Test {
 protected:
  PoolOptions Options(int size = 2) {
    PoolOptions options;
    options.url = db_.url();
    options.size = size;
    options.name = "test";
    return options;
  }

  double Counter(const std::string& name, const std::vector<std::string>& labels,
                 const std::vector<std::string>& values) {
    return registry_.AddCounter(name, "", labels).With(values).Value();
  }

  // Terminates every session on the test database but the caller's, as an operator or a
  // PostgreSQL restart would, and waits until they are gone.
  int TerminateOtherSessions() {
    pqxx::connection admin(db_.url());
    pqxx::nontransaction tx(admin);
    int killed = tx.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                         " WHERE datname = current_database() AND pid <> pg_backend_pid()")
                     .size();
    EXPECT_TRUE(WaitFor([&] {
      return tx.exec1("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                      " AND pid <> pg_backend_pid()")[0]
                 .as<int>() == 0;
    }));
    return killed;
  }

  static int BackendPid(Pool& pool) {
    int pid = 0;
    EXPECT_TRUE(pool.Transact("backend pid", [&](pqxx::transaction_base& tx) {
                      pid = tx.exec1("SELECT pg_backend_pid()")[0].as<int>();
                      return grpc::Status::OK;
                    }).ok());
    return pid;
  }

  test::TestDatabase db_;
  metrics::Registry registry_;
};

TEST_F(PoolTest, ExhaustedPoolFailsFastAndRecoversAfterRelease) {
  PoolOptions options = Options(2);
  options.acquire_timeout = 200ms;
  Pool pool(options, &registry_);
  Latch release;
  auto hold = [&] {
    return pool.Transact("hold a connection", [&](pqxx::transaction_base& tx) {
      tx.exec("SELECT 1");
      release.Wait();
      return grpc::Status::OK;
    });
  };
  auto first = std::async(std::launch::async, hold);
  auto second = std::async(std::launch::async, hold);
  ASSERT_TRUE(WaitFor([&] { return pool.in_use() == 2; }));
  EXPECT_EQ(registry_.AddGauge("flightdeck_db_pool_connections", "", {"pool", "state"})
                .With({"test", "in_use"})
                .Value(),
            2);

  const auto start = std::chrono::steady_clock::now();
  bool ran = false;
  grpc::Status third = pool.Transact("list releases", [&](pqxx::transaction_base&) {
    ran = true;
    return grpc::Status::OK;
  });
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(ran);
  EXPECT_EQ(third.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(third.error_message().find("database pool exhausted: 2/2 connections in use for "
                                       "200ms while list releases"),
            std::string::npos)
      << third.error_message();
  EXPECT_GE(waited, 190ms);
  EXPECT_LT(waited, 2s);
  EXPECT_EQ(Counter("flightdeck_db_pool_acquire_timeouts_total", {"pool"}, {"test"}), 1);

  release.Open();
  EXPECT_TRUE(first.get().ok());
  EXPECT_TRUE(second.get().ok());
  EXPECT_TRUE(pool.Ping().ok());
  EXPECT_EQ(pool.in_use(), 0);
  EXPECT_EQ(registry_.AddGauge("flightdeck_db_pool_connections", "", {"pool", "state"})
                .With({"test", "idle"})
                .Value(),
            2);
}

TEST_F(PoolTest, ASessionLockIsHeldByOneHolderAtATimeAndEndsWithItsSession) {
  Pool pool(Options(2), &registry_);
  std::unique_ptr<SessionLock> first;
  ASSERT_TRUE(pool.HoldLock("deploy", "action-1", 1s, &first).ok());
  EXPECT_EQ(pool.in_use(), 0);  // a connection of its own, not one of the pool's

  // Another name is another lock; the same name waits, and gives up after its wait.
  std::unique_ptr<SessionLock> other;
  EXPECT_TRUE(pool.HoldLock("deploy", "action-2", 1s, &other).ok());
  std::unique_ptr<SessionLock> second;
  grpc::Status refused = pool.HoldLock("deploy", "action-1", 200ms, &second);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << refused.error_message();
  EXPECT_NE(refused.error_message().find("action-1 is still held by another session after 200ms"),
            std::string::npos)
      << refused.error_message();
  EXPECT_EQ(second, nullptr);

  // A waiter gets the lock as soon as the holder lets go.
  auto waiter = std::async(std::launch::async, [&] { return pool.HoldLock("deploy", "action-1", 10s, &second); });
  EXPECT_EQ(waiter.wait_for(300ms), std::future_status::timeout);
  first.reset();
  ASSERT_EQ(waiter.wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(waiter.get().ok());
  ASSERT_NE(second, nullptr);

  // A holder whose session ended (its process died, an operator terminated it) holds nothing.
  ASSERT_GE(TerminateOtherSessions(), 2);
  std::unique_ptr<SessionLock> third;
  EXPECT_TRUE(pool.HoldLock("deploy", "action-1", 1s, &third).ok());
  second.reset();  // its session is gone: letting go does not throw
  other.reset();
}

TEST_F(PoolTest, TerminatedBackendsAreReplacedTransparently) {
  Pool pool(Options(2), &registry_);
  const int before = BackendPid(pool);
  ASSERT_GT(before, 0);
  ASSERT_GE(TerminateOtherSessions(), 1);

  const int after = BackendPid(pool);
  EXPECT_GT(after, 0);
  EXPECT_NE(after, before);
  EXPECT_GE(Counter("flightdeck_db_errors_total", {"pool", "kind"}, {"test", "connection_lost"}),
            1);
}

TEST_F(PoolTest, PreparedStatementsSurviveReconnect) {
  Pool pool(Options(1));
  ASSERT_TRUE(pool.Ping().ok());  // a connection that exists before the statement is registered
  pool.Prepare("pool_test_add_one", "SELECT $1::int + 1");
  auto add_one = [&](int v, int* out) {
    return pool.Transact("add one", [&](pqxx::transaction_base& tx) {
      *out = Exec(tx, "pool_test_add_one", v)[0][0].as<int>();
      return grpc::Status::OK;
    });
  };
  int result = 0;
  ASSERT_TRUE(add_one(41, &result).ok());
  EXPECT_EQ(result, 42);

  ASSERT_GE(TerminateOtherSessions(), 1);
  result = 0;
  grpc::Status status = add_one(99, &result);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(result, 100);
}

TEST_F(PoolTest, NonOkStatusFromFnRollsBack) {
  Pool pool(Options());
  ASSERT_TRUE(pool.Transact("create table", [](pqxx::transaction_base& tx) {
                    tx.exec("CREATE TABLE items (id int PRIMARY KEY)");
                    return grpc::Status::OK;
                  }).ok());
  grpc::Status status = pool.Transact("insert then refuse", [](pqxx::transaction_base& tx) {
    tx.exec("INSERT INTO items VALUES (1)");
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "release r-1 not found");
  });
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "release r-1 not found");
  int count = -1;
  ASSERT_TRUE(pool.Transact("count", [&](pqxx::transaction_base& tx) {
                    count = tx.exec1("SELECT count(*) FROM items")[0].as<int>();
                    return grpc::Status::OK;
                  }).ok());
  EXPECT_EQ(count, 0);
}

TEST_F(PoolTest, ExceptionsBecomeInternalAndTheConnectionStaysUsable) {
  Pool pool(Options(1), &registry_);
  grpc::Status thrown =
      pool.Transact("decide rollback", [](pqxx::transaction_base&) -> grpc::Status {
        throw std::runtime_error("analysis exploded");
      });
  EXPECT_EQ(thrown.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_NE(thrown.error_message().find("decide rollback"), std::string::npos);
  EXPECT_NE(thrown.error_message().find("analysis exploded"), std::string::npos);

  grpc::Status bad_sql = pool.Transact("read missing table", [](pqxx::transaction_base& tx) {
    tx.exec("SELECT * FROM no_such_table");
    return grpc::Status::OK;
  });
  EXPECT_EQ(bad_sql.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_NE(bad_sql.error_message().find("no_such_table"), std::string::npos);

  grpc::Status odd = pool.Transact("throw int", [](pqxx::transaction_base&) -> grpc::Status {
    throw 42;
  });
  EXPECT_EQ(odd.error_code(), grpc::StatusCode::INTERNAL);

  EXPECT_TRUE(pool.Ping().ok());
  EXPECT_EQ(Counter("flightdeck_db_errors_total", {"pool", "kind"}, {"test", "internal"}), 3);
}

// libpq passes text parameters as C strings: "x\0y" would be stored as "x" without an error.
// Exec refuses the statement instead, and jsonb's refusal of \u0000 is the caller's fault too.
TEST_F(PoolTest, ATextValueWithANulIsRefusedAsInvalidAndNothingIsCut) {
  Pool pool(Options(1), &registry_);
  pool.Prepare("notes_add", "INSERT INTO notes (id, body, data) VALUES ($1, $2, $3::jsonb)");
  pool.Prepare("notes_find", "SELECT count(*) FROM notes WHERE body = ANY(ARRAY[$1, $2])");
  ASSERT_TRUE(pool.Transact("create table", [](pqxx::transaction_base& tx) {
                    tx.exec("CREATE TABLE notes (id int PRIMARY KEY, body text, data jsonb)");
                    return grpc::Status::OK;
                  }).ok());
  auto add = [&](int id, const std::string& body, const std::string& data) {
    return pool.Transact("add note", [&](pqxx::transaction_base& tx) {
      Exec(tx, "notes_add", id, body, data);
      return grpc::Status::OK;
    });
  };
  ASSERT_TRUE(add(1, "plain", "{}").ok());

  grpc::Status nul = add(2, std::string("cut\0short", 9), "{}");
  EXPECT_EQ(nul.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << nul.error_message();
  EXPECT_NE(nul.error_message().find("add note"), std::string::npos) << nul.error_message();
  EXPECT_NE(nul.error_message().find("NUL"), std::string::npos) << nul.error_message();
  EXPECT_NE(nul.error_message().find("notes_add, parameter $2"), std::string::npos) << nul.error_message();

  // A NULL given as a null pointer or an empty optional is no text at all.
  grpc::Status nulls = pool.Transact("add null notes", [&](pqxx::transaction_base& tx) {
    Exec(tx, "notes_add", 4, static_cast<const char*>(nullptr), std::optional<std::string>());
    return grpc::Status::OK;
  });
  EXPECT_TRUE(nulls.ok()) << nulls.error_message();
  grpc::Status optional_nul = pool.Transact("add note", [&](pqxx::transaction_base& tx) {
    Exec(tx, "notes_add", 5, "fine", std::optional<std::string>(std::string("{\0}", 3)));
    return grpc::Status::OK;
  });
  EXPECT_NE(optional_nul.error_message().find("parameter $3"), std::string::npos) << optional_nul.error_message();

  grpc::Status escaped = add(3, "fine", R"({"note": "a\u0000b"})");
  EXPECT_EQ(escaped.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << escaped.error_message();

  // Parameters given as a list are numbered as the statement sees them.
  std::vector<std::string> bodies = {"plain", std::string("a\0b", 3)};
  grpc::Status listed = pool.Transact("find notes", [&](pqxx::transaction_base& tx) {
    Exec(tx, "notes_find", pqxx::prepare::make_dynamic_params(bodies));
    return grpc::Status::OK;
  });
  EXPECT_EQ(listed.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(listed.error_message().find("parameter $2"), std::string::npos) << listed.error_message();

  long long rows = -1;
  ASSERT_TRUE(pool.Transact("count", [&](pqxx::transaction_base& tx) {
                    rows = tx.exec1("SELECT count(*) FROM notes")[0].as<long long>();
                    return grpc::Status::OK;
                  }).ok());
  EXPECT_EQ(rows, 2) << "only the notes without a NUL were stored";
  EXPECT_EQ(Counter("flightdeck_db_errors_total", {"pool", "kind"}, {"test", "internal"}), 0)
      << "a caller's value is not a database error";
}

// Classic write skew: each transaction reads both rows and updates one. Under SERIALIZABLE one
// of them must fail with 40001 and be re-run.
class SerializationTest : public PoolTest {
 protected:
  void SetUp() override {
    Pool setup(Options(1));
    ASSERT_TRUE(setup.Transact("create", [](pqxx::transaction_base& tx) {
                       tx.exec("CREATE TABLE oncall (id int PRIMARY KEY, on_duty int NOT NULL)");
                       tx.exec("INSERT INTO oncall VALUES (1, 0), (2, 0)");
                       return grpc::Status::OK;
                     }).ok());
  }

  // Runs both transactions at once; the first attempt of each waits for the other's read.
  std::pair<grpc::Status, grpc::Status> RunConflicting(Pool& pool, std::atomic<int>* attempts) {
    Gate both_read(2);
    auto take = [&](int id) {
      bool first = true;
      return pool.Transact(
          "take shift",
          [&, id](pqxx::transaction_base& tx) {
            attempts->fetch_add(1);
            tx.exec("SELECT sum(on_duty) FROM oncall");
            if (first) {
              first = false;
              both_read.ArriveAndWait();
            }
            tx.exec_params("UPDATE oncall SET on_duty = on_duty + 1 WHERE id = $1", id);
            return grpc::Status::OK;
          },
          Isolation::kSerializable);
    };
    auto a = std::async(std::launch::async, take, 1);
    auto b = std::async(std::launch::async, take, 2);
    return {a.get(), b.get()};
  }

  int Sum(Pool& pool) {
    int sum = -1;
    EXPECT_TRUE(pool.Transact("sum", [&](pqxx::transaction_base& tx) {
                      sum = tx.exec1("SELECT sum(on_duty) FROM oncall")[0].as<int>();
                      return grpc::Status::OK;
                    }).ok());
    return sum;
  }
};

TEST_F(SerializationTest, ConflictIsRetriedUntilBothCommit) {
  PoolOptions options = Options(2);
  options.max_attempts = 5;
  Pool pool(options, &registry_);
  std::atomic<int> attempts{0};
  auto [a, b] = RunConflicting(pool, &attempts);
  EXPECT_TRUE(a.ok()) << a.error_message();
  EXPECT_TRUE(b.ok()) << b.error_message();
  EXPECT_GE(attempts.load(), 3);  // one of the two ran again
  EXPECT_GE(Counter("flightdeck_db_errors_total", {"pool", "kind"}, {"test", "serialization"}), 1);
  EXPECT_EQ(Sum(pool), 2);
}

TEST_F(SerializationTest, ConflictBeyondMaxAttemptsIsAborted) {
  PoolOptions options = Options(2);
  options.max_attempts = 1;
  Pool pool(options);
  std::atomic<int> attempts{0};
  auto [a, b] = RunConflicting(pool, &attempts);
  EXPECT_EQ(attempts.load(), 2);
  EXPECT_NE(a.ok(), b.ok()) << a.error_message() << " / " << b.error_message();
  const grpc::Status& failed = a.ok() ? b : a;
  EXPECT_EQ(failed.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_NE(failed.error_message().find("take shift"), std::string::npos);
  EXPECT_EQ(Sum(pool), 1);  // the loser's update was rolled back
}

class RecordingProcessor : public trace::SpanProcessor {
 public:
  void OnEnd(trace::SpanData span) override {
    std::lock_guard lock(mu_);
    spans_.push_back(std::move(span));
  }
  void Shutdown() override {}
  std::vector<trace::SpanData> spans() {
    std::lock_guard lock(mu_);
    return spans_;
  }

 private:
  std::mutex mu_;
  std::vector<trace::SpanData> spans_;
};

const trace::AttributeValue* Attribute(const trace::SpanData& span, const std::string& key) {
  for (const auto& [k, v] : span.attributes) {
    if (k == key) return &v;
  }
  return nullptr;
}

TEST_F(PoolTest, StatementSpansNameTheStatementButNeverItsValues) {
  auto processor = std::make_shared<RecordingProcessor>();
  trace::SetProcessorForTesting(processor);
  Pool pool(Options(1));
  pool.Prepare("pool_test_find_token", "  select $1::text AS token");
  ASSERT_TRUE(pool.Transact("find token", [](pqxx::transaction_base& tx) {
                    Exec(tx, "pool_test_find_token", std::string("s3cr3t-value"));
                    return grpc::Status::OK;
                  }).ok());
  trace::SetProcessorForTesting(nullptr);

  const trace::SpanData* statement = nullptr;
  const trace::SpanData* transaction = nullptr;
  std::vector<trace::SpanData> spans = processor->spans();
  for (const auto& span : spans) {
    if (span.name == "pool_test_find_token") statement = &span;
    if (span.name == "db.transaction find token") transaction = &span;
    for (const auto& [key, value] : span.attributes) {
      if (const auto* text = std::get_if<std::string>(&value)) {
        EXPECT_EQ(text->find("s3cr3t"), std::string::npos) << key;
      }
    }
  }
  ASSERT_NE(statement, nullptr);
  ASSERT_NE(transaction, nullptr);
  EXPECT_EQ(statement->kind, trace::SpanKind::kClient);
  EXPECT_EQ(statement->parent_span_id, transaction->context.span_id);
  ASSERT_NE(Attribute(*statement, "db.system"), nullptr);
  EXPECT_EQ(std::get<std::string>(*Attribute(*statement, "db.system")), "postgresql");
  ASSERT_NE(Attribute(*statement, "db.statement.name"), nullptr);
  EXPECT_EQ(std::get<std::string>(*Attribute(*statement, "db.statement.name")),
            "pool_test_find_token");
  ASSERT_NE(Attribute(*statement, "db.operation"), nullptr);
  EXPECT_EQ(std::get<std::string>(*Attribute(*statement, "db.operation")), "SELECT");
}

}  // namespace
}  // namespace flightdeck::db
