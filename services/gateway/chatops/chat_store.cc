#include "services/gateway/chatops/chat_store.h"

#include "common/db/db.h"

namespace flightdeck::gateway::chatops {
namespace {

grpc::Status Invalid(const std::string& message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

// Platform ids are short printable tokens (Slack's T/U ids, Mattermost's 26-character ids).
bool IsPlatformId(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (c <= ' ' || c > '~') return false;
  }
  return true;
}

grpc::Status CheckKey(const std::string& platform, const std::string& team_id, const std::string& user_id) {
  if (platform != "slack" && platform != "mattermost") {
    return Invalid("platform: must be \"slack\" or \"mattermost\"");
  }
  if (!IsPlatformId(team_id)) return Invalid("team_id: is required (1-64 printable characters, no spaces)");
  if (!IsPlatformId(user_id)) return Invalid("user_id: is required (1-64 printable characters, no spaces)");
  return grpc::Status::OK;
}

void Fill(const pqxx::row& row, v1::ChatIdentity* out) {
  out->set_platform(row[0].as<std::string>());
  out->set_team_id(row[1].as<std::string>());
  out->set_user_id(row[2].as<std::string>());
  out->set_name(row[3].as<std::string>());
  v1::Token::Role role = v1::Token::ROLE_UNSPECIFIED;
  v1::Token::Role_Parse(row[4].as<std::string>(), &role);
  out->set_role(role);
  out->set_created_by(row[5].as<std::string>());
  long long us = row[6].as<long long>();
  out->mutable_created_at()->set_seconds(us / 1000000);
  out->mutable_created_at()->set_nanos(static_cast<int>(us % 1000000) * 1000);
}

constexpr char kColumns[] =
    "platform, team_id, user_id, name, role, created_by, "
    "(extract(epoch from created_at) * 1000000)::bigint";

}  // namespace

ChatStore::ChatStore(db::Pool& pool) : pool_(pool) {
  pool_.Prepare("chat_identity_insert",
                std::string("INSERT INTO gateway.chat_identities (platform, team_id, user_id, name, role, "
                            "created_by) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ") + kColumns);
  pool_.Prepare("chat_identity_list",
                std::string("SELECT ") + kColumns +
                    " FROM gateway.chat_identities WHERE ($1 = '' OR platform = $1) "
                    "ORDER BY platform, team_id, name, user_id");
  pool_.Prepare("chat_identity_delete",
                "DELETE FROM gateway.chat_identities WHERE platform = $1 AND team_id = $2 AND user_id = $3");
  pool_.Prepare("chat_identity_find",
                "SELECT name, role FROM gateway.chat_identities "
                "WHERE platform = $1 AND team_id = $2 AND user_id = $3");
  pool_.Prepare("chat_request_forget_old",
                "DELETE FROM gateway.chat_requests_seen WHERE seen_at < now() - make_interval(secs => $1)");
  pool_.Prepare("chat_delivery_insert",
                "INSERT INTO gateway.chat_deliveries (job_id, platform, attempt, http_status, error, latency_ms) "
                "VALUES ($1, $2, $3, $4, $5, $6)");
  pool_.Prepare("chat_request_record",
                "INSERT INTO gateway.chat_requests_seen (digest) VALUES ($1) ON CONFLICT DO NOTHING "
                "RETURNING digest");
}

grpc::Status ChatStore::Create(const v1::ChatIdentity& request, const std::string& created_by,
                                   v1::ChatIdentity* out) {
  if (grpc::Status s = CheckKey(request.platform(), request.team_id(), request.user_id()); !s.ok()) return s;
  const std::string& name = request.name();
  if (name.empty() || name.size() > 63) return Invalid("name: is required (1-63 characters)");
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '@';
    if (!ok) return Invalid("name: must be 1-63 characters of a-z, 0-9, '-', '_', '.' or '@'");
  }
  switch (request.role()) {
    case v1::Token::VIEWER: case v1::Token::DEPLOYER: case v1::Token::OPERATOR: case v1::Token::ADMIN:
      break;
    default:
      return Invalid("role: must be VIEWER, DEPLOYER, OPERATOR or ADMIN");
  }
  return pool_.Transact("link chat identity", [&](pqxx::transaction_base& tx) {
    try {
      pqxx::result r = db::Exec(tx, "chat_identity_insert", request.platform(), request.team_id(),
                                request.user_id(), name, api::RoleName(request.role()), created_by);
      Fill(r[0], out);
    } catch (const pqxx::unique_violation&) {
      return grpc::Status(grpc::StatusCode::ALREADY_EXISTS,
                          "user_id: " + request.platform() + " user " + request.user_id() + " of team " +
                              request.team_id() + " is linked already (delete the link first)");
    }
    return grpc::Status::OK;
  });
}

grpc::Status ChatStore::List(const std::string& platform, std::vector<v1::ChatIdentity>* out) {
  if (!platform.empty() && platform != "slack" && platform != "mattermost") {
    return Invalid("platform: must be \"slack\", \"mattermost\" or empty");
  }
  return pool_.Transact("list chat identities", [&](pqxx::transaction_base& tx) {
    for (const pqxx::row& row : db::Exec(tx, "chat_identity_list", platform)) Fill(row, &out->emplace_back());
    return grpc::Status::OK;
  });
}

grpc::Status ChatStore::Delete(const v1::DeleteChatIdentityRequest& request) {
  if (grpc::Status s = CheckKey(request.platform(), request.team_id(), request.user_id()); !s.ok()) return s;
  return pool_.Transact("unlink chat identity", [&](pqxx::transaction_base& tx) {
    pqxx::result r = db::Exec(tx, "chat_identity_delete", request.platform(), request.team_id(), request.user_id());
    if (r.affected_rows() == 0) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, request.platform() + " user " + request.user_id() +
                                                           " of team " + request.team_id() + " is not linked");
    }
    return grpc::Status::OK;
  });
}

grpc::Status ChatStore::Find(const std::string& platform, const std::string& team_id,
                                 const std::string& user_id, std::optional<Principal>* out) {
  out->reset();
  return pool_.Transact("find chat identity", [&](pqxx::transaction_base& tx) {
    pqxx::result r = db::Exec(tx, "chat_identity_find", platform, team_id, user_id);
    if (!r.empty()) {
      Principal p;
      p.name = r[0][0].as<std::string>();
      v1::Token::Role_Parse(r[0][1].as<std::string>(), &p.role);
      *out = p;
    }
    return grpc::Status::OK;
  });
}

grpc::Status ChatStore::RecordRequest(const std::string& digest, int window_seconds, bool* fresh) {
  return pool_.Transact("record chat request", [&](pqxx::transaction_base& tx) {
    db::Exec(tx, "chat_request_forget_old", window_seconds);
    *fresh = !db::Exec(tx, "chat_request_record", digest).empty();
    return grpc::Status::OK;
  });
}

grpc::Status ChatStore::RecordDelivery(long long job_id, const std::string& platform, int attempt,
                                      int http_status, const std::string& error, double latency_ms) {
  return pool_.Transact("record chat delivery", [&](pqxx::transaction_base& tx) {
    db::Exec(tx, "chat_delivery_insert", job_id, platform, attempt, http_status, error, latency_ms);
    return grpc::Status::OK;
  });
}

}  // namespace flightdeck::gateway::chatops
