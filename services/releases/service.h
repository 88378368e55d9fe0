#pragma once

#include <chrono>
#include <string>

#include "common/clock/clock.h"
#include "flightdeck/v1/releases.grpc.pb.h"
#include "services/releases/store.h"

namespace flightdeck::cache {
class Cache;
}

namespace flightdeck::releases {

// The gRPC surface of the releases service: validate, call the store, map errors.
class ReleaseServiceImpl final : public v1::ReleaseService::Service {
 public:
  ReleaseServiceImpl(ReleaseStore& store, cache::Cache& cache, const Clock& clock,
                     std::chrono::milliseconds cache_ttl);

  grpc::Status CreateRelease(grpc::ServerContext* context, const v1::CreateReleaseRequest* request,
                             v1::Release* response) override;
  // Read-through the Redis cache: a release is cached as its serialized message under
  // CacheKey(id) and the key is deleted whenever the release changes.
  grpc::Status GetRelease(grpc::ServerContext* context, const v1::GetReleaseRequest* request,
                          v1::Release* response) override;
  grpc::Status ListReleases(grpc::ServerContext* context, const v1::ListReleasesRequest* request,
                            v1::ListReleasesResponse* response) override;

  static std::string CacheKey(const std::string& id) { return "flightdeck:release:v1:" + id; }

 private:
  ReleaseStore& store_;
  cache::Cache& cache_;
  const Clock& clock_;
  std::chrono::milliseconds cache_ttl_;
};

// Page tokens are opaque to clients: hex of "<created_at_us>/<id>" of the last row returned.
std::string EncodePageToken(const ListCursor& cursor);
bool DecodePageToken(const std::string& token, ListCursor* cursor);

}  // namespace flightdeck::releases
