#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/db/change_feed.h"
#include "common/db/db.h"
#include "common/db/read_replica.h"
#include "common/db/statement_names.h"
#include "common/log/log.h"
#include "common/metrics/metrics.h"

namespace flightdeck::db {
namespace {

using Clock = std::chrono::steady_clock;

// SQLSTATE classes that mean the session is gone: 08 connection exceptions, 57P01..03
// admin shutdown (pg_terminate_backend), crash shutdown, server starting up.
bool IsConnectionLossState(const std::string& state) {
  return state.rfind("08", 0) == 0 || state == "57P01" || state == "57P02" || state == "57P03";
}

bool IsRetryableState(const std::string& state) {
  return state == "40001" || state == "40P01";
}

std::chrono::milliseconds RetryBackoff(int attempt) {
  // Jittered so that two transactions that conflicted do not collide again in lockstep.
  thread_local std::mt19937_64 rng{std::random_device{}()};
  long long cap = std::min<long long>(200, 5LL << std::min(attempt - 1, 10));
  std::uniform_int_distribution<long long> dist(cap / 2, cap);
  return std::chrono::milliseconds(dist(rng));
}

// Collects the channels that the notify triggers name in their notices when the session sets
// flightdeck.announce_changes (ChangeAnnouncer). Every other notice is passed on.
class ChangeNotices final : public pqxx::errorhandler {
 public:
  explicit ChangeNotices(pqxx::connection_base& conn) : pqxx::errorhandler(conn) {}
  bool operator()(const char msg[]) noexcept override {
    std::string_view channel = AnnouncedChannel(msg);
    if (channel.empty()) return true;
    try {
      if (std::find(channels.begin(), channels.end(), channel) == channels.end()) {
        channels.emplace_back(channel);
      }
    } catch (...) {
      // Out of memory: the change is not announced; Watch loops look again within 5 s.
    }
    return false;
  }
  std::vector<std::string> channels;
};

template <pqxx::isolation_level kLevel>
grpc::Status RunTransaction(pqxx::connection& conn, const Pool::TxFn& fn) {
  pqxx::transaction<kLevel> tx(conn);
  grpc::Status status = fn(tx);
  if (status.ok()) {
    tx.commit();
  } else {
    tx.abort();
  }
  return status;
}

}  // namespace

struct Pool::Impl {
  struct Conn {
    Conn(const std::string& url, bool read_only, bool announced) : conn(url) {
      // One SET when the connection opens, none per transaction.
      if (read_only) conn.set_variable("default_transaction_read_only", "on");
      if (announced) {
        conn.set_variable("flightdeck.announce_changes", "on");
        conn.set_variable("client_min_messages", "notice");  // the triggers' notices must arrive
        notices = std::make_unique<ChangeNotices>(conn);
      }
    }
    pqxx::connection conn;
    std::unique_ptr<ChangeNotices> notices;  // after conn: unregisters before conn closes
    std::map<std::string, std::string> prepared;  // name -> SQL as registered on this conn
    uint64_t prepared_generation = 0;
  };

  // One checked-out connection; returned to the pool (or dropped when broken) on destruction.
  struct Lease {
    explicit Lease(Impl* pool) : pool(pool) {}
    ~Lease() {
      if (counted) pool->Release(std::move(conn), broken);
    }
    Impl* pool;
    std::unique_ptr<Conn> conn;
    bool counted = false;
    bool broken = false;
  };

  enum class Outcome { kDone, kConnectionLost, kRetryable };

  PoolOptions options;
  std::string connect_url;

  mutable std::mutex mu;
  std::condition_variable released;
  std::vector<std::unique_ptr<Conn>> idle;
  int open = 0;    // idle + leased, including connections being opened
  int leased = 0;
  std::vector<std::pair<std::string, std::string>> statements;
  uint64_t statements_generation = 0;

  metrics::Gauge* in_use_gauge = nullptr;
  metrics::Gauge* idle_gauge = nullptr;
  metrics::Counter* acquire_timeouts = nullptr;
  metrics::Family<metrics::Counter>* errors = nullptr;

  void UpdateGaugesLocked() {
    if (in_use_gauge != nullptr) in_use_gauge->Set(leased);
    if (idle_gauge != nullptr) idle_gauge->Set(static_cast<double>(idle.size()));
  }

  void CountError(const char* kind) {
    if (errors != nullptr) errors->With({options.name, kind}).Inc();
  }

  grpc::Status Acquire(std::string_view what, Lease& lease) {
    const auto deadline = Clock::now() + options.acquire_timeout;
    std::unique_lock lock(mu);
    while (true) {
      if (!idle.empty()) {
        lease.conn = std::move(idle.back());
        idle.pop_back();
        lease.counted = true;
        ++leased;
        UpdateGaugesLocked();
        return grpc::Status::OK;
      }
      if (open < options.size) {
        ++open;
        ++leased;
        lease.counted = true;
        UpdateGaugesLocked();
        lock.unlock();
        try {
          lease.conn = std::make_unique<Conn>(connect_url, options.read_only,
                                              options.announcer != nullptr);
          return grpc::Status::OK;
        } catch (const std::exception& e) {
          lease.broken = true;  // the destructor gives the slot back
          CountError("connect");
          return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                              "cannot connect to database " + RedactUrl(options.url) +
                                  " while " + std::string(what) + ": " + log::Redact(e.what()));
        }
      }
      if (released.wait_until(lock, deadline) == std::cv_status::timeout && idle.empty() &&
          open >= options.size) {
        if (acquire_timeouts != nullptr) acquire_timeouts->Inc();
        return grpc::Status(
            grpc::StatusCode::UNAVAILABLE,
            "database pool exhausted: " + std::to_string(leased) + "/" +
                std::to_string(options.size) + " connections in use for " +
                std::to_string(options.acquire_timeout.count()) + "ms while " + std::string(what));
      }
    }
  }

  void Release(std::unique_ptr<Conn> conn, bool broken) {
    std::unique_ptr<Conn> dropped;
    {
      std::lock_guard lock(mu);
      --leased;
      if (broken || conn == nullptr || !conn->conn.is_open()) {
        --open;
        dropped = std::move(conn);
      } else {
        idle.push_back(std::move(conn));
      }
      UpdateGaugesLocked();
    }
    released.notify_one();
    // `dropped` closes its socket here, outside the lock.
  }

  // libpqxx 6.4 prepares lazily on first use, so this is client-side bookkeeping only.
  void SyncPrepared(Conn& c) {
    std::vector<std::pair<std::string, std::string>> wanted;
    uint64_t generation;
    {
      std::lock_guard lock(mu);
      if (c.prepared_generation == statements_generation) return;
      wanted = statements;
      generation = statements_generation;
    }
    for (const auto& [name, sql] : wanted) {
      auto it = c.prepared.find(name);
      if (it != c.prepared.end()) {
        if (it->second == sql) continue;
        c.conn.unprepare(name);
      }
      c.conn.prepare(name, sql);
      c.prepared[name] = sql;
    }
    c.prepared_generation = generation;
  }

  // Hands the channels the connection's triggers named to the announcer once what they changed
  // may have committed (`due`); forgets them either way. Runs before the lease goes back.
  struct Announcement {
    Announcement(Impl* pool, Lease& lease, bool due) : pool(pool), lease(lease), due(due) {}
    ~Announcement() {
      ChangeNotices* notices = lease.conn == nullptr ? nullptr : lease.conn->notices.get();
      if (notices == nullptr) return;
      try {
        if (due) {
          for (const std::string& channel : notices->channels) pool->options.announcer->Announce(channel);
        }
      } catch (...) {
        // Out of memory: not announced; Watch loops look again within 5 s.
      }
      notices->channels.clear();
    }
    Impl* pool;
    Lease& lease;
    bool due;  // a transaction's changes: once it committed, or may have; autocommit: always
  };

  // Runs body on a pooled connection; a lost connection is replaced and body re-run, a
  // serialization failure or deadlock re-run after a jittered pause, up to max_attempts.
  // `autocommit`: body runs statements outside a transaction, each committing on its own.
  template <typename Body>
  grpc::Status RunWithRetries(std::string_view what, const Body& body, bool autocommit) {
    const int max_attempts = std::max(1, options.max_attempts);
    for (int attempt = 1;; ++attempt) {
      Outcome outcome = Outcome::kDone;
      std::string error;
      {
        Lease lease(this);
        grpc::Status acquired = Acquire(what, lease);
        if (!acquired.ok()) return acquired;
        Announcement announcement(this, lease, autocommit);
        try {
          SyncPrepared(*lease.conn);
          grpc::Status status = body(lease.conn->conn);
          if (status.ok()) announcement.due = true;
          return status;
        } catch (const pqxx::in_doubt_error& e) {
          announcement.due = true;
          lease.broken = true;
          CountError("in_doubt");
          return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                              std::string(what) +
                                  ": connection lost during COMMIT, the outcome is unknown: " +
                                  e.what());
        } catch (const pqxx::statement_completion_unknown& e) {
          announcement.due = true;
          lease.broken = true;
          CountError("in_doubt");
          return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                              std::string(what) + ": statement outcome unknown: " + e.what());
        } catch (const pqxx::serialization_failure& e) {
          outcome = Outcome::kRetryable;
          error = e.what();
          CountError("serialization");
        } catch (const pqxx::deadlock_detected& e) {
          outcome = Outcome::kRetryable;
          error = e.what();
          CountError("deadlock");
        } catch (const pqxx::broken_connection& e) {
          outcome = Outcome::kConnectionLost;
          error = e.what();
        } catch (const pqxx::sql_error& e) {
          error = e.what();
          if (IsRetryableState(e.sqlstate())) {
            outcome = Outcome::kRetryable;
            CountError(e.sqlstate() == "40001" ? "serialization" : "deadlock");
          } else if (IsConnectionLossState(e.sqlstate()) || !lease.conn->conn.is_open()) {
            outcome = Outcome::kConnectionLost;
          } else if (e.sqlstate() == "22P05") {
            // untranslatable_character: a JSON text's \u0000, which jsonb refuses. The value's
            // fault, not the statement's.
            return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::string(what) + ": " + error);
          } else {
            CountError("internal");
            return grpc::Status(grpc::StatusCode::INTERNAL, std::string(what) + ": " + error);
          }
        } catch (const UnstorableText& e) {
          return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::string(what) + ": " + e.what());
        } catch (const std::exception& e) {
          error = e.what();
          if (lease.conn != nullptr && !lease.conn->conn.is_open()) {
            outcome = Outcome::kConnectionLost;
          } else {
            CountError("internal");
            return grpc::Status(grpc::StatusCode::INTERNAL, std::string(what) + ": " + error);
          }
        } catch (...) {
          CountError("internal");
          return grpc::Status(grpc::StatusCode::INTERNAL,
                              std::string(what) + ": unknown exception");
        }
        if (outcome == Outcome::kConnectionLost) {
          lease.broken = true;
          CountError("connection_lost");
        }
      }  // the lease goes back before any pause

      if (outcome == Outcome::kConnectionLost) {
        if (attempt >= max_attempts) {
          return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                              std::string(what) + ": database connection lost " +
                                  std::to_string(attempt) + " times: " + error);
        }
        log::Warn("database connection lost, retrying on a new connection",
                  {{"pool", options.name}, {"what", what}, {"attempt", attempt},
                   {"error", error}});
        continue;
      }
      if (attempt >= max_attempts) {
        return grpc::Status(grpc::StatusCode::ABORTED,
                            std::string(what) + ": transaction conflict persisted after " +
                                std::to_string(attempt) + " attempts: " + error);
      }
      std::this_thread::sleep_for(RetryBackoff(attempt));
    }
  }
};

Pool::Pool(PoolOptions options, metrics::Registry* metrics) : impl_(std::make_unique<Impl>()) {
  if (options.size < 1) options.size = 1;
  impl_->connect_url = WithConnectTimeout(options.url, options.acquire_timeout);
  impl_->options = std::move(options);
  if (metrics != nullptr) {
    const std::string& name = impl_->options.name;
    auto& connections = metrics->AddGauge("flightdeck_db_pool_connections",
                                          "Connections of a database pool, by state.",
                                          {"pool", "state"});
    impl_->in_use_gauge = &connections.With({name, "in_use"});
    impl_->idle_gauge = &connections.With({name, "idle"});
    impl_->acquire_timeouts =
        &metrics
             ->AddCounter("flightdeck_db_pool_acquire_timeouts_total",
                          "Times a caller gave up waiting for a free pooled connection.", {"pool"})
             .With({name});
    impl_->errors = &metrics->AddCounter(
        "flightdeck_db_errors_total",
        "Database errors by kind (connect, connection_lost, serialization, deadlock, in_doubt, "
        "internal).",
        {"pool", "kind"});
  }
  if (!impl_->options.read_url.empty()) {
    replica_ = std::make_unique<ReadReplica>(impl_->options, metrics);
  }
}

Pool::~Pool() = default;

void Pool::Prepare(std::string name, std::string sql) {
  internal::RememberStatementOperation(name, sql);
  // Read() may run any statement on the standby.
  if (replica_ != nullptr) replica_->Prepare(name, sql);
  std::lock_guard lock(impl_->mu);
  for (auto& [existing, existing_sql] : impl_->statements) {
    if (existing != name) continue;
    if (existing_sql == sql) return;
    existing_sql = sql;
    ++impl_->statements_generation;
    return;
  }
  impl_->statements.emplace_back(name, sql);
  ++impl_->statements_generation;
}

grpc::Status Pool::Transact(std::string_view what, const TxFn& fn, Isolation isolation) {
  trace::Span span("db.transaction " + std::string(what), trace::SpanKind::kInternal);
  if (span.recording()) span.SetAttribute("db.system", std::string("postgresql"));
  grpc::Status status = impl_->RunWithRetries(what, [&](pqxx::connection& conn) {
    switch (isolation) {
      case Isolation::kSerializable:
        return RunTransaction<pqxx::serializable>(conn, fn);
      case Isolation::kRepeatableRead:
        return RunTransaction<pqxx::repeatable_read>(conn, fn);
      case Isolation::kReadCommitted:
        break;
    }
    return RunTransaction<pqxx::read_committed>(conn, fn);
  }, /*autocommit=*/false);
  if (!status.ok() && span.recording()) {
    span.SetStatus(trace::StatusCode::kError, status.error_message());
  }
  return status;
}

grpc::Status Pool::WithConnection(std::string_view what,
                                  const std::function<grpc::Status(pqxx::connection&)>& fn) {
  return impl_->RunWithRetries(what, fn, /*autocommit=*/true);
}

grpc::Status Pool::Read(std::string_view what, const TxFn& fn) {
  if (replica_ != nullptr) {
    std::optional<grpc::Status> status = replica_->TryRead(what, fn);
    if (status) return *status;
  }
  return Transact(what, fn);
}

bool Pool::has_read_replica() const { return replica_ != nullptr; }

grpc::Status Pool::Ping() {
  return WithConnection("ping", [](pqxx::connection& conn) {
    pqxx::nontransaction tx(conn);
    tx.exec("SELECT 1");
    return grpc::Status::OK;
  });
}

grpc::Status Pool::HoldLock(std::string_view what, const std::string& name,
                            std::chrono::milliseconds wait, std::unique_ptr<SessionLock>* out) {
  std::unique_ptr<pqxx::connection> conn;
  try {
    conn = std::make_unique<pqxx::connection>(impl_->connect_url);
  } catch (const std::exception& e) {
    impl_->CountError("connect");
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        "cannot connect to database " + RedactUrl(impl_->options.url) + " while " +
                            std::string(what) + ": " + log::Redact(e.what()));
  }
  try {
    pqxx::nontransaction tx(*conn);
    // The wait is the server's: a statement timeout cancels the lock request, nothing polls.
    tx.exec("SET statement_timeout = " + std::to_string(std::max<long long>(1, wait.count())));
    tx.exec_params("SELECT pg_advisory_lock(hashtextextended($1, 0))", name);
    tx.exec("SET statement_timeout = 0");
  } catch (const pqxx::sql_error& e) {
    if (e.sqlstate() == "57014") {  // query_canceled: the timeout above
      return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                          std::string(what) + ": " + name + " is still held by another session after " +
                              std::to_string(wait.count()) + "ms");
    }
    impl_->CountError(IsConnectionLossState(e.sqlstate()) ? "connect" : "internal");
    return grpc::Status(IsConnectionLossState(e.sqlstate()) ? grpc::StatusCode::UNAVAILABLE
                                                            : grpc::StatusCode::INTERNAL,
                        std::string(what) + ": " + e.what());
  } catch (const std::exception& e) {
    impl_->CountError("connect");
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, std::string(what) + ": " + e.what());
  }
  *out = std::make_unique<SessionLock>(std::move(conn));
  return grpc::Status::OK;
}

SessionLock::SessionLock(std::unique_ptr<pqxx::connection> conn) : conn_(std::move(conn)) {}

SessionLock::~SessionLock() {
  try {
    pqxx::nontransaction tx(*conn_);
    tx.exec("SELECT pg_advisory_unlock_all()");
  } catch (const std::exception&) {
    // The session ends with the connection just below, and the lock with it.
  }
}

int Pool::size() const { return impl_->options.size; }

int Pool::in_use() const {
  std::lock_guard lock(impl_->mu);
  return impl_->leased;
}

}  // namespace flightdeck::db
