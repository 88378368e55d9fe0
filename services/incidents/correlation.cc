#include "services/incidents/correlation.h"

#include <algorithm>
#include <chrono>

#include "common/clock/timestamps.h"
#include "common/grpc/metadata.h"
#include "flightdeck/v1/releases.grpc.pb.h"

namespace flightdeck::incidents {
namespace {

using std::chrono::minutes;

constexpr auto kRelatedWindow = minutes(60);
constexpr auto kRollbackWindow = minutes(30);
constexpr auto kCallDeadline = std::chrono::seconds(10);
constexpr int kPageSize = 50;
// A bound on paging so that a releases service that keeps answering with a next page token
// cannot hold an incident's opening forever.
constexpr int kMaxPages = 20;

bool IsTerminal(v1::Release::State s) {
  return s == v1::Release::SUCCEEDED || s == v1::Release::ROLLED_BACK ||
         s == v1::Release::ABORTED || s == v1::Release::FAILED;
}

// Not finished and actually started: a queued release has not touched the environment yet.
bool InFlight(const v1::Release& r) {
  return !IsTerminal(r.state()) && r.state() != v1::Release::STATE_UNSPECIFIED && !r.queued();
}

bool Within(const google::protobuf::Timestamp& ts, Clock::TimePoint opened,
            Clock::TimePoint::duration window) {
  if (ts.seconds() == 0 && ts.nanos() == 0) return false;
  const Clock::TimePoint t = TimeOf(ts);
  return t >= opened - window;
}

long long MinutesBefore(const google::protobuf::Timestamp& ts, Clock::TimePoint opened) {
  return std::chrono::duration_cast<minutes>(opened - TimeOf(ts)).count();
}

std::string Describe(const v1::Release& r) {
  std::string s = "release " + r.id();
  if (!r.version().empty()) s += " (" + r.version() + ")";
  return s;
}

class GrpcReleasesClient final : public ReleasesClient {
 public:
  explicit GrpcReleasesClient(std::shared_ptr<grpc::Channel> channel)
      : stub_(v1::ReleaseService::NewStub(std::move(channel))) {}

  grpc::Status RecentReleases(const std::string& service, const std::string& environment,
                              Clock::TimePoint since, std::vector<v1::Release>* out) override {
    out->clear();
    v1::ListReleasesRequest request;
    request.set_service(service);
    request.set_environment(environment);
    request.set_page_size(kPageSize);
    for (int page = 0; page < kMaxPages; ++page) {
      grpc::ClientContext context;
      Prepare(&context);
      v1::ListReleasesResponse response;
      grpc::Status status = stub_->ListReleases(&context, request, &response);
      if (!status.ok()) return status;
      bool older_seen = false;
      for (auto& r : *response.mutable_releases()) {
        if (r.has_created_at() && TimeOf(r.created_at()) < since) older_seen = true;
        out->push_back(std::move(r));
      }
      if (older_seen || response.next_page_token().empty()) break;
      request.set_page_token(response.next_page_token());
    }
    std::stable_sort(out->begin(), out->end(), [](const v1::Release& a, const v1::Release& b) {
      return MicrosOf(a.created_at()) > MicrosOf(b.created_at());
    });
    return grpc::Status::OK;
  }

  // The releases service rolls back what runs (a SUCCEEDED release: to the one before it);
  // a release still in flight is aborted instead, which takes its traffic back.
  grpc::Status Rollback(const std::string& release_id, const std::string& reason,
                        v1::Release* out) override {
    v1::Release current;
    {
      grpc::ClientContext context;
      Prepare(&context);
      v1::GetReleaseRequest get;
      get.set_id(release_id);
      if (grpc::Status s = stub_->GetRelease(&context, get, &current); !s.ok()) return s;
    }
    grpc::ClientContext context;
    Prepare(&context);
    v1::ReleaseActionRequest request;
    request.set_id(release_id);
    request.set_reason(reason);
    if (InFlight(current)) return stub_->AbortRelease(&context, request, out);
    return stub_->RollbackRelease(&context, request, out);
  }

 private:
  static void Prepare(grpc::ClientContext* context) {
    context->set_deadline(std::chrono::system_clock::now() + kCallDeadline);
    context->AddMetadata(rpc::kActorKey, "incidents");
    context->AddMetadata(rpc::kRoleKey, "OPERATOR");
  }

  std::unique_ptr<v1::ReleaseService::Stub> stub_;
};

}  // namespace

std::unique_ptr<ReleasesClient> MakeReleasesClient(std::shared_ptr<grpc::Channel> channel) {
  return std::make_unique<GrpcReleasesClient>(std::move(channel));
}

CorrelationDecision Correlate(const std::vector<v1::Release>& releases, Clock::TimePoint opened,
                              bool auto_rollback) {
  std::vector<const v1::Release*> sorted;
  for (const auto& r : releases) sorted.push_back(&r);
  std::stable_sort(sorted.begin(), sorted.end(), [](const v1::Release* a, const v1::Release* b) {
    return MicrosOf(a->created_at()) > MicrosOf(b->created_at());
  });

  CorrelationDecision decision;
  const v1::Release* chosen = nullptr;
  for (const v1::Release* r : sorted) {
    // A release still in flight is linked however long ago it started: a slow canary is the
    // likeliest cause of all.
    const bool in_flight = InFlight(*r);
    const bool recent = Within(r->created_at(), opened, kRelatedWindow) ||
                        Within(r->finished_at(), opened, kRelatedWindow);
    if (!in_flight && !recent) continue;
    // ROLLING_BACK is already being undone; a ROLLBACK release restores a known good version.
    const bool can_roll_back =
        r->kind() != v1::Release::ROLLBACK &&
        (in_flight ? r->state() != v1::Release::ROLLING_BACK
                   : r->state() == v1::Release::SUCCEEDED &&
                         Within(r->finished_at(), opened, kRollbackWindow));
    v1::RelatedRelease related;
    related.set_release_id(r->id());
    related.set_version(r->version());
    related.set_commit_sha(r->commit_sha());
    related.set_state(v1::Release::State_Name(r->state()));
    if (r->has_created_at()) *related.mutable_created_at() = r->created_at();
    if (r->has_finished_at()) *related.mutable_finished_at() = r->finished_at();
    if (in_flight) {
      related.set_note("in flight when the incident opened");
    } else if (r->has_finished_at()) {
      related.set_note("finished " + std::to_string(MinutesBefore(r->finished_at(), opened)) +
                       " min before the incident opened");
    } else {
      related.set_note("created " + std::to_string(MinutesBefore(r->created_at(), opened)) +
                       " min before the incident opened");
    }
    if (chosen == nullptr && can_roll_back) {
      chosen = r;
      related.set_rollback_requested(auto_rollback);
    }
    decision.related.push_back(std::move(related));
  }

  if (decision.related.empty()) {
    decision.why = "no release in the last 60 minutes";
  } else if (chosen == nullptr) {
    decision.why = std::to_string(decision.related.size()) +
                   " related release(s), none in flight or finished within 30 minutes";
  } else if (!auto_rollback) {
    decision.why = Describe(*chosen) + " (" + v1::Release::State_Name(chosen->state()) +
                   ") is a likely cause; automatic rollback is off for this severity";
  } else {
    decision.rollback_release_id = chosen->id();
    decision.why = Describe(*chosen) + " (" + v1::Release::State_Name(chosen->state()) +
                   (InFlight(*chosen) ? ") was in flight" : ") finished within 30 minutes") +
                   " when the incident opened: rolling it back";
  }
  return decision;
}

}  // namespace flightdeck::incidents
