#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <grpcpp/support/status.h>

#include "common/api/methods.h"
#include "services/gateway/core/lru.h"
#include "flightdeck/v1/gateway.pb.h"

namespace flightdeck::db {
class Pool;
}

namespace flightdeck::gateway {

using Role = v1::Token::Role;
using api::RoleAllows;
using api::RoleName;

struct Principal {
  std::string name;  // token name: the actor in audit entries and timelines
  Role role = v1::Token::ROLE_UNSPECIFIED;
};

std::string Sha256Hex(const std::string& data);
// "fd_" + 40 random hex characters (160 bits).
std::string NewTokenSecret();
// The bearer token from an Authorization header value; nullopt when absent or not "Bearer".
std::optional<std::string> BearerToken(const std::string& authorization);

// API tokens, stored as SHA-256 hashes in gateway.tokens. Lookups are cached in memory (bounded)
// for
// `cache_ttl` (a revoked token keeps working on other gateway replicas for at most that long;
// on this replica revocation is immediate). Thread-safe.
class TokenStore {
 public:
  // admin_secret: FLIGHTDECK_ADMIN_TOKEN, empty when unset; it authenticates as
  // "bootstrap-admin" with the admin role and is never stored.
  TokenStore(db::Pool& pool, std::string admin_secret, std::chrono::milliseconds cache_ttl,
             size_t max_cached = kMaxCachedTokens);
  static constexpr size_t kMaxCachedTokens = 10000;

  // Answers from memory when it can (no I/O): nullopt means "ask the database" via Lookup().
  std::optional<std::optional<Principal>> LookupCached(const std::string& secret);
  // UNAUTHENTICATED when the token is unknown or revoked; UNAVAILABLE when the DB is down.
  grpc::Status Lookup(const std::string& secret, Principal* out);

  grpc::Status Create(const v1::CreateTokenRequest& request, const std::string& created_by,
                      v1::Token* out);
  grpc::Status List(std::vector<v1::Token>* out);
  grpc::Status Revoke(const std::string& name);

 private:
  struct Entry {
    std::optional<Principal> principal;  // nullopt: known bad
    std::chrono::steady_clock::time_point expires;
  };
  db::Pool& pool_;
  std::string admin_hash_;
  std::chrono::milliseconds cache_ttl_;
  std::mutex mu_;
  // By secret hash. Known tokens and unknown ones are remembered apart, each least recently
  // used first out, so that a flood of random bearer tokens only evicts other unknown ones.
  LruMap<std::string, Entry> valid_;
  LruMap<std::string, Entry> invalid_;
};

}  // namespace flightdeck::gateway
