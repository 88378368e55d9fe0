#include "services/gateway/idempotency.h"

#include "common/db/db.h"
#include "services/gateway/auth.h"

namespace flightdeck::gateway {

bool IsValidIdempotencyKey(const std::string& key) {
  if (key.empty() || key.size() > 255) return false;
  for (unsigned char c : key) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

IdempotencyStore::IdempotencyStore(db::Pool& pool) : pool_(pool) {
  pool_.Prepare("idempotency_expire",
                "DELETE FROM gateway.idempotency WHERE actor = $1 AND key = $2 "
                "AND created_at < now() - interval '24 hours'");
  pool_.Prepare("idempotency_claim",
                "INSERT INTO gateway.idempotency (actor, key, method, path, request_hash, status) "
                "VALUES ($1, $2, $3, $4, $5, 0) ON CONFLICT DO NOTHING RETURNING key");
  pool_.Prepare("idempotency_get",
                "SELECT request_hash, status, body FROM gateway.idempotency "
                "WHERE actor = $1 AND key = $2");
  pool_.Prepare("idempotency_finish",
                "UPDATE gateway.idempotency SET status = $3, body = $4 WHERE actor = $1 AND key = $2");
  pool_.Prepare("idempotency_release", "DELETE FROM gateway.idempotency WHERE actor = $1 AND key = $2");
}

grpc::Status IdempotencyStore::Begin(const std::string& actor, const std::string& key,
                                     const std::string& method, const std::string& path,
                                     const std::string& body, Outcome* out) {
  const std::string hash = Sha256Hex(method + "\n" + path + "\n" + body);
  return pool_.Transact("claim idempotency key", [&](pqxx::transaction_base& tx) {
    db::Exec(tx, "idempotency_expire", actor, key);
    if (!db::Exec(tx, "idempotency_claim", actor, key, method, path, hash).empty()) {
      out->kind = Outcome::kProceed;
      return grpc::Status::OK;
    }
    pqxx::result r = db::Exec(tx, "idempotency_get", actor, key);
    if (r.empty()) {  // released between our insert and our read: let the client retry
      return grpc::Status(grpc::StatusCode::ABORTED, "Idempotency-Key: busy, retry");
    }
    if (r[0][0].as<std::string>() != hash) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "Idempotency-Key: already used for a different request in the last 24 hours");
    }
    if (r[0][1].as<int>() == 0) {
      return grpc::Status(grpc::StatusCode::ABORTED,
                          "Idempotency-Key: the first request with this key is still in progress");
    }
    out->kind = Outcome::kReplay;
    out->status = r[0][1].as<int>();
    out->body = r[0][2].as<std::string>();
    return grpc::Status::OK;
  });
}

grpc::Status IdempotencyStore::Finish(const std::string& actor, const std::string& key, int status,
                                      const std::string& body) {
  return pool_.Transact("store idempotent answer", [&](pqxx::transaction_base& tx) {
    if (status >= 500) {
      db::Exec(tx, "idempotency_release", actor, key);
    } else {
      db::Exec(tx, "idempotency_finish", actor, key, status, body);
    }
    return grpc::Status::OK;
  });
}

}  // namespace flightdeck::gateway
