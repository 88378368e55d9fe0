#include "services/releases/checklist.h"

#include <grpcpp/client_context.h>

#include "common/clock/timestamps.h"
#include "common/grpc/channel.h"
#include "flightdeck/v1/backups.grpc.pb.h"
#include "services/releases/store.h"
#include "services/releases/window_store.h"

namespace flightdeck::releases {
namespace {

using State = v1::ChecklistItemState;

std::chrono::seconds WithinOf(const v1::ChecklistItem& item) {
  return std::chrono::seconds(item.within().seconds());
}

void Set(v1::ChecklistItemState* s, State::State state, const std::string& reason) {
  s->set_state(state);
  s->set_reason(reason);
}

class BackupFactsClient final : public BackupFacts {
 public:
  explicit BackupFactsClient(std::shared_ptr<grpc::Channel> channel)
      : stub_(v1::BackupService::NewStub(std::move(channel))) {}

  grpc::Status LastVerified(const std::string& target,
                            std::optional<Clock::TimePoint>* verified_at) override {
    grpc::ClientContext context;
    context.set_deadline(rpc::DeadlineAfter(std::chrono::seconds(10)));
    v1::ListBackupsRequest request;
    request.set_target(target);
    request.set_state("SUCCEEDED");
    request.set_page_size(50);
    v1::ListBackupsResponse response;
    if (grpc::Status s = stub_->ListBackups(&context, request, &response); !s.ok()) return s;
    verified_at->reset();
    for (const v1::Backup& b : response.backups()) {
      if (b.verification().result() != v1::BackupVerification::PASSED) continue;
      const Clock::TimePoint at = TimeOf(b.verification().finished_at());
      if (!*verified_at || at > **verified_at) *verified_at = at;
    }
    return grpc::Status::OK;
  }

 private:
  std::unique_ptr<v1::BackupService::Stub> stub_;
};

}  // namespace

std::unique_ptr<BackupFacts> MakeBackupFactsClient(std::shared_ptr<grpc::Channel> channel) {
  return std::make_unique<BackupFactsClient>(std::move(channel));
}

std::string HumanDuration(std::chrono::seconds d) {
  const long long s = d.count();
  if (s % 86400 == 0 && s >= 7 * 86400) return std::to_string(s / 86400) + "d";
  if (s % 3600 == 0) return std::to_string(s / 3600) + "h";
  if (s % 60 == 0) return std::to_string(s / 60) + "m";
  return std::to_string(s) + "s";
}

ChecklistEvaluator::ChecklistEvaluator(WindowStore& windows, ReleaseStore& releases,
                                       BackupFacts* backups)
    : windows_(windows), releases_(releases), backups_(backups) {}

void ChecklistEvaluator::EvaluateBackups(const v1::ChecklistItem& item, const Reference& at,
                                         v1::ChecklistItemState* state) {
  if (backups_ == nullptr) {
    Set(state, State::FAIL, "the backups service is not configured (FLIGHTDECK_BACKUPS_ADDR)");
    return;
  }
  const auto within = WithinOf(item);
  for (const std::string& target : item.backup_targets()) {
    std::optional<Clock::TimePoint> verified;
    grpc::Status s = backups_->LastVerified(target, &verified);
    if (!s.ok()) {
      Set(state, State::FAIL, "could not ask the backups service about " + target + ": " + s.error_message());
      return;
    }
    if (!verified) {
      Set(state, State::FAIL, "no verified backup of " + target);
      return;
    }
    if (*verified < at.time - within) {
      Set(state, State::FAIL, "the last verified backup of " + target + " was verified at " +
                                  FormatTime(*verified) + ", more than " + HumanDuration(within) +
                                  " before " + at.what);
      return;
    }
  }
  Set(state, State::PASS, "verified within " + HumanDuration(within) + " before " + at.what);
}

grpc::Status ChecklistEvaluator::EvaluateRollback(const v1::ChecklistItem& item,
                                                  const ChecklistScope& scope, const Reference& at,
                                                  v1::ChecklistItemState* state) {
  if (scope.service.empty() || scope.environment.empty()) {
    Set(state, State::PENDING, "judged per service and environment (give service and environment)");
    return grpc::Status::OK;
  }
  std::optional<Clock::TimePoint> last;
  if (grpc::Status s = windows_.LastSucceededRollback(scope.service, scope.environment, &last); !s.ok()) {
    return s;
  }
  const auto within = WithinOf(item);
  const std::string what = "a rollback of " + scope.service + " in " + scope.environment;
  if (!last) {
    Set(state, State::FAIL, "no " + what + " has succeeded");
  } else if (*last < at.time - within) {
    Set(state, State::FAIL, "the last " + what + " succeeded at " + FormatTime(*last) +
                                ", more than " + HumanDuration(within) + " before " + at.what);
  } else {
    Set(state, State::PASS, what + " succeeded at " + FormatTime(*last));
  }
  return grpc::Status::OK;
}

grpc::Status ChecklistEvaluator::EvaluateStaging(const v1::ChecklistItem& item,
                                                 const ChecklistScope& scope,
                                                 v1::ChecklistItemState* state) {
  if (scope.service.empty() || scope.commit_sha.empty()) {
    Set(state, State::PENDING, "judged at a release (its commit in " + item.environment() + ")");
    return grpc::Status::OK;
  }
  v1::Release earlier;
  grpc::Status s = releases_.FindSucceeded(scope.service, item.environment(), scope.commit_sha, &earlier);
  if (s.ok()) {
    Set(state, State::PASS, "commit " + scope.commit_sha + " succeeded in " + item.environment());
  } else if (s.error_code() == grpc::StatusCode::NOT_FOUND) {
    Set(state, State::FAIL, "commit " + scope.commit_sha + " of " + scope.service +
                                " has not succeeded in " + item.environment());
  } else {
    return s;
  }
  return grpc::Status::OK;
}

grpc::Status ChecklistEvaluator::Evaluate(const v1::Window& window, const Span& opening,
                                          const ChecklistScope& scope, Clock::TimePoint now,
                                          v1::Checklist* out) {
  out->Clear();
  out->set_window(window.name());
  SetTimestamp(out->mutable_occurrence()->mutable_start(), opening.start);
  SetTimestamp(out->mutable_occurrence()->mutable_end(), opening.end);
  SetTimestamp(out->mutable_evaluated_at(), now);
  std::vector<ChecklistTick> ticks;
  if (grpc::Status s = windows_.Ticks(window.name(), opening.start, &ticks); !s.ok()) return s;
  auto tick_of = [&](const std::string& item) -> const ChecklistTick* {
    for (const ChecklistTick& t : ticks) {
      if (t.item == item) return &t;
    }
    return nullptr;
  };

  // Freshness is judged for when the window is open: at its opening when that is still ahead
  // (a backup verified now may be too old by then), else now.
  const Reference at = opening.start > now
                           ? Reference{opening.start, "the opening at " + FormatTime(opening.start)}
                           : Reference{now, "now"};
  bool failed = false, waiting = false;
  for (const v1::ChecklistItem& item : window.checklist()) {
    v1::ChecklistItemState* state = out->add_items();
    *state->mutable_item() = item;
    const ChecklistTick* tick = tick_of(item.name());
    if (tick != nullptr) {
      state->set_ticked_by(tick->ticked_by);
      SetTimestamp(state->mutable_ticked_at(), tick->ticked_at);
    }
    grpc::Status s;
    switch (item.check()) {
      case v1::ChecklistItem::BACKUP_VERIFIED:
        EvaluateBackups(item, at, state);
        break;
      case v1::ChecklistItem::ROLLBACK_TESTED:
        s = EvaluateRollback(item, scope, at, state);
        break;
      case v1::ChecklistItem::STAGING_SUCCEEDED:
        s = EvaluateStaging(item, scope, state);
        break;
      case v1::ChecklistItem::STAKEHOLDER_NOTICE: {
        const Clock::TimePoint deadline = opening.start - WithinOf(item);
        const std::string ahead = HumanDuration(WithinOf(item)) + " before the opening at " +
                                  FormatTime(opening.start);
        if (tick != nullptr && tick->ticked_at <= deadline) {
          Set(state, State::PASS, "notice sent by " + tick->ticked_by + " at " + FormatTime(tick->ticked_at));
        } else if (tick != nullptr) {
          Set(state, State::FAIL, "notice ticked at " + FormatTime(tick->ticked_at) + ", later than " + ahead);
        } else if (now > deadline) {
          Set(state, State::FAIL, "no notice was ticked by " + ahead);
        } else {
          Set(state, State::MANUAL, "tick when the notice is sent, by " + ahead);
        }
        break;
      }
      default:  // MANUAL, ONCALL_COVERAGE
        if (tick != nullptr) {
          Set(state, State::PASS, "ticked by " + tick->ticked_by + " at " + FormatTime(tick->ticked_at) +
                                      (tick->note.empty() ? "" : ": " + tick->note));
        } else {
          Set(state, State::MANUAL, "waiting for a person's tick");
        }
        break;
    }
    if (!s.ok()) return s;
    if (scope.at_release && item.required() &&
        (state->state() == State::MANUAL || state->state() == State::PENDING)) {
      Set(state, State::FAIL, "not done before the release: " + state->reason());
    }
    if (!item.required()) continue;
    if (state->state() == State::FAIL) failed = true;
    if (state->state() == State::MANUAL || state->state() == State::PENDING) waiting = true;
  }
  out->set_verdict(failed ? State::FAIL : waiting ? State::PENDING : State::PASS);
  return grpc::Status::OK;
}

}  // namespace flightdeck::releases
