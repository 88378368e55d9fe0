#include "services/gateway/core/audit.h"

#include <charconv>

#include "common/db/autocommit.h"
#include "common/db/db.h"

namespace flightdeck::gateway {

AuditLog::AuditLog(db::Pool& pool) : pool_(pool) {
  pool_.Prepare("audit_insert",
                "INSERT INTO gateway.audit (actor, role, action, target, status, request_id, "
                "trace_id) VALUES ($1, $2, $3, $4, $5, $6, $7)");
  pool_.Prepare("audit_list",
                "SELECT id, (extract(epoch from at) * 1000000)::bigint, actor, role, action, "
                "target, status, request_id, trace_id FROM gateway.audit "
                "WHERE ($1::bigint IS NULL OR id < $1) AND ($2 = '' OR actor = $2) "
                "ORDER BY id DESC LIMIT $3");
}

grpc::Status AuditLog::Record(const v1::AuditEntry& e) {
  // One INSERT, committed on its own: no BEGIN/COMMIT round trips.
  return db::Autocommit(pool_, "record audit entry", [&](pqxx::transaction_base& tx) {
    db::Exec(tx, "audit_insert", e.actor(), e.role(), e.action(), e.target(), e.status(),
             e.request_id(), e.trace_id());
    return grpc::Status::OK;
  });
}

grpc::Status AuditLog::List(const v1::ListAuditRequest& request, v1::ListAuditResponse* out) {
  if (request.page_size() < 0 || request.page_size() > 500) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "page_size: must be between 1 and 500 (0 for the default of 50)");
  }
  int limit = request.page_size() == 0 ? 50 : request.page_size();
  std::optional<long long> before;
  if (!request.page_token().empty()) {
    long long id = 0;
    const std::string& t = request.page_token();
    auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), id);
    if (ec != std::errc() || ptr != t.data() + t.size() || id <= 0) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "page_token: not a token returned by a previous list call");
    }
    before = id;
  }
  return pool_.Transact("list audit entries", [&](pqxx::transaction_base& tx) {
    pqxx::result r = db::Exec(tx, "audit_list", before, request.actor(), limit + 1);
    for (const pqxx::row& row : r) {
      if (out->entries_size() == limit) {
        out->set_next_page_token(std::to_string(out->entries(limit - 1).id()));
        break;
      }
      v1::AuditEntry* e = out->add_entries();
      e->set_id(row[0].as<long long>());
      long long us = row[1].as<long long>();
      e->mutable_at()->set_seconds(us / 1000000);
      e->mutable_at()->set_nanos(static_cast<int>(us % 1000000) * 1000);
      e->set_actor(row[2].as<std::string>());
      e->set_role(row[3].as<std::string>());
      e->set_action(row[4].as<std::string>());
      e->set_target(row[5].as<std::string>());
      e->set_status(row[6].as<int>());
      e->set_request_id(row[7].as<std::string>());
      e->set_trace_id(row[8].as<std::string>());
    }
    return grpc::Status::OK;
  });
}

}  // namespace flightdeck::gateway
