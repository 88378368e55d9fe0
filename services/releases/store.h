#pragma once

#include <optional>
#include <string>
#include <vector>

#include <grpcpp/support/status.h>

#include "flightdeck/v1/releases.pb.h"

namespace flightdeck::db {
class Pool;
}

namespace flightdeck::releases {

// Position in the newest-first listing: the last row returned.
struct ListCursor {
  long long created_at_us = 0;
  std::string id;
};

struct ListQuery {
  std::string service;      // empty: any
  std::string environment;  // empty: any
  int limit = 50;
  std::optional<ListCursor> after;
};

// SQL for the releases schema (migrations/releases). Every method returns a status; none throws.
class ReleaseStore {
 public:
  explicit ReleaseStore(db::Pool& pool);

  // Inserts the release and its CREATED timeline event in one transaction; fills in id.
  grpc::Status Create(v1::Release* release);
  grpc::Status Get(const std::string& id, v1::Release* out);
  // Up to query.limit releases, newest first; *more tells whether another page exists.
  grpc::Status List(const ListQuery& query, std::vector<v1::Release>* out, bool* more);

 private:
  db::Pool& pool_;
};

}  // namespace flightdeck::releases
