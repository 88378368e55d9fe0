#pragma once

#include <string_view>

#include <grpcpp/support/status.h>
#include <pqxx/pqxx>

#include "common/db/db.h"

namespace flightdeck::db {

// Runs fn on a pooled connection outside an explicit transaction: each statement commits on its
// own, without the BEGIN and COMMIT round trips of Pool::Transact. For one statement, or reads
// that need no common snapshot. Transact's error mapping applies. A lost connection re-runs fn,
// and unlike Transact's COMMIT (in doubt: UNAVAILABLE) a statement that had committed just
// before the loss runs again: use it where a second run is harmless or detected.
inline grpc::Status Autocommit(Pool& pool, std::string_view what, const Pool::TxFn& fn) {
  return pool.WithConnection(what, [&](pqxx::connection& conn) {
    pqxx::nontransaction tx(conn);
    return fn(tx);
  });
}

}  // namespace flightdeck::db
