#pragma once

#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "common/clock/clock.h"
#include "flightdeck/v1/incidents.pb.h"
#include "flightdeck/v1/releases.pb.h"

// Deploy correlation (issue 5): releases of the incident's service/environment in the last
// 60 minutes are linked; one in flight or finished within 30 minutes is rolled back when the
// severity's policy says so.
namespace flightdeck::incidents {

// What incidents needs of the releases service (a gRPC implementation below; tests may
// substitute a real in-process server, never a fake answer).
class ReleasesClient {
 public:
  virtual ~ReleasesClient() = default;
  // Releases of service/environment, newest first (enough pages to cover `since`).
  virtual grpc::Status RecentReleases(const std::string& service, const std::string& environment,
                                      Clock::TimePoint since, std::vector<v1::Release>* out) = 0;
  // A release in flight is aborted (its traffic taken back); a finished one is rolled back to
  // the release before it.
  virtual grpc::Status Rollback(const std::string& release_id, const std::string& reason,
                                v1::Release* out) = 0;
};

// Calls flightdeck.v1.ReleaseService with actor "incidents" metadata and a 10 s deadline.
std::unique_ptr<ReleasesClient> MakeReleasesClient(std::shared_ptr<grpc::Channel> channel);

struct CorrelationDecision {
  std::vector<v1::RelatedRelease> related;  // created or finished in the last 60 min
  std::string rollback_release_id;          // empty: none
  std::string why;                          // for the timeline
};

// Pure decision: which of `releases` relate (created_at or finished_at within 60 min of
// `opened`, or in flight however old), and which one (the newest by created_at) to roll back:
// in flight (not terminal, not queued) or finished (SUCCEEDED) within 30 minutes, when
// `auto_rollback` is true. Releases already rolled back, aborted or failed, a release that is
// ROLLING_BACK, and ROLLBACK-kind releases are linked but never rolled back. `related` is
// newest first; the chosen one has rollback_requested set when auto_rollback is true.
CorrelationDecision Correlate(const std::vector<v1::Release>& releases, Clock::TimePoint opened,
                              bool auto_rollback);

}  // namespace flightdeck::incidents
