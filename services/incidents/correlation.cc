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

  grpc::Status Environment(const std::string& service, const std::string& environment,
                           v1::ServiceEnvironment* out) override {
    grpc::ClientContext context;
    Prepare(&context);
    v1::GetServiceEnvironmentRequest request;
    request.set_service(service);
    request.set_environment(environment);
    return stub_->GetServiceEnvironment(&context, request, out);
  }

  grpc::Status Abort(const std::string& release_id, const std::string& reason,
                     v1::Release* out) override {
    grpc::ClientContext context;
    Prepare(&context);
    return stub_->AbortRelease(&context, Action(release_id, reason), out);
  }

  grpc::Status RollBack(const std::string& release_id, const std::string& reason,
                        v1::Release* out) override {
    grpc::ClientContext context;
    Prepare(&context);
    return stub_->RollbackRelease(&context, Action(release_id, reason), out);
  }

  grpc::Status Annotate(const std::string& release_id, const std::string& message) override {
    grpc::ClientContext context;
    Prepare(&context);
    v1::AnnotateReleaseRequest request;
    request.set_id(release_id);
    request.set_message(message);
    v1::ReleaseEvent event;
    return stub_->AnnotateRelease(&context, request, &event);
  }

 private:
  static void Prepare(grpc::ClientContext* context) {
    context->set_deadline(std::chrono::system_clock::now() + kCallDeadline);
    // On its own authority: releases knows the caller by its certificate, and the name is what
    // the timeline shows when the ports are plaintext.
    context->AddMetadata(rpc::kActorKey, "incidents");
  }

  static v1::ReleaseActionRequest Action(const std::string& id, const std::string& reason) {
    v1::ReleaseActionRequest request;
    request.set_id(id);
    request.set_reason(reason);
    return request;
  }

  std::unique_ptr<v1::ReleaseService::Stub> stub_;
};

}  // namespace

std::unique_ptr<ReleasesClient> MakeReleasesClient(std::shared_ptr<grpc::Channel> channel) {
  return std::make_unique<GrpcReleasesClient>(std::move(channel));
}

bool IsRetryable(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return true;
    default:
      return false;
  }
}

CorrelationDecision Correlate(const std::vector<v1::Release>& releases,
                              const v1::ServiceEnvironment& now_running, Clock::TimePoint opened,
                              bool auto_rollback) {
  // What runs now decides the action; the listing only says what to link.
  const v1::Release* in_flight =
      now_running.has_in_flight() && !now_running.in_flight().id().empty() ? &now_running.in_flight()
                                                                            : nullptr;
  const v1::Release* current =
      now_running.has_current() && !now_running.current().id().empty() ? &now_running.current()
                                                                        : nullptr;
  const v1::Release* target = nullptr;
  CorrelationAction action = CorrelationAction::kNone;
  if (in_flight != nullptr && in_flight->kind() != v1::Release::ROLLBACK &&
      in_flight->state() != v1::Release::ROLLING_BACK && InFlight(*in_flight)) {
    target = in_flight;
    action = CorrelationAction::kAbort;
  } else if (current != nullptr && current->kind() != v1::Release::ROLLBACK &&
             Within(current->finished_at(), opened, kRollbackWindow)) {
    target = current;
    action = CorrelationAction::kRollBack;
  }

  std::vector<const v1::Release*> sorted;
  bool target_listed = false;
  for (const auto& r : releases) {
    sorted.push_back(&r);
    target_listed = target_listed || (target != nullptr && r.id() == target->id());
  }
  // A canary started hours ago may not be in the listing of the last hour; it is linked anyway.
  if (target != nullptr && !target_listed) sorted.push_back(target);
  std::stable_sort(sorted.begin(), sorted.end(), [](const v1::Release* a, const v1::Release* b) {
    return MicrosOf(a->created_at()) > MicrosOf(b->created_at());
  });

  CorrelationDecision decision;
  std::vector<const v1::Release*> no_longer_running;
  for (const v1::Release* r : sorted) {
    const bool in_flight_now = InFlight(*r);
    const bool recent = Within(r->created_at(), opened, kRelatedWindow) ||
                        Within(r->finished_at(), opened, kRelatedWindow);
    const bool is_target = target != nullptr && r->id() == target->id();
    if (!in_flight_now && !recent && !is_target) continue;
    // A deploy that finished recently but is not what runs: the suspect of a naive reading.
    if (!is_target && !in_flight_now && r->kind() == v1::Release::DEPLOY &&
        (current == nullptr || r->id() != current->id()) &&
        Within(r->finished_at(), opened, kRollbackWindow) &&
        (r->state() == v1::Release::SUCCEEDED || r->state() == v1::Release::ROLLED_BACK)) {
      no_longer_running.push_back(r);
    }
    v1::RelatedRelease related;
    related.set_release_id(r->id());
    related.set_version(r->version());
    related.set_commit_sha(r->commit_sha());
    related.set_state(v1::Release::State_Name(r->state()));
    if (r->has_created_at()) *related.mutable_created_at() = r->created_at();
    if (r->has_finished_at()) *related.mutable_finished_at() = r->finished_at();
    if (in_flight_now) {
      related.set_note("in flight when the incident opened");
    } else if (r->has_finished_at()) {
      related.set_note("finished " + std::to_string(MinutesBefore(r->finished_at(), opened)) +
                       " min before the incident opened");
    } else {
      related.set_note("created " + std::to_string(MinutesBefore(r->created_at(), opened)) +
                       " min before the incident opened");
    }
    if (is_target) related.set_rollback_requested(auto_rollback);
    decision.related.push_back(std::move(related));
  }

  if (target != nullptr) {
    const std::string what =
        Describe(*target) + " (" + v1::Release::State_Name(target->state()) +
        (action == CorrelationAction::kAbort
             ? ") is in flight"
             : ", current) finished " + std::to_string(MinutesBefore(target->finished_at(), opened)) +
                   " min before the incident opened");
    if (!auto_rollback) {
      decision.why = what + ": a likely cause; automatic rollback is off for this severity";
      return decision;
    }
    decision.action = action;
    decision.target_release_id = target->id();
    decision.why = what + (action == CorrelationAction::kAbort ? ": aborting it" : ": rolling it back");
    return decision;
  }

  // Nothing to act on: say why, naming what runs.
  std::string running;
  if (current != nullptr) {
    running = current->id() + (current->kind() == v1::Release::ROLLBACK
                                   ? " (a rollback to " + current->version() + ")"
                                   : " (" + current->version() + ")") +
              " is current";
  } else {
    running = "no release is current in " + now_running.environment();
  }
  std::vector<std::string> reasons;
  for (const v1::Release* r : no_longer_running) {
    reasons.push_back("release " + r->id() + " no longer runs: " + running);
    if (auto_rollback) decision.skipped_release_ids.push_back(r->id());
  }
  if (in_flight != nullptr) {
    reasons.push_back(in_flight->kind() == v1::Release::ROLLBACK
                          ? "release " + in_flight->id() + " in flight is a rollback to " +
                                in_flight->version() + ": left alone"
                          : "release " + in_flight->id() + " in flight is already " +
                                v1::Release::State_Name(in_flight->state()));
  }
  if (current != nullptr && current->kind() == v1::Release::ROLLBACK &&
      Within(current->finished_at(), opened, kRollbackWindow)) {
    reasons.push_back("the current release " + current->id() + " is a rollback to " +
                      current->version() + ": left alone");
  }
  if (reasons.empty()) {
    reasons.push_back(decision.related.empty()
                          ? "no release in the last 60 minutes"
                          : std::to_string(decision.related.size()) +
                                " related release(s), none in flight or current and finished "
                                "within 30 minutes");
  }
  for (const std::string& r : reasons) decision.why += (decision.why.empty() ? "" : "; ") + r;
  return decision;
}

}  // namespace flightdeck::incidents
