// What humans and pipelines ask of releases: create, approve, promote, abort, roll back,
// observations and verification. The engine that acts on them is pipeline.cc.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "common/log/log.h"
#include "services/releases/pipeline.h"
#include "services/releases/state_machine.h"
#include "common/clock/timestamps.h"
#include "services/releases/validation.h"

namespace flightdeck::releases {
namespace {

grpc::Status Invalid(const std::string& message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

grpc::Status CheckId(const std::string& id) {
  if (id.empty()) return Invalid("id: is required");
  if (!IsUuid(id)) return Invalid("id: \"" + id + "\" is not a release id");
  return grpc::Status::OK;
}

grpc::Status CheckIdAndOptionalReason(const std::string& id, const std::string& reason) {
  FieldErrors errors;
  errors.Add(CheckId(id));
  errors.AddIfLonger("reason", reason, kMaxNoteCharacters);
  return errors.ToStatus();
}

// `action` completes "reason: is required to ...", e.g. "abort a release".
grpc::Status CheckIdAndRequiredReason(const std::string& id, const std::string& reason,
                                      const std::string& action) {
  FieldErrors errors;
  errors.Add(CheckId(id));
  if (reason.empty()) errors.Add("reason", "is required to " + action);
  errors.AddIfLonger("reason", reason, kMaxNoteCharacters);
  return errors.ToStatus();
}

std::string WithReason(const std::string& what, const std::string& reason) {
  return reason.empty() ? what : what + ": " + reason;
}

}  // namespace

grpc::Status Pipeline::Admit(v1::Release* release, bool queue, const Actor& actor,
                             std::vector<NewEvent> events,
                             std::vector<std::pair<std::string, NewEvent>> other_events) {
  Changes changes;
  changes.now = clock_.Now();
  changes.trace_id = actor.trace_id;
  changes.events = std::move(events);
  changes.other_events = std::move(other_events);
  // Waiting for a window: the pipeline first looks at it when the window opens.
  const bool waits = release->has_not_before() && TimeOf(release->not_before()) > changes.now;
  if (waits) changes.advance_at = TimeOf(release->not_before());
  SetTimestamp(release->mutable_created_at(), changes.now);
  *release->mutable_updated_at() = release->created_at();
  release->set_created_by(actor.name);
  release->set_trace_id(actor.trace_id);
  release->set_state(v1::Release::PENDING);
  grpc::Status s = store_.Admit(release, queue, changes);
  if (s.ok() && !release->queued() && !waits) Nudge();
  return s;
}

grpc::Status Pipeline::Create(v1::CreateReleaseRequest request, const Actor& actor,
                              v1::Release* out) {
  // Every problem of the request at once: the fields, then the canary plan they ask for.
  FieldErrors errors;
  errors.Add(ValidateCreate(request));
  const EnvironmentPolicy& policy = policies_.For(request.environment());
  const std::string driver = request.driver().kind().empty() ? policy.driver : request.driver().kind();
  v1::CanaryPlan plan;
  grpc::Status planned = ResolvePlan(request.canary(), policy.default_canary, &plan);
  if (!planned.ok() && planned.error_code() != grpc::StatusCode::INVALID_ARGUMENT) return planned;
  errors.Add(planned);
  if (planned.ok() && MillisOf(policy.bake.duration()).count() > 0) {
    // The bake reads its source with the release's own analysis settings.
    const v1::AnalysisConfig& a = plan.analysis();
    const std::string why = "the bake of " + request.environment() + " reads " + policy.bake.source();
    if (policy.bake.source() == "prometheus" &&
        (a.prometheus().url().empty() || a.prometheus().error_rate_query().empty())) {
      errors.Add("canary.analysis.prometheus", why + ": url and error_rate_query are required");
    } else if (policy.bake.source() == "health" && a.health().target().empty()) {
      errors.Add("canary.analysis.health.target", why + ": a target is required");
    }
  }
  if (errors.empty()) {
    // The Prometheus URL (the release's or its environment's) must lead where egress may go.
    const bool reads_prometheus = plan.analysis().source() == "prometheus" || policy.bake.source() == "prometheus";
    if (auto it = sources_.find("prometheus"); reads_prometheus && it != sources_.end()) {
      if (std::string refusal = it->second->DestinationRefusal(plan.analysis()); !refusal.empty()) {
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, refusal);
      }
    }
  }
  if (!errors.empty()) return errors.ToStatus();
  if (driver == "command" && policy.command.empty()) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "driver.kind: environment " + request.environment() +
                            " has no command configured for the command driver");
  }

  // Promotion policy: the commit must have succeeded upstream first.
  if (!policy.requires_success_in.empty()) {
    bool found = false;
    for (const std::string& upstream : policy.requires_success_in) {
      v1::Release earlier;
      grpc::Status s = store_.FindSucceeded(request.service(), upstream, request.commit_sha(), &earlier);
      if (s.ok()) {
        found = true;
        break;
      }
      if (s.error_code() != grpc::StatusCode::NOT_FOUND) return s;
    }
    if (!found) {
      std::string upstreams;
      for (const std::string& u : policy.requires_success_in) upstreams += (upstreams.empty() ? "" : " or ") + u;
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          "commit_sha: " + request.commit_sha() + " of " + request.service() +
                              " has not succeeded in " + upstreams + "; the policy of " +
                              request.environment() + " requires that first");
    }
  }

  v1::Release release;
  release.set_kind(v1::Release::DEPLOY);
  release.set_service(request.service());
  release.set_environment(request.environment());
  release.set_version(request.version());
  release.set_commit_sha(request.commit_sha());
  release.set_image(request.image());
  // A request may ask for approval where the policy does not; it cannot waive the policy's.
  release.set_require_approval(policy.require_approval ||
                               (request.has_require_approval() && request.require_approval().value()));
  release.mutable_driver()->set_kind(driver);
  *release.mutable_canary() = plan;
  release.set_smoke_suite(request.smoke_suite());
  v1::Release current;
  if (store_.CurrentGood(request.service(), request.environment(), &current).ok()) {
    release.set_previous_image(current.image());
    release.set_baseline_version(current.version());
  }
  // Fixed now, like the plan: a policy reloaded mid-release does not change what it was promised.
  *release.mutable_bake() = policy.bake;
  std::vector<NewEvent> events = {
      {"CREATED", actor.name,
       "release " + release.version() + " (" + release.commit_sha() + ") of " + release.service() +
           " to " + release.environment() + " created",
       nlohmann::json{{"require_approval", release.require_approval()}, {"driver", driver}}.dump()}};
  if (grpc::Status s = AdmitThroughWindows(request, actor, &release, &events); !s.ok()) return s;
  if (grpc::Status s = Admit(&release, request.queue(), actor, events); !s.ok()) return s;
  log::Info("release created", {{"release_id", release.id()}, {"service", release.service()},
                                {"environment", release.environment()},
                                {"version", release.version()}, {"queued", release.queued()},
                                {"actor", actor.name}});
  *out = release;
  return grpc::Status::OK;
}

grpc::Status Pipeline::Approve(const std::string& id, const std::string& comment, const Actor& actor,
                               v1::Release* out) {
  if (grpc::Status s = CheckIdAndOptionalReason(id, comment); !s.ok()) return s;
  grpc::Status s = store_.Update(id, -1, clock_.Now(), actor.trace_id, [&](v1::Release& x, Changes& c) {
    if (grpc::Status g = CheckCanApprove(x); !g.ok()) return g;
    const EnvironmentPolicy& policy = policies_.For(x.environment());
    if (!policy.allow_self_approval && x.created_by() == actor.name) {
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                          actor.name + " created this release and may not approve it in " +
                              x.environment() + " (policy: allow_self_approval is false)");
    }
    x.set_approved_by(actor.name);
    c.events.push_back({"APPROVED", actor.name, WithReason("approved", comment), "{}"});
    // The answer shows the state after the approval: PENDING, approved, which the pipeline
    // starts deploying at once (the pre-deploy backup and the first driver action run there,
    // outside this transaction, as for any release that needs no approval).
    x.set_state(v1::Release::PENDING);
    c.events.push_back({"STATE_CHANGED", actor.name,
                        "AWAITING_APPROVAL -> PENDING: approved by " + actor.name +
                            "; the deploy starts now",
                        nlohmann::json{{"from", "AWAITING_APPROVAL"}, {"to", "PENDING"}}.dump()});
    c.advance_at = c.now;
    return grpc::Status::OK;
  }, out);
  if (s.ok()) Nudge();
  return s;
}

grpc::Status Pipeline::Promote(const std::string& id, const std::string& reason, const Actor& actor,
                               v1::Release* out) {
  if (grpc::Status s = CheckIdAndOptionalReason(id, reason); !s.ok()) return s;
  grpc::Status s = store_.Update(id, -1, clock_.Now(), actor.trace_id, [&](v1::Release& x, Changes& c) {
    if (grpc::Status g = CheckCanPromote(x); !g.ok()) return g;
    if (x.state() == v1::Release::BAKING) {
      // A human vouches for the fleet: the rest of the bake is waived.
      x.set_state(v1::Release::SUCCEEDED);
      x.set_paused(false);
      x.set_outcome_reason(WithReason("bake ended early by " + actor.name, reason));
      x.mutable_next_action()->set_action("none");
      c.events.push_back({"STATE_CHANGED", actor.name, "BAKING -> SUCCEEDED: " + x.outcome_reason(),
                          nlohmann::json{{"from", "BAKING"}, {"to", "SUCCEEDED"}}.dump()});
      return grpc::Status::OK;
    }
    x.set_promote_requested(true);
    c.events.push_back({"PROMOTE_REQUESTED", actor.name,
                        WithReason("promotion requested: skipping the remaining canary steps", reason),
                        "{}"});
    // PROMOTING in the answer: the pipeline runs the driver's promote next.
    x.set_state(v1::Release::PROMOTING);
    x.set_paused(false);
    c.events.push_back({"STATE_CHANGED", actor.name,
                        "CANARY -> PROMOTING: promotion requested: remaining canary steps skipped",
                        nlohmann::json{{"from", "CANARY"}, {"to", "PROMOTING"}}.dump()});
    c.advance_at = c.now;
    return grpc::Status::OK;
  }, out);
  if (s.ok()) Nudge();
  return s;
}

grpc::Status Pipeline::Abort(const std::string& id, const std::string& reason, const Actor& actor,
                             v1::Release* out) {
  if (grpc::Status s = CheckIdAndRequiredReason(id, reason, "abort a release"); !s.ok()) return s;
  grpc::Status s = store_.Update(id, -1, clock_.Now(), actor.trace_id, [&](v1::Release& x, Changes& c) {
    if (grpc::Status g = CheckCanAbort(x); !g.ok()) return g;
    const State from = x.state();
    x.set_abort_requested(true);
    x.set_outcome_reason("aborted by " + actor.name + ": " + reason);
    // Nothing was deployed yet: nothing to roll back.
    if (from == v1::Release::PENDING || from == v1::Release::AWAITING_APPROVAL) {
      x.set_state(v1::Release::ABORTED);
      x.set_queued(false);
    } else {
      x.set_state(v1::Release::ROLLING_BACK);
      c.advance_at = c.now;
    }
    c.events.push_back({"STATE_CHANGED", actor.name,
                        StateName(from) + " -> " + StateName(x.state()) + ": " + x.outcome_reason(),
                        nlohmann::json{{"from", StateName(from)}, {"to", StateName(x.state())}}.dump()});
    return grpc::Status::OK;
  }, out);
  if (s.ok()) Nudge();
  return s;
}

grpc::Status Pipeline::RollBack(const std::string& id, const std::string& reason, const Actor& actor,
                                v1::Release* out) {
  if (grpc::Status s = CheckIdAndRequiredReason(id, reason, "roll back a release"); !s.ok()) return s;
  v1::Release r;
  if (grpc::Status s = store_.Get(id, &r); !s.ok()) return s;
  if (grpc::Status s = CheckCanRollBack(r); !s.ok()) return s;
  v1::Release current;
  if (grpc::Status s = store_.CurrentGood(r.service(), r.environment(), &current); !s.ok()) return s;
  if (current.id() != r.id()) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "release " + id + " is not what runs in " + r.environment() + " (release " +
                            current.id() + " is): roll back that one, or to a commit");
  }
  // The release that was current before this one.
  std::vector<v1::Release> candidates;
  ListQuery q;
  q.service = r.service();
  q.environment = r.environment();
  q.limit = 500;
  bool more = false;
  if (grpc::Status s = store_.List(q, &candidates, &more); !s.ok()) return s;
  const v1::Release* previous = nullptr;
  for (const v1::Release& c : candidates) {
    if (c.id() == r.id() || c.state() != v1::Release::SUCCEEDED) continue;
    previous = &c;
    break;
  }
  if (previous == nullptr) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "no earlier good release of " + r.service() + " in " + r.environment() +
                            " to roll back to");
  }
  return Restore(r.service(), r.environment(), previous->commit_sha(), reason, actor, &r, out);
}

grpc::Status Pipeline::FindRollbackTarget(const std::string& service, const std::string& environment,
                                          const std::string& sha, v1::Release* target) {
  constexpr int kMaxCandidates = 50;
  std::vector<v1::Release> found;
  if (grpc::Status s = store_.FindSucceededByPrefix(service, environment, sha, kMaxCandidates, &found);
      !s.ok()) {
    return s;
  }
  if (found.empty()) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        "to_commit_sha: no commit starting with " + sha + " ever succeeded for " +
                            service + " in " + environment);
  }
  // Newest success first. An exact match wins; otherwise every match must be one commit: the
  // same SHA, or short forms of the longest one (a release created with 7 characters).
  const v1::Release* longest = &found.front();
  for (const v1::Release& r : found) {
    if (r.commit_sha() == sha) {
      *target = r;
      return grpc::Status::OK;
    }
    if (r.commit_sha().size() > longest->commit_sha().size()) longest = &r;
  }
  const bool one_commit = std::all_of(found.begin(), found.end(), [&](const v1::Release& r) {
    return longest->commit_sha().compare(0, r.commit_sha().size(), r.commit_sha()) == 0;
  });
  if (one_commit) {
    *target = found.front();
    return grpc::Status::OK;
  }
  // Ambiguous: the same request can never succeed, so it is the argument that is wrong.
  std::string candidates;
  std::vector<std::string> listed;
  constexpr size_t kMaxListed = 10;
  for (const v1::Release& r : found) {
    if (std::find(listed.begin(), listed.end(), r.commit_sha()) != listed.end()) continue;
    listed.push_back(r.commit_sha());
    if (listed.size() > kMaxListed) {
      candidates += ", ...";
      break;
    }
    candidates += (candidates.empty() ? "" : ", ") + r.commit_sha() + " (" + r.version() + ")";
  }
  return Invalid("to_commit_sha: " + sha + " is ambiguous in " + service + "/" + environment +
                 ": it matches " + candidates + "; give more characters");
}

grpc::Status Pipeline::RollBackTo(const std::string& service, const std::string& environment,
                                  const std::string& commit_sha, const std::string& reason,
                                  const Actor& actor, v1::Release* out) {
  return Restore(service, environment, commit_sha, reason, actor, nullptr, out);
}

grpc::Status Pipeline::Restore(const std::string& service, const std::string& environment,
                               const std::string& commit_sha, const std::string& reason,
                               const Actor& actor, const v1::Release* rolled_back, v1::Release* out) {
  FieldErrors errors;
  if (!IsDnsLabel(service)) errors.Add("service", "\"" + service + "\" is not a valid service name");
  if (!IsDnsLabel(environment)) {
    errors.Add("environment", "\"" + environment + "\" is not a valid environment name");
  }
  if (commit_sha.empty()) {
    errors.Add("to_commit_sha", "is required");
  } else if (!IsCommitSha(commit_sha)) {
    errors.Add("to_commit_sha", "\"" + commit_sha + "\" must be 7-40 hexadecimal characters (a git "
               "commit SHA or a unique prefix of one)");
  }
  if (reason.empty()) errors.Add("reason", "is required to roll back");
  errors.AddIfLonger("reason", reason, kMaxNoteCharacters);
  if (!errors.empty()) return errors.ToStatus();
  std::string sha = commit_sha;
  for (char& ch : sha) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  v1::Release target;
  if (grpc::Status s = FindRollbackTarget(service, environment, sha, &target); !s.ok()) return s;

  const EnvironmentPolicy& policy = policies_.For(environment);
  v1::Release release;
  release.set_kind(v1::Release::ROLLBACK);
  release.set_service(service);
  release.set_environment(environment);
  release.set_version(target.version());
  release.set_commit_sha(target.commit_sha());
  release.set_image(target.image());
  release.set_rollback_target_id(target.id());
  release.mutable_driver()->set_kind(target.driver().kind().empty() ? policy.driver : target.driver().kind());
  v1::Release current;
  if (store_.CurrentGood(service, environment, &current).ok()) release.set_previous_image(current.image());
  std::vector<NewEvent> events = {
      {"CREATED", actor.name,
       "rollback of " + service + " in " + environment + " to " + target.version() + " (" +
           target.commit_sha() + ", release " + target.id() + "): " + reason,
       nlohmann::json{{"rollback_target_id", target.id()}, {"reason", reason}}.dump()}};
  std::vector<std::pair<std::string, NewEvent>> other_events;
  if (rolled_back != nullptr) {
    // The release rolled back says who asked and why (an incident names itself in the reason).
    other_events.push_back(
        {rolled_back->id(),
         {"ROLLBACK_REQUESTED", actor.name,
          "rollback requested: " + reason + " (release {new_id} restores " + target.version() + ")",
          nlohmann::json{{"rollback_release_id", "{new_id}"}, {"reason", reason}}.dump()}});
  }
  if (grpc::Status s = Admit(&release, false, actor, events, std::move(other_events)); !s.ok()) return s;
  *out = release;
  return grpc::Status::OK;
}

grpc::Status Pipeline::Observe(const v1::PostObservationsRequest& request, const Actor& actor,
                               v1::Release* out) {
  if (grpc::Status s = CheckId(request.id()); !s.ok()) return s;
  FieldErrors errors;
  if (request.requests() < 0) errors.Add("requests", "must not be negative");
  if (request.errors() < 0) {
    errors.Add("errors", "must not be negative");
  } else if (request.errors() > request.requests()) {
    errors.Add("errors", "must not exceed requests");
  }
  if (request.p99_latency_ms() < 0) errors.Add("p99_latency_ms", "must not be negative");
  if (request.window().seconds() < 0) errors.Add("window", "must not be negative");
  constexpr int kMaxSamplesPerPost = 10000;
  for (const auto& [field, samples] :
       {std::pair<const char*, const google::protobuf::RepeatedField<double>*>{
            "canary_latency_ms", &request.canary_latency_ms()},
        {"baseline_latency_ms", &request.baseline_latency_ms()}}) {
    if (samples->size() > kMaxSamplesPerPost) {
      errors.Add(field, "at most " + std::to_string(kMaxSamplesPerPost) + " samples per post");
    }
    for (int i = 0; i < samples->size(); ++i) {
      if (!std::isfinite(samples->Get(i)) || samples->Get(i) < 0) {
        errors.Add(std::string(field) + "[" + std::to_string(i) + "]",
                   "must be a finite number of milliseconds, 0 or more");
        break;
      }
    }
  }
  if (!errors.empty()) return errors.ToStatus();
  return store_.Update(request.id(), -1, clock_.Now(), actor.trace_id, [&](v1::Release& x, Changes& c) {
    if (grpc::Status g = CheckCanObserve(x); !g.ok()) return g;
    ObservationRow row;
    row.observation.requests = request.requests();
    row.observation.errors = request.errors();
    if (request.p99_latency_ms() > 0) row.observation.p99_latency_ms = request.p99_latency_ms();
    row.window_ms = MillisOf(request.window()).count();
    row.samples.canary.assign(request.canary_latency_ms().begin(), request.canary_latency_ms().end());
    row.samples.baseline.assign(request.baseline_latency_ms().begin(),
                                request.baseline_latency_ms().end());
    c.observation = row;
    nlohmann::json data = {{"requests", request.requests()}, {"errors", request.errors()},
                           {"window_ms", row.window_ms}};
    if (!row.samples.canary.empty() || !row.samples.baseline.empty()) {
      data["canary_samples"] = row.samples.canary.size();
      data["baseline_samples"] = row.samples.baseline.size();
    }
    if (row.observation.p99_latency_ms) data["p99_latency_ms"] = *row.observation.p99_latency_ms;
    c.events.push_back({"OBSERVATIONS", actor.name,
                        std::to_string(request.errors()) + " errors in " +
                            std::to_string(request.requests()) + " requests",
                        data.dump()});
    return grpc::Status::OK;
  }, out);
}

grpc::Status Pipeline::Verify(const v1::PostVerificationRequest& request, const Actor& actor,
                              v1::Release* out) {
  if (grpc::Status s = CheckId(request.id()); !s.ok()) return s;
  grpc::Status s = store_.Update(request.id(), -1, clock_.Now(), actor.trace_id, [&](v1::Release& x, Changes& c) {
    if (grpc::Status g = CheckCanVerify(x); !g.ok()) return g;
    c.events.push_back({"VERIFICATION", actor.name,
                        WithReason(request.passed() ? "verification passed" : "verification failed",
                                   request.details()),
                        nlohmann::json{{"passed", request.passed()}, {"details", request.details()}}.dump()});
    const auto bake = MillisOf(x.bake().duration());
    if (request.passed() && bake.count() > 0) {
      // Verified: the fleet's numbers are judged for the bake before the release succeeds.
      const auto interval = SettingsOf(x.canary().analysis()).interval;
      x.set_state(v1::Release::BAKING);
      x.set_outcome_reason(WithReason("verified", request.details()));
      x.set_fail_streak(0);
      x.set_inconclusive_streak(0);
      SetTimestamp(x.mutable_bake_until(), c.now + bake);
      SetTimestamp(x.mutable_last_analysis_at(), c.now);
      const auto next = std::min(c.now + interval, c.now + bake);
      SetTimestamp(x.mutable_next_analysis_at(), next);
      c.advance_at = next;
    } else if (request.passed()) {
      x.set_state(v1::Release::SUCCEEDED);
      x.set_outcome_reason(WithReason("verified", request.details()));
      x.mutable_next_action()->set_action("none");
    } else {
      x.set_state(v1::Release::ROLLING_BACK);
      x.set_outcome_reason(WithReason("verification failed", request.details()));
      c.advance_at = c.now;
    }
    std::string why = x.outcome_reason();
    if (x.state() == v1::Release::BAKING) {
      char limit[32];
      std::snprintf(limit, sizeof limit, "%.2f%%", x.bake().max_error_rate().value() * 100);
      why += "; baking for " + std::to_string(bake.count() / 1000) + "s: a fleet error rate above " +
             limit + " (" + x.bake().source() + ") rolls back";
    }
    c.events.push_back({"STATE_CHANGED", actor.name,
                        "VERIFYING -> " + StateName(x.state()) + ": " + why,
                        nlohmann::json{{"from", "VERIFYING"}, {"to", StateName(x.state())}}.dump()});
    return grpc::Status::OK;
  }, out);
  if (s.ok()) Nudge();
  return s;
}

}  // namespace flightdeck::releases
