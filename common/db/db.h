#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <grpcpp/support/status.h>
#include <pqxx/pqxx>

#include "common/trace/trace.h"

namespace flightdeck::metrics {
class Registry;
class Gauge;
class Counter;
template <typename T>
class Family;
}  // namespace flightdeck::metrics

namespace flightdeck::db {

class ChangeAnnouncer;

struct PoolOptions {
  std::string url;
  int size = 8;
  std::chrono::milliseconds acquire_timeout{5000};
  int max_attempts = 4;  // for serialization failures, deadlocks and lost connections
  std::string name = "default";  // label on the pool's metrics
  // A hot standby of the same cluster for Read() (FLIGHTDECK_DATABASE_READ_URL); empty: none.
  std::string read_url{};
  // Read() leaves the standby while its replay lag exceeds this (FLIGHTDECK_DATABASE_READ_MAX_LAG).
  std::chrono::milliseconds read_max_lag{5000};
  // How long a lag measurement, or a verdict that the standby is unreachable, is trusted before
  // Read() asks the standby again: bounds both the extra queries and the connect attempts.
  std::chrono::milliseconds read_recheck{1000};
  // Every session of the pool read-only (default_transaction_read_only, set once per
  // connection): a write fails instead of running. The read replica's pool, so that a standby
  // URL that names a primary by mistake still cannot be written through Read().
  bool read_only = false;
  // Sends the notifications of the notify triggers after commit (change_feed.h); outlives the
  // pool. Null: the triggers notify inside the writing transaction.
  ChangeAnnouncer* announcer = nullptr;
};

enum class Isolation { kReadCommitted, kRepeatableRead, kSerializable };

// A PostgreSQL session-level advisory lock held on a connection of its own, not one of a pool's:
// it lasts exactly as long as its holder. It ends when this object is destroyed, or when the
// holding process dies (the server ends a session whose socket closed, and its locks with it).
// For work that must not run twice at once, across threads and replicas alike, and that may
// outlive any lease: a driver command. From Pool::HoldLock.
class SessionLock {
 public:
  explicit SessionLock(std::unique_ptr<pqxx::connection> conn);
  ~SessionLock();  // unlocks at once (a waiter need not wait for the session to end)
  SessionLock(const SessionLock&) = delete;
  SessionLock& operator=(const SessionLock&) = delete;

 private:
  std::unique_ptr<pqxx::connection> conn_;
};

// A bounded pool of libpqxx connections. Connections are opened lazily, re-opened after a lost
// connection, and carry every statement registered with Prepare(). Thread-safe.
//
// Transact() is the one way to run SQL: it never lets an exception escape. A libpqxx
// exception becomes a grpc::Status with `what` as context:
//   pool exhausted past acquire_timeout, connection failure -> UNAVAILABLE
//   serialization failure / deadlock after max_attempts     -> ABORTED
//   anything else (a bug in SQL, a constraint)              -> INTERNAL, unless fn mapped it.
// fn may return a non-OK status itself (e.g. NOT_FOUND); the transaction then rolls back.
// fn may run more than once (a lost connection or a serialization failure re-runs it on a fresh
// transaction): effects outside the database belong after Transact returns, and state captured
// by reference should be reset at the top of fn. Do not call Transact from inside fn: with every
// connection leased, the inner call waits for the outer one and fails after acquire_timeout.
//
// Metrics (with a registry): flightdeck_db_pool_connections{pool,state="in_use|idle"},
// flightdeck_db_pool_acquire_timeouts_total{pool}, flightdeck_db_errors_total{pool,kind} with kind
// one of connect, connection_lost, serialization, deadlock, in_doubt, internal.
class ReadReplica;

class Pool {
 public:
  Pool(PoolOptions options, metrics::Registry* metrics = nullptr);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // Registers a prepared statement for every connection (present and future).
  void Prepare(std::string name, std::string sql);

  using TxFn = std::function<grpc::Status(pqxx::transaction_base& tx)>;
  grpc::Status Transact(std::string_view what, const TxFn& fn,
                        Isolation isolation = Isolation::kReadCommitted);
  // Runs fn on a connection outside a transaction (for statements like CREATE DATABASE), with
  // Transact's error mapping; a lost connection re-runs fn. fn must leave the session as it found
  // it (no SET without RESET, no session advisory lock left held): the connection is reused.
  grpc::Status WithConnection(std::string_view what,
                              const std::function<grpc::Status(pqxx::connection&)>& fn);
  // For reads that tolerate a few seconds of staleness (list pages, dashboards): fn runs in a
  // read-only transaction on the read replica when one is configured, reachable, and replaying
  // within read_max_lag; otherwise on the primary, counted in
  // flightdeck_db_read_fallbacks_total{pool,reason="unreachable|lag|conflict"}. Never for a read that
  // must see the caller's own write (a get right after a create), nor for leases or jobs.
  // The replica's lag is the gauge flightdeck_db_replica_lag_seconds{pool}.
  grpc::Status Read(std::string_view what, const TxFn& fn);
  bool has_read_replica() const;
  grpc::Status Ping();  // SELECT 1 within acquire_timeout
  // Takes the session lock `name` (hashed into PostgreSQL's 64-bit advisory-lock keys) on a new
  // connection, waiting at most `wait` while another session holds it: DEADLINE_EXCEEDED then,
  // UNAVAILABLE when the database cannot be reached. Costs a connection per lock held.
  grpc::Status HoldLock(std::string_view what, const std::string& name,
                        std::chrono::milliseconds wait, std::unique_ptr<SessionLock>* out);

  int size() const;
  int in_use() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::unique_ptr<ReadReplica> replica_;  // null without read_url
};

// Opens a client span for one prepared statement (db.system=postgresql, db.statement.name,
// db.operation when the statement was registered with Pool::Prepare; never the values).
trace::Span StatementSpan(std::string_view statement_name);

// Thrown by Exec for a text parameter that holds a NUL character: PostgreSQL's text cannot store
// one, and libpq would pass the string cut short at it, losing the rest without an error.
// Transact answers INVALID_ARGUMENT with the statement and parameter. The gateway checks every
// request's fields by name first (gateway/core/storable.h); this covers any other caller of the
// services' own ports.
class UnstorableText : public std::invalid_argument {
 public:
  UnstorableText(std::string_view statement, size_t parameter);
};

namespace internal {
template <typename T>
struct IsDynamicParams : std::false_type {};
template <typename It>
struct IsDynamicParams<pqxx::internal::dynamic_params<It>> : std::true_type {};

template <typename T>
struct IsOptional : std::false_type {};
template <typename T>
struct IsOptional<std::optional<T>> : std::true_type {};

template <typename T>
bool HoldsNul(const T& value) {
  if constexpr (std::is_pointer_v<T> && std::is_convertible_v<T, std::string_view>) {
    return value != nullptr && HoldsNul(std::string_view(value));  // a null pointer is NULL
  } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    return std::string_view(value).find('\0') != std::string_view::npos;
  } else if constexpr (IsOptional<T>::value) {
    return value.has_value() && HoldsNul(*value);
  } else {
    return false;  // numbers, bools, binary strings (bytea may hold anything)
  }
}

// The number ($n) of the first parameter that holds a NUL, or 0.
template <typename... Args>
size_t FirstNulParameter(const Args&... args) {
  size_t n = 0;
  size_t found = 0;
  [[maybe_unused]] auto check = [&](const auto& value) {  // unused for a statement without parameters
    if constexpr (IsDynamicParams<std::decay_t<decltype(value)>>::value) {
      for (auto it = value.begin(); it != value.end(); ++it) {
        ++n;
        if (found == 0 && HoldsNul(*it)) found = n;
      }
    } else {
      ++n;
      if (found == 0 && HoldsNul(value)) found = n;
    }
  };
  (check(args), ...);
  return found;
}
}  // namespace internal

// Throws UnstorableText when a text parameter of `statement` holds a NUL. Every statement with
// parameters goes through it: Exec below, and any helper that runs unprepared statements.
template <typename... Args>
void RefuseNul(std::string_view statement, const Args&... args) {
  if (size_t n = internal::FirstNulParameter(args...); n != 0) throw UnstorableText(statement, n);
}

// Runs a statement registered with Pool::Prepare inside its StatementSpan.
template <typename... Args>
pqxx::result Exec(pqxx::transaction_base& tx, const std::string& statement, Args&&... args) {
  RefuseNul(statement, args...);
  trace::Span span = StatementSpan(statement);
  return tx.exec_prepared(statement, std::forward<Args>(args)...);
}

// True when e is PostgreSQL's unique_violation (23505) on the named constraint (any if empty).
bool IsUniqueViolation(const std::exception& e, std::string_view constraint = {});

// "postgres://user:secret@host/db" -> "postgres://user:***@host/db" for messages.
std::string RedactUrl(std::string_view url);
// Same server, other database name (tests create a database per suite).
std::string WithDatabase(std::string_view url, std::string_view database);
// libpq waits forever for a TCP connect by default; `url` with connect_timeout added (whole
// seconds, 2 at least, covering `bound`) unless it names one already.
std::string WithConnectTimeout(const std::string& url, std::chrono::milliseconds bound);

}  // namespace flightdeck::db
