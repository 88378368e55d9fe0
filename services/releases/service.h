#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "common/clock/clock.h"
#include "common/db/change_feed.h"
#include "flightdeck/v1/releases.grpc.pb.h"
#include "services/releases/hot_releases.h"
#include "services/releases/pipeline.h"
#include "services/releases/store.h"
#include "services/releases/timeline_tail.h"

namespace flightdeck::cache {
class Cache;
}

namespace flightdeck::releases {

// The gRPC surface of the releases service: validate, call the pipeline or the store, map
// errors. The actor is the token name the gateway authenticated (x-flightdeck-actor).
// GetRelease, the hot read, is served on the server's completion queue (ServeGetRelease); the
// rest on its call threads.
class ReleaseServiceImpl final
    : public v1::ReleaseService::WithAsyncMethod_GetRelease<v1::ReleaseService::Service> {
 public:
  ReleaseServiceImpl(ReleaseStore& store, Pipeline& pipeline, cache::Cache& cache,
                     std::chrono::milliseconds cache_ttl);

  grpc::Status CreateRelease(grpc::ServerContext* context, const v1::CreateReleaseRequest* request,
                             v1::Release* response) override;
  // From the releases this replica answered lately (HotReleases, when it has a change feed),
  // else read-through the Redis cache: a release is cached as its serialized message under
  // CacheKey(id), versioned by its revision; whenever the release changes, ReleaseChanged
  // invalidates that version, so a slow reader cannot put an older revision back.
  grpc::Status GetRelease(grpc::ServerContext* context, const v1::GetReleaseRequest* request,
                          v1::Release* response) override;
  // Serves GetRelease on `queue` (common/grpc/queued_unary.h): a release answered from memory
  // costs no thread hand-off. A read from Redis or PostgreSQL holds one of the queue's threads.
  void ServeGetRelease(grpc::ServerCompletionQueue* queue);
  grpc::Status ListReleases(grpc::ServerContext* context, const v1::ListReleasesRequest* request,
                            v1::ListReleasesResponse* response) override;
  grpc::Status ListReleaseEvents(grpc::ServerContext* context,
                                 const v1::ListReleaseEventsRequest* request,
                                 v1::ListReleaseEventsResponse* response) override;
  grpc::Status ApproveRelease(grpc::ServerContext* context, const v1::ReleaseActionRequest* request,
                              v1::Release* response) override;
  grpc::Status PromoteRelease(grpc::ServerContext* context, const v1::ReleaseActionRequest* request,
                              v1::Release* response) override;
  grpc::Status AbortRelease(grpc::ServerContext* context, const v1::ReleaseActionRequest* request,
                            v1::Release* response) override;
  grpc::Status RollbackRelease(grpc::ServerContext* context, const v1::ReleaseActionRequest* request,
                               v1::Release* response) override;
  grpc::Status PostObservations(grpc::ServerContext* context,
                                const v1::PostObservationsRequest* request,
                                v1::Release* response) override;
  grpc::Status PostVerification(grpc::ServerContext* context,
                                const v1::PostVerificationRequest* request,
                                v1::Release* response) override;
  grpc::Status GetServiceEnvironment(grpc::ServerContext* context,
                                     const v1::GetServiceEnvironmentRequest* request,
                                     v1::ServiceEnvironment* response) override;
  // Every (service, environment) that has seen a release, sorted, as GetServiceEnvironment
  // answers each: three SQL statements for them all.
  grpc::Status ListServiceEnvironments(grpc::ServerContext* context,
                                       const v1::ListServiceEnvironmentsRequest* request,
                                       v1::ListServiceEnvironmentsResponse* response) override;
  // A NOTE on the release's timeline from another service (incidents' deploy correlation).
  grpc::Status AnnotateRelease(grpc::ServerContext* context, const v1::AnnotateReleaseRequest* request,
                               v1::ReleaseEvent* response) override;
  grpc::Status RollbackServiceEnvironment(grpc::ServerContext* context,
                                          const v1::RollbackServiceEnvironmentRequest* request,
                                          v1::Release* response) override;
  // Sends the timeline from after_event_id, then each new event as it is recorded, until the
  // release has ended and everything was sent, or the client goes away.
  grpc::Status WatchRelease(grpc::ServerContext* context, const v1::WatchReleaseRequest* request,
                            grpc::ServerWriter<v1::ReleaseEvent>* writer) override;

  // Maintenance windows and freezes (window_gate.h); UNAVAILABLE until SetWindows.
  grpc::Status CreateWindow(grpc::ServerContext* context, const v1::Window* request,
                            v1::Window* response) override;
  grpc::Status GetWindow(grpc::ServerContext* context, const v1::WindowNameRequest* request,
                         v1::Window* response) override;
  grpc::Status ListWindows(grpc::ServerContext* context, const v1::ListWindowsRequest* request,
                           v1::ListWindowsResponse* response) override;
  grpc::Status DeleteWindow(grpc::ServerContext* context, const v1::WindowNameRequest* request,
                            v1::Window* response) override;
  grpc::Status GetNextWindow(grpc::ServerContext* context, const v1::GetNextWindowRequest* request,
                             v1::NextWindow* response) override;
  grpc::Status GetWindowChecklist(grpc::ServerContext* context,
                                  const v1::GetWindowChecklistRequest* request,
                                  v1::Checklist* response) override;
  grpc::Status TickChecklistItem(grpc::ServerContext* context,
                                 const v1::TickChecklistItemRequest* request,
                                 v1::Checklist* response) override;
  void SetWindows(WindowGate* windows) { windows_ = windows; }

  static std::string CacheKey(const std::string& id) { return "flightdeck:release:v1:" + id; }
  // WatchRelease waits on it for new events (without one it polls every 250 ms), and GetRelease
  // keeps what it answered in memory until it moves. Set once at wiring time.
  void SetChangeFeed(const db::ChangeFeed* feed);
  // The store's OnChange: this replica committed `revision` of the release.
  void ReleaseChanged(const std::string& id, long long revision);

 private:
  // A release id as given (full, or a unique prefix of at least 4 hex characters, as git takes
  // a commit) to the full id. A full id is taken as it is, without a query; a prefix is looked
  // up (`found`, when given, gets the release then). NOT_FOUND when nothing matches;
  // INVALID_ARGUMENT "ambiguous" listing the candidates when several do.
  grpc::Status ResolveId(const std::string& given, std::string* id, v1::Release* found = nullptr);

  ReleaseStore& store_;
  Pipeline& pipeline_;
  cache::Cache& cache_;
  std::chrono::milliseconds cache_ttl_;
  const db::ChangeFeed* feed_ = nullptr;
  std::optional<HotReleases> hot_;  // with a feed only
  WindowGate* windows_ = nullptr;
  TimelineTail tail_;  // what the Watch streams read, once for all of them
};

// Page tokens are opaque to clients: hex of "<created_at_us>/<id>" of the last row returned.
std::string EncodePageToken(const ListCursor& cursor);
bool DecodePageToken(const std::string& token, ListCursor* cursor);

}  // namespace flightdeck::releases
