#include "services/gateway/core/idempotency.h"

#include "common/db/autocommit.h"
#include "common/db/db.h"
#include "services/gateway/core/errors.h"

namespace flightdeck::gateway {
namespace {

// Failures that say nothing about the request itself: the key is released so a retry runs.
bool IsServerSideFailure(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DATA_LOSS:
    case grpc::StatusCode::CANCELLED:
      return true;
    default:
      return false;
  }
}

// Appends an audit row (parameters $first .. $first+6) to a statement that stores an answer:
// both commit together, in one round trip.
std::string WithAuditRow(const std::string& change, int first) {
  std::string values;
  for (int i = 0; i < 7; ++i) values += (i ? ", $" : "$") + std::to_string(first + i);
  return "WITH changed AS (" + change + ") INSERT INTO gateway.audit (actor, role, action, target, "
         "status, request_id, trace_id) VALUES (" + values + ")";
}

}  // namespace

bool IsValidIdempotencyKey(const std::string& key) {
  if (key.empty() || key.size() > 255) return false;
  for (unsigned char c : key) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

IdempotencyStore::IdempotencyStore(db::Pool& pool, std::chrono::milliseconds abandoned_after)
    : pool_(pool), abandoned_after_(abandoned_after) {
  // One statement claims a new key, a key whose record expired (24 hours), or a claim whose
  // gateway died mid-request: the same request, still "in progress" past abandoned_after
  // (tests/chaos/releases_kill_test.cc: a gateway killed between claim and answer left the key
  // "in progress" for 24 hours). It returns no row otherwise, and the record says why.
  pool_.Prepare("idempotency_claim",
                "INSERT INTO gateway.idempotency AS i (actor, key, method, path, request_hash, status) "
                "VALUES ($1, $2, $3, $4, $5, 0) ON CONFLICT (actor, key) DO UPDATE SET "
                "method = EXCLUDED.method, path = EXCLUDED.path, request_hash = EXCLUDED.request_hash, "
                "status = 0, body = '', code = NULL, response = NULL, created_at = now() "
                "WHERE i.created_at < now() - interval '24 hours' "
                "OR (i.status = 0 AND i.request_hash = EXCLUDED.request_hash "
                "AND i.created_at < now() - make_interval(secs => $6::bigint / 1000.0)) RETURNING key");
  pool_.Prepare("idempotency_get",
                "SELECT request_hash, status, body, code, response FROM gateway.idempotency "
                "WHERE actor = $1 AND key = $2");
  const std::string finish =
      "UPDATE gateway.idempotency SET status = $3, code = $4, body = $5, response = $6 "
      "WHERE actor = $1 AND key = $2";
  const std::string release = "DELETE FROM gateway.idempotency WHERE actor = $1 AND key = $2";
  pool_.Prepare("idempotency_finish", finish);
  pool_.Prepare("idempotency_release", release);
  pool_.Prepare("idempotency_finish_audited", WithAuditRow(finish, 7));
  pool_.Prepare("idempotency_release_audited", WithAuditRow(release, 3));
}

grpc::Status IdempotencyStore::Begin(const std::string& actor, const std::string& key,
                                     const std::string& method, const std::string& target,
                                     const std::string& request_hash, Outcome* out) {
  // Single statements, each its own transaction: no BEGIN and COMMIT round trips.
  return db::Autocommit(pool_, "claim idempotency key", [&](pqxx::transaction_base& tx) {
    if (!db::Exec(tx, "idempotency_claim", actor, key, method, target, request_hash,
                  static_cast<long long>(abandoned_after_.count()))
             .empty()) {
      out->kind = Outcome::kProceed;
      return grpc::Status::OK;
    }
    pqxx::result r = db::Exec(tx, "idempotency_get", actor, key);
    if (r.empty()) {  // released between our insert and our read: let the client retry
      return grpc::Status(grpc::StatusCode::ABORTED, "Idempotency-Key: busy, retry");
    }
    if (r[0][0].as<std::string>() != request_hash) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "Idempotency-Key: already used for a different request in the last 24 hours");
    }
    if (r[0][1].as<int>() == 0) {
      return grpc::Status(grpc::StatusCode::ABORTED,
                          "Idempotency-Key: the first request with this key is still in progress");
    }
    out->kind = Outcome::kReplay;
    if (r[0][3].is_null()) {
      out->legacy_json = true;
      out->legacy_http_status = r[0][1].as<int>();
      out->response = r[0][2].as<std::string>();
      return grpc::Status::OK;
    }
    auto code = static_cast<grpc::StatusCode>(r[0][3].as<int>());
    out->status = code == grpc::StatusCode::OK ? grpc::Status::OK
                                               : grpc::Status(code, r[0][2].as<std::string>());
    if (!r[0][4].is_null()) out->response = pqxx::binarystring(r[0][4]).str();
    return grpc::Status::OK;
  });
}

grpc::Status IdempotencyStore::Finish(const std::string& actor, const std::string& key,
                                      const grpc::Status& status, const std::string& response,
                                      const v1::AuditEntry* audit) {
  return db::Autocommit(pool_, "store idempotent answer", [&](pqxx::transaction_base& tx) {
    const bool release = IsServerSideFailure(status.error_code());
    if (audit == nullptr) {
      if (release) {
        db::Exec(tx, "idempotency_release", actor, key);
      } else {
        db::Exec(tx, "idempotency_finish", actor, key, HttpStatusFor(status.error_code()),
                 static_cast<int>(status.error_code()), status.error_message(),
                 pqxx::binarystring(response));
      }
      return grpc::Status::OK;
    }
    const v1::AuditEntry& a = *audit;
    if (release) {
      db::Exec(tx, "idempotency_release_audited", actor, key, a.actor(), a.role(), a.action(),
               a.target(), a.status(), a.request_id(), a.trace_id());
    } else {
      db::Exec(tx, "idempotency_finish_audited", actor, key, HttpStatusFor(status.error_code()),
               static_cast<int>(status.error_code()), status.error_message(),
               pqxx::binarystring(response), a.actor(), a.role(), a.action(), a.target(), a.status(),
               a.request_id(), a.trace_id());
    }
    return grpc::Status::OK;
  });
}

}  // namespace flightdeck::gateway
