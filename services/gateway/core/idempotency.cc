#include "services/gateway/core/idempotency.h"

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
  // Takes over a claim whose gateway died mid-request (tests/chaos/releases_kill_test.cc: a
  // gateway killed between claim and answer left the key "in progress" for 24 hours).
  pool_.Prepare("idempotency_take_over",
                "UPDATE gateway.idempotency SET created_at = now(), method = $3, path = $4 "
                "WHERE actor = $1 AND key = $2 AND status = 0 AND request_hash = $5 "
                "AND created_at < now() - make_interval(secs => $6::bigint / 1000.0) RETURNING key");
  pool_.Prepare("idempotency_expire",
                "DELETE FROM gateway.idempotency WHERE actor = $1 AND key = $2 "
                "AND created_at < now() - interval '24 hours'");
  pool_.Prepare("idempotency_claim",
                "INSERT INTO gateway.idempotency (actor, key, method, path, request_hash, status) "
                "VALUES ($1, $2, $3, $4, $5, 0) ON CONFLICT DO NOTHING RETURNING key");
  pool_.Prepare("idempotency_get",
                "SELECT request_hash, status, body, code, response FROM gateway.idempotency "
                "WHERE actor = $1 AND key = $2");
  pool_.Prepare("idempotency_finish",
                "UPDATE gateway.idempotency SET status = $3, code = $4, body = $5, response = $6 "
                "WHERE actor = $1 AND key = $2");
  pool_.Prepare("idempotency_release", "DELETE FROM gateway.idempotency WHERE actor = $1 AND key = $2");
}

grpc::Status IdempotencyStore::Begin(const std::string& actor, const std::string& key,
                                     const std::string& method, const std::string& target,
                                     const std::string& request_hash, Outcome* out) {
  return pool_.Transact("claim idempotency key", [&](pqxx::transaction_base& tx) {
    db::Exec(tx, "idempotency_expire", actor, key);
    if (!db::Exec(tx, "idempotency_claim", actor, key, method, target, request_hash).empty()) {
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
      if (!db::Exec(tx, "idempotency_take_over", actor, key, method, target, request_hash,
                    static_cast<long long>(abandoned_after_.count()))
               .empty()) {
        out->kind = Outcome::kProceed;
        return grpc::Status::OK;
      }
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
                                      const grpc::Status& status, const std::string& response) {
  return pool_.Transact("store idempotent answer", [&](pqxx::transaction_base& tx) {
    if (IsServerSideFailure(status.error_code())) {
      db::Exec(tx, "idempotency_release", actor, key);
      return grpc::Status::OK;
    }
    pqxx::binarystring bytes(response);
    db::Exec(tx, "idempotency_finish", actor, key, HttpStatusFor(status.error_code()),
             static_cast<int>(status.error_code()), status.error_message(), bytes);
    return grpc::Status::OK;
  });
}

}  // namespace flightdeck::gateway
