#pragma once

#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "common/clock/clock.h"
#include "flightdeck/v1/incidents.pb.h"
#include "flightdeck/v1/releases.pb.h"

// Deploy correlation: releases of the incident's service/environment in the last 60 minutes
// are linked to it, and when the severity's policy says so, what runs there now is undone: a
// DEPLOY in flight is aborted, a DEPLOY that is the environment's current release and finished
// within 30 minutes is rolled back. A release that no longer runs (replaced, or rolled back) and
// a ROLLBACK release (which restores a known good version) are never acted on.
namespace flightdeck::incidents {

// What incidents needs of the releases service (a gRPC implementation below; tests may
// substitute a real in-process server, never a fake answer).
class ReleasesClient {
 public:
  virtual ~ReleasesClient() = default;
  // Releases of service/environment, newest first (enough pages to cover `since`).
  virtual grpc::Status RecentReleases(const std::string& service, const std::string& environment,
                                      Clock::TimePoint since, std::vector<v1::Release>* out) = 0;
  // What runs there now and what is in flight (GetServiceEnvironment).
  virtual grpc::Status Environment(const std::string& service, const std::string& environment,
                                   v1::ServiceEnvironment* out) = 0;
  // AbortRelease: a release in flight; its traffic is taken back.
  virtual grpc::Status Abort(const std::string& release_id, const std::string& reason,
                             v1::Release* out) = 0;
  // RollbackRelease: the current release; the one current before it is restored.
  virtual grpc::Status RollBack(const std::string& release_id, const std::string& reason,
                                v1::Release* out) = 0;
  // AnnotateRelease: a NOTE on the release's timeline.
  virtual grpc::Status Annotate(const std::string& release_id, const std::string& message) = 0;
};

// Calls flightdeck.v1.ReleaseService with actor "incidents" metadata and a 10 s deadline.
std::unique_ptr<ReleasesClient> MakeReleasesClient(std::shared_ptr<grpc::Channel> channel);

enum class CorrelationAction { kNone, kAbort, kRollBack };

struct CorrelationDecision {
  std::vector<v1::RelatedRelease> related;  // newest first
  CorrelationAction action = CorrelationAction::kNone;
  std::string target_release_id;            // set with kAbort / kRollBack
  // With kNone under auto rollback: recent deploys that would have been suspects but no longer
  // run; their timelines are told why nothing was done.
  std::vector<std::string> skipped_release_ids;
  std::string why;                          // for the timelines
};

// Pure decision. `releases` are the recent ones (any order), `now_running` what
// GetServiceEnvironment answered. Related: created_at or finished_at within 60 min of `opened`,
// or in flight however old, plus the release acted on. The action (only when `auto_rollback`):
//   - the environment's in_flight release, a DEPLOY not already ROLLING_BACK: kAbort;
//   - else its current release, a DEPLOY that finished within 30 minutes: kRollBack;
//   - else none, and `why` says why: "release X no longer runs: Y is current", "Y is a
//     rollback release", ... The acted-on release has rollback_requested set in `related`.
CorrelationDecision Correlate(const std::vector<v1::Release>& releases,
                              const v1::ServiceEnvironment& now_running, Clock::TimePoint opened,
                              bool auto_rollback);

// Whether a failed releases call is worth another attempt: the service was unreachable, slow,
// or busy. Anything else (FAILED_PRECONDITION, NOT_FOUND, INVALID_ARGUMENT, ...) answers the
// same way next time.
bool IsRetryable(const grpc::Status& status);

}  // namespace flightdeck::incidents
