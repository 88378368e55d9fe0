#include "common/db/read_replica.h"

#include <cmath>
#include <limits>

#include "common/log/log.h"
#include "common/metrics/metrics.h"

namespace flightdeck::db {
namespace {

// Replay lag in seconds. A standby that has replayed everything it received is current however
// old its last transaction is (an idle primary sends nothing); otherwise the lag is the age of
// the last transaction it replayed, unknown (infinite) when it has replayed none since start-up.
// A server that is not in recovery (the URL names a primary) has no lag.
constexpr char kLagSql[] =
    "SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0::float8 "
    "WHEN pg_last_wal_receive_lsn() IS NOT NULL "
    "AND pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0::float8 "
    "ELSE COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp())::float8, "
    "'Infinity'::float8) END";

PoolOptions ReplicaOptions(const PoolOptions& primary) {
  PoolOptions options = primary;
  options.url = primary.read_url;
  options.read_url.clear();
  options.read_only = true;
  options.announcer = nullptr;  // a read-only session fires no trigger
  options.name = primary.name + "_replica";
  // A lost standby is a reason to read from the primary, not to retry the standby.
  options.max_attempts = 1;
  return options;
}

}  // namespace

ReadReplica::ReadReplica(const PoolOptions& primary, metrics::Registry* metrics)
    : options_(primary), pool_(ReplicaOptions(primary), metrics) {
  if (metrics != nullptr) {
    lag_gauge_ = &metrics
                      ->AddGauge("flightdeck_db_replica_lag_seconds",
                                 "Replay lag of the read replica as last measured (+Inf when "
                                 "unknown).",
                                 {"pool"})
                      .With({primary.name});
    fallbacks_ = &metrics->AddCounter(
        "flightdeck_db_read_fallbacks_total",
        "Reads meant for the read replica that ran on the primary, by reason (unreachable, lag, "
        "conflict).",
        {"pool", "reason"});
  }
}

void ReadReplica::CountFallback(const char* reason) {
  if (fallbacks_ != nullptr) fallbacks_->With({options_.name, reason}).Inc();
}

void ReadReplica::Remember(Verdict verdict) {
  std::lock_guard lock(mu_);
  if (verdict != verdict_ && !(verdict_ == Verdict::kUnknown && verdict == Verdict::kUsable)) {
    const char* now = verdict == Verdict::kUsable        ? "usable"
                      : verdict == Verdict::kUnreachable ? "unreachable"
                                                         : "lagging";
    log::Warn("read replica state changed", {{"pool", options_.name}, {"state", now}});
  }
  verdict_ = verdict;
  verdict_at_ = Clock::now();
}

ReadReplica::Verdict ReadReplica::Measure() {
  double lag = 0;
  grpc::Status status = pool_.WithConnection("measure replica lag", [&](pqxx::connection& conn) {
    pqxx::nontransaction tx(conn);
    lag = tx.exec1(kLagSql)[0].as<double>();
    return grpc::Status::OK;
  });
  if (!status.ok()) {
    if (lag_gauge_ != nullptr) lag_gauge_->Set(std::numeric_limits<double>::infinity());
    return Verdict::kUnreachable;
  }
  if (lag_gauge_ != nullptr) lag_gauge_->Set(lag);
  const double bound = std::chrono::duration<double>(options_.read_max_lag).count();
  return lag <= bound ? Verdict::kUsable : Verdict::kLagging;
}

ReadReplica::Verdict ReadReplica::Current() {
  {
    std::lock_guard lock(mu_);
    if (verdict_ != Verdict::kUnknown && Clock::now() - verdict_at_ < options_.read_recheck) {
      return verdict_;
    }
  }
  // Two readers may measure at once; both verdicts are true, the later one stays.
  Verdict verdict = Measure();
  Remember(verdict);
  return verdict;
}

std::optional<grpc::Status> ReadReplica::TryRead(std::string_view what, const Pool::TxFn& fn) {
  switch (Current()) {
    case Verdict::kUnreachable:
      CountFallback("unreachable");
      return std::nullopt;
    case Verdict::kLagging:
      CountFallback("lag");
      return std::nullopt;
    case Verdict::kUnknown:
    case Verdict::kUsable:
      break;
  }
  // Read-only without a statement of its own: the replica's sessions are (ReplicaOptions).
  grpc::Status status = pool_.Transact(what, fn);
  // UNAVAILABLE is the pool's word for "cannot connect" and "connection lost": the standby went
  // away between the measurement and this read. Anything else is the read's own answer.
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
    Remember(Verdict::kUnreachable);
    CountFallback("unreachable");
    return std::nullopt;
  }
  // ABORTED: the standby cancelled the read because replay needed what it was reading (a
  // recovery conflict). The primary answers it without that risk; the standby stays usable.
  if (status.error_code() == grpc::StatusCode::ABORTED) {
    CountFallback("conflict");
    return std::nullopt;
  }
  return status;
}

}  // namespace flightdeck::db
