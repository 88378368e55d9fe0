#include "services/gateway/core/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "common/db/db.h"

namespace flightdeck::gateway {
namespace {

constexpr char kBootstrapAdmin[] = "bootstrap-admin";
// Unknown tokens are remembered briefly so that a client retrying a bad token cannot turn
// every request into a database query.
constexpr std::chrono::seconds kNegativeTtl(5);

std::string Hex(const unsigned char* data, size_t n) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kHex[data[i] >> 4]);
    out.push_back(kHex[data[i] & 0xf]);
  }
  return out;
}

bool IsTokenName(const std::string& name) {
  if (name.empty() || name.size() > 63) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return name != kBootstrapAdmin;
}

}  // namespace

std::string Sha256Hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  return Hex(digest, len);
}

std::string NewTokenSecret() {
  unsigned char bytes[20];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("RAND_bytes failed");
  return "fd_" + Hex(bytes, sizeof bytes);
}

std::optional<std::string> BearerToken(const std::string& authorization) {
  constexpr char kPrefix[] = "bearer ";
  if (authorization.size() <= sizeof kPrefix - 1) return std::nullopt;
  for (size_t i = 0; i < sizeof kPrefix - 1; ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != kPrefix[i]) return std::nullopt;
  }
  std::string token = authorization.substr(sizeof kPrefix - 1);
  while (!token.empty() && token.back() == ' ') token.pop_back();
  while (!token.empty() && token.front() == ' ') token.erase(token.begin());
  if (token.empty()) return std::nullopt;
  return token;
}

TokenStore::TokenStore(db::Pool& pool, std::string admin_secret,
                       std::chrono::milliseconds cache_ttl, size_t max_cached)
    : pool_(pool),
      admin_hash_(admin_secret.empty() ? std::string() : Sha256Hex(admin_secret)),
      cache_ttl_(cache_ttl),
      valid_(max_cached),
      invalid_(max_cached / 10 + 1) {
  pool_.Prepare("tokens_lookup",
                "SELECT name, role FROM gateway.tokens WHERE secret_sha256 = $1 AND revoked_at IS NULL");
  pool_.Prepare("tokens_insert",
                "INSERT INTO gateway.tokens (name, role, secret_sha256, created_by) VALUES "
                "($1, $2, $3, $4) RETURNING id::text, "
                "(extract(epoch from created_at) * 1000000)::bigint");
  pool_.Prepare("tokens_list",
                "SELECT id::text, name, role, created_by, "
                "(extract(epoch from created_at) * 1000000)::bigint FROM gateway.tokens "
                "WHERE revoked_at IS NULL ORDER BY name");
  pool_.Prepare("tokens_revoke",
                "UPDATE gateway.tokens SET revoked_at = now() WHERE name = $1 AND revoked_at IS NULL "
                "RETURNING secret_sha256");
}

std::optional<std::optional<Principal>> TokenStore::LookupCached(const std::string& secret) {
  std::string hash = Sha256Hex(secret);
  if (!admin_hash_.empty() && CRYPTO_memcmp(hash.data(), admin_hash_.data(), hash.size()) == 0) {
    return std::optional<Principal>(Principal{kBootstrapAdmin, v1::Token::ADMIN});
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (LruMap<std::string, Entry>* cache : {&valid_, &invalid_}) {
    Entry* entry = cache->Find(hash);
    if (entry == nullptr) continue;
    if (entry->expires < std::chrono::steady_clock::now()) {
      cache->Erase(hash);
      return std::nullopt;
    }
    return entry->principal;
  }
  return std::nullopt;
}

grpc::Status TokenStore::Lookup(const std::string& secret, Principal* out) {
  if (auto cached = LookupCached(secret)) {
    if (!*cached) return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "invalid or revoked token");
    *out = **cached;
    return grpc::Status::OK;
  }
  std::string hash = Sha256Hex(secret);
  std::optional<Principal> found;
  grpc::Status s = pool_.Transact("look up token", [&](pqxx::transaction_base& tx) {
    pqxx::result r = db::Exec(tx, "tokens_lookup", hash);
    if (!r.empty()) {
      Principal p;
      p.name = r[0][0].as<std::string>();
      v1::Token::Role_Parse(r[0][1].as<std::string>(), &p.role);
      found = p;
    }
    return grpc::Status::OK;
  });
  if (!s.ok()) return s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto ttl = found ? cache_ttl_ : std::chrono::milliseconds(kNegativeTtl);
    (found ? valid_ : invalid_).Put(hash, Entry{found, std::chrono::steady_clock::now() + ttl});
  }
  if (!found) return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "invalid or revoked token");
  *out = *found;
  return grpc::Status::OK;
}

grpc::Status TokenStore::Create(const v1::CreateTokenRequest& request,
                                const std::string& created_by, v1::Token* out) {
  if (!IsTokenName(request.name())) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "name: must be 1-63 characters of a-z, 0-9, '-', '_' or '.' (and not \"" +
                            std::string(kBootstrapAdmin) + "\")");
  }
  if (request.role() == v1::Token::ROLE_UNSPECIFIED) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "role: is required (VIEWER, DEPLOYER, OPERATOR, ADMIN or INGEST)");
  }
  std::string secret = NewTokenSecret();
  grpc::Status s = pool_.Transact("create token", [&](pqxx::transaction_base& tx) {
    try {
      pqxx::result r = db::Exec(tx, "tokens_insert", request.name(), RoleName(request.role()),
                                Sha256Hex(secret), created_by);
      out->set_id(r[0][0].as<std::string>());
      long long us = r[0][1].as<long long>();
      out->mutable_created_at()->set_seconds(us / 1000000);
      out->mutable_created_at()->set_nanos(static_cast<int>(us % 1000000) * 1000);
    } catch (const pqxx::unique_violation&) {
      return grpc::Status(grpc::StatusCode::ALREADY_EXISTS,
                          "name: a token named \"" + request.name() + "\" already exists");
    }
    return grpc::Status::OK;
  });
  if (!s.ok()) return s;
  out->set_name(request.name());
  out->set_role(request.role());
  out->set_created_by(created_by);
  out->set_secret(secret);
  return grpc::Status::OK;
}

grpc::Status TokenStore::List(std::vector<v1::Token>* out) {
  return pool_.Transact("list tokens", [&](pqxx::transaction_base& tx) {
    for (const pqxx::row& row : db::Exec(tx, "tokens_list")) {
      v1::Token& t = out->emplace_back();
      t.set_id(row[0].as<std::string>());
      t.set_name(row[1].as<std::string>());
      Role role = v1::Token::ROLE_UNSPECIFIED;
      v1::Token::Role_Parse(row[2].as<std::string>(), &role);
      t.set_role(role);
      t.set_created_by(row[3].as<std::string>());
      long long us = row[4].as<long long>();
      t.mutable_created_at()->set_seconds(us / 1000000);
      t.mutable_created_at()->set_nanos(static_cast<int>(us % 1000000) * 1000);
    }
    return grpc::Status::OK;
  });
}

grpc::Status TokenStore::Revoke(const std::string& name) {
  std::string hash;
  grpc::Status s = pool_.Transact("revoke token", [&](pqxx::transaction_base& tx) {
    pqxx::result r = db::Exec(tx, "tokens_revoke", name);
    if (r.empty()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "token \"" + name + "\" not found");
    }
    hash = r[0][0].as<std::string>();
    return grpc::Status::OK;
  });
  if (s.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    valid_.Erase(hash);
  }
  return s;
}

}  // namespace flightdeck::gateway
