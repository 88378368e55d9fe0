#include "services/releases/pipeline.h"

#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "common/db/db.h"
#include "common/log/log.h"
#include "common/metrics/metrics.h"
#include "services/releases/state_machine.h"
#include "common/clock/timestamps.h"

namespace flightdeck::releases {
namespace {

constexpr char kSystemActor[] = "flightdeck";

NewEvent StateEvent(State from, State to, const std::string& why, const std::string& actor = kSystemActor) {
  return {"STATE_CHANGED", actor, StateName(from) + " -> " + StateName(to) + (why.empty() ? "" : ": " + why),
          nlohmann::json{{"from", StateName(from)}, {"to", StateName(to)}}.dump()};
}

NewEvent DriverEvent(const std::string& action, int weight, const DriverResult& result) {
  std::string message = action + (action == "canary" ? " " + std::to_string(weight) + "%" : "") +
                        (result.ok ? " done" : " failed: " + result.error);
  return {"DRIVER", kSystemActor, message,
          nlohmann::json{{"action", action},
                         {"weight", weight},
                         {"ok", result.ok},
                         {"exit_code", result.exit_code},
                         {"output", result.output}}
              .dump()};
}

void SetNextAction(v1::Release& r, const std::string& action, int weight, const std::string& image,
                   const std::string& action_id) {
  v1::NextAction* next = r.mutable_next_action();
  next->set_action(action);
  next->set_weight(weight);
  next->set_image(image);
  next->set_action_id(action_id);
}

std::string ActionId(const v1::Release& r, const std::string& action, const std::string& step_key) {
  return r.id() + ":" + action + (step_key.empty() ? "" : ":" + step_key);
}

}  // namespace

std::unique_ptr<Driver> MakeDriver(const std::string& kind, const EnvironmentPolicy& policy) {
  if (kind == "command") return std::make_unique<CommandDriver>(policy.command, policy.command_timeout);
  return std::make_unique<ExternalDriver>();
}

Pipeline::Pipeline(ReleaseStore& store, const Clock& clock, const PolicySet& policies,
                   metrics::Registry& metrics, DriverFactory drivers,
                   std::map<std::string, MetricSource*> sources, PreDeployBackups* backups)
    : store_(store),
      clock_(clock),
      policies_(policies),
      drivers_(std::move(drivers)),
      sources_(std::move(sources)),
      backups_(backups),
      finished_(metrics.AddCounter("flightdeck_releases_finished_total",
                                   "Releases that reached a final state",
                                   {"environment", "state"})),
      alerts_(metrics.AddCounter("flightdeck_release_alerts_total",
                                 "Alerts raised by the release pipeline (for the incidents service)",
                                 {"alertname"})),
      verdicts_(metrics.AddCounter("flightdeck_canary_verdicts_total",
                                   "Canary analysis verdicts", {"verdict"})) {}

grpc::Status Pipeline::Apply(const v1::Release& r, const ReleaseStore::ChangeFn& change,
                             v1::Release* out) {
  v1::Release updated;
  grpc::Status s = store_.Update(r.id(), r.revision(), clock_.Now(), "", change, &updated);
  if (s.ok()) {
    if (IsTerminal(updated.state()) && !IsTerminal(r.state())) {
      finished_.With({updated.environment(), StateName(updated.state())}).Inc();
    }
    if (out) *out = updated;
  }
  return s;
}

grpc::Status Pipeline::Advance(const std::string& release_id) {
  v1::Release r;
  if (grpc::Status s = store_.Get(release_id, &r); !s.ok()) return s;
  if (r.queued() || IsTerminal(r.state())) return grpc::Status::OK;
  grpc::Status s;
  switch (r.state()) {
    case v1::Release::PENDING: {
      bool proceed = true;
      if (r.kind() == v1::Release::DEPLOY && r.pre_deploy_backup_id().empty()) {
        s = AwaitWindow(r, &proceed);
        if (!s.ok() || !proceed) break;
      }
      if (r.require_approval() && r.approved_by().empty()) {
        s = Apply(r, [](v1::Release& x, Changes& c) {
          x.set_state(v1::Release::AWAITING_APPROVAL);
          SetNextAction(x, "none", 0, "", "");
          c.events.push_back(StateEvent(v1::Release::PENDING, v1::Release::AWAITING_APPROVAL,
                                        "waiting for approval"));
          return grpc::Status::OK;
        });
      } else {
        s = StartDeploy(r);
      }
      break;
    }
    case v1::Release::AWAITING_APPROVAL:
      if (!r.approved_by().empty()) s = StartDeploy(r);
      break;
    case v1::Release::CANARY:
      s = CanaryTick(r);
      break;
    case v1::Release::PROMOTING:
      s = RunPromotion(r);
      break;
    case v1::Release::VERIFYING:
      if (r.has_verify_deadline() && clock_.Now() >= TimeOf(r.verify_deadline())) {
        s = BeginRollback(r, "no verification result by the deadline", false, kSystemActor);
      } else if (!r.smoke_suite().empty()) {
        s = SmokeTick(r);
      }
      break;
    case v1::Release::BAKING:
      s = BakeTick(r);
      break;
    case v1::Release::ROLLING_BACK:
      s = FinishRollback(r);
      break;
    default:
      break;
  }
  // Someone else changed the release while we decided: their change scheduled what follows.
  if (s.error_code() == grpc::StatusCode::ABORTED) return grpc::Status::OK;
  return s;
}

grpc::Status Pipeline::RunDriver(const v1::Release& r, const std::string& action, int weight,
                                 const std::string& step_key, DriverResult* result) {
  DriverAction a;
  a.action = action;
  a.weight = weight;
  a.action_id = ActionId(r, action, step_key);
  a.release = r;
  a.previous_image = r.previous_image();
  const EnvironmentPolicy& policy = policies_.For(r.environment());
  std::unique_ptr<Driver> driver = drivers_(r.driver().kind(), policy);
  auto run = [&] {
    *result = driver->Run(a);
    log::Info("driver action", {{"release_id", r.id()}, {"action", action}, {"weight", weight},
                                {"ok", result->ok}, {"action_id", a.action_id}});
  };
  // `external` only records the decision in the release (its next_action): no lock, no record.
  if (!driver->ActsOutside()) {
    run();
    return grpc::Status::OK;
  }
  // A step's job can be taken again while its command still runs: its lease lapsed (a stalled
  // database, a starved process) and another poller or replica claimed it. That second run waits
  // here for the first to record its result, then returns the result without acting again.
  // The wait covers the longest a command may take: its timeout and the kill that follows it.
  constexpr auto kKillAndRecord = std::chrono::seconds(30);
  std::unique_ptr<db::SessionLock> lock;
  if (grpc::Status s = store_.HoldDriverAction(a.action_id, policy.command_timeout + kKillAndRecord, &lock);
      !s.ok()) {
    return s;
  }
  // Unrecorded, the action must not run (a retry could not tell it had), and a database that
  // failed for a moment is no reason to roll the release back: the step is tried again.
  std::string status;
  if (grpc::Status s = store_.StartDriverAction(a.action_id, a, clock_.Now(), &status, result);
      !s.ok()) {
    return s;
  }
  // Completed before (a crash came between the action and the state change): not again.
  if (status != "started") return grpc::Status::OK;
  run();
  (void)store_.FinishDriverAction(a.action_id, *result, clock_.Now());
  return grpc::Status::OK;
}

grpc::Status Pipeline::AwaitPreDeployBackup(const v1::Release& r, const std::string& target,
                                            bool* ready) {
  *ready = false;
  constexpr auto kRecheck = std::chrono::seconds(2);
  auto fail = [&](const std::string& reason) {
    const State from = r.state();
    return Apply(r, [&](v1::Release& x, Changes& c) {
      x.set_state(v1::Release::FAILED);
      x.set_outcome_reason(reason);
      c.events.push_back(StateEvent(from, v1::Release::FAILED, reason));
      return grpc::Status::OK;
    });
  };
  if (backups_ == nullptr) {
    return fail("the policy of " + r.environment() + " asks for a backup of " + target +
                " before deploying, but no backups service is configured");
  }
  if (r.pre_deploy_backup_id().empty()) {
    std::string id;
    grpc::Status s = backups_->Start(target, "release " + r.id(), &id);
    if (s.error_code() == grpc::StatusCode::UNAVAILABLE || s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
      return Apply(r, [&](v1::Release&, Changes& c) {
        c.advance_at = c.now + kRecheck;  // the backups service is restarting: ask again
        return grpc::Status::OK;
      });
    }
    if (!s.ok()) return fail("cannot start the pre-deploy backup of " + target + ": " + s.error_message());
    return Apply(r, [&](v1::Release& x, Changes& c) {
      x.set_pre_deploy_backup_id(id);
      c.events.push_back({"BACKUP", kSystemActor,
                          "backup " + id + " of " + target + " requested before deploying",
                          nlohmann::json{{"backup_id", id}, {"target", target}}.dump()});
      c.advance_at = c.now + kRecheck;
      return grpc::Status::OK;
    });
  }
  std::string state;
  std::string detail;
  grpc::Status s = backups_->State(r.pre_deploy_backup_id(), &state, &detail);
  if (s.ok() && state == "SUCCEEDED") {
    *ready = true;
    return grpc::Status::OK;
  }
  if (s.ok() && (state == "FAILED" || state == "DELETED")) {
    return fail("pre-deploy backup " + r.pre_deploy_backup_id() + " of " + target + " failed: " + detail);
  }
  return Apply(r, [&](v1::Release&, Changes& c) {
    c.advance_at = c.now + kRecheck;
    return grpc::Status::OK;
  });
}

grpc::Status Pipeline::StartDeploy(const v1::Release& r) {
  const State from = r.state();
  const std::string& backup_target = policies_.For(r.environment()).backup_before_deploy;
  if (r.kind() == v1::Release::DEPLOY && !backup_target.empty()) {
    bool ready = false;
    if (grpc::Status s = AwaitPreDeployBackup(r, backup_target, &ready); !s.ok() || !ready) return s;
  }
  if (r.kind() == v1::Release::ROLLBACK || r.canary().steps_size() == 0) {
    return Apply(r, [from](v1::Release& x, Changes& c) {
      x.set_state(v1::Release::PROMOTING);
      c.events.push_back(StateEvent(from, v1::Release::PROMOTING,
                                    x.kind() == v1::Release::ROLLBACK ? "restoring " + x.version()
                                                                      : "no canary steps"));
      c.advance_at = c.now;
      return grpc::Status::OK;
    });
  }
  const int weight = r.canary().steps(0).weight();
  DriverResult result;
  if (grpc::Status s = RunDriver(r, "canary", weight, "0", &result); !s.ok()) return s;
  if (!result.ok) {
    return Apply(r, [&](v1::Release& x, Changes& c) {
      x.set_state(v1::Release::ROLLING_BACK);
      x.set_outcome_reason("canary deployment failed: " + result.error);
      c.events.push_back(DriverEvent("canary", weight, result));
      c.events.push_back(StateEvent(from, v1::Release::ROLLING_BACK, x.outcome_reason()));
      c.advance_at = c.now;
      return grpc::Status::OK;
    });
  }
  const auto interval = SettingsOf(r.canary().analysis()).interval;
  return Apply(r, [&](v1::Release& x, Changes& c) {
    x.set_state(v1::Release::CANARY);
    x.set_current_step(0);
    x.set_current_weight(weight);
    SetTimestamp(x.mutable_step_started_at(), c.now);
    SetTimestamp(x.mutable_last_analysis_at(), c.now);
    const auto step_end = c.now + MillisOf(x.canary().steps(0).duration());
    const auto next = std::min(c.now + interval, step_end);
    SetTimestamp(x.mutable_next_analysis_at(), next);
    x.set_fail_streak(0);
    x.set_inconclusive_streak(0);
    SetNextAction(x, "canary", weight, x.image(), ActionId(x, "canary", "0"));
    c.events.push_back(DriverEvent("canary", weight, result));
    c.events.push_back(StateEvent(from, v1::Release::CANARY,
                                  "step 1 of " + std::to_string(x.canary().steps_size()) + ": " +
                                      std::to_string(weight) + "% of traffic"));
    c.advance_at = next;
    return grpc::Status::OK;
  });
}

grpc::Status Pipeline::CanaryTick(const v1::Release& r) {
  const Clock::TimePoint now = clock_.Now();
  if (r.promote_requested()) {
    return Apply(r, [](v1::Release& x, Changes& c) {
      x.set_state(v1::Release::PROMOTING);
      x.set_paused(false);
      c.events.push_back(StateEvent(v1::Release::CANARY, v1::Release::PROMOTING,
                                    "promotion requested: remaining canary steps skipped"));
      c.advance_at = c.now;
      return grpc::Status::OK;
    });
  }
  if (r.paused() || now < TimeOf(r.next_analysis_at())) return grpc::Status::OK;

  // Judge the window since the last analysis.
  const v1::AnalysisConfig& analysis = r.canary().analysis();
  const AnalysisSettings settings = SettingsOf(analysis);
  const Thresholds thresholds = ThresholdsOf(analysis);
  const Window window{TimeOf(r.last_analysis_at()), now};
  Judgement judgement;
  nlohmann::json data;
  if (grpc::Status s = JudgeWindow(r, analysis, settings.judge, thresholds, window, &judgement, &data);
      !s.ok()) {
    return s;
  }
  Streaks streaks{r.fail_streak(), r.inconclusive_streak()};
  const Decision decision = releases::Apply(streaks, judgement.verdict, thresholds);
  data["step"] = r.current_step() + 1;
  data["weight"] = r.current_weight();
  data["fail_streak"] = streaks.fail;
  data["inconclusive_streak"] = streaks.inconclusive;
  NewEvent verdict_event{"ANALYSIS", kSystemActor,
                         std::string(VerdictName(judgement.verdict)) + ": " + judgement.reason,
                         data.dump()};

  if (decision == Decision::kRollBack) {
    const std::string reason = "canary analysis failed " + std::to_string(streaks.fail) +
                               " time(s) in a row (limit " + std::to_string(thresholds.failure_limit) +
                               "): " + judgement.reason;
    return Apply(r, [&](v1::Release& x, Changes& c) {
      x.set_fail_streak(streaks.fail);
      x.set_inconclusive_streak(streaks.inconclusive);
      SetTimestamp(x.mutable_last_analysis_at(), now);
      x.set_state(v1::Release::ROLLING_BACK);
      x.set_outcome_reason(reason);
      c.events.push_back(verdict_event);
      c.events.push_back(StateEvent(v1::Release::CANARY, v1::Release::ROLLING_BACK, reason));
      c.advance_at = c.now;
      return grpc::Status::OK;
    });
  }
  if (decision == Decision::kPause) {
    return Apply(r, [&](v1::Release& x, Changes& c) {
      x.set_fail_streak(streaks.fail);
      x.set_inconclusive_streak(streaks.inconclusive);
      SetTimestamp(x.mutable_last_analysis_at(), now);
      x.set_paused(true);
      c.events.push_back(verdict_event);
      c.events.push_back({"PAUSED", kSystemActor,
                          std::to_string(streaks.inconclusive) +
                              " inconclusive analyses in a row: the canary stays at " +
                              std::to_string(x.current_weight()) +
                              "% until someone promotes or aborts it",
                          "{}"});
      return grpc::Status::OK;
    });
  }

  const int step = r.current_step();
  const auto step_end = TimeOf(r.step_started_at()) + MillisOf(r.canary().steps(step).duration());
  if (now < step_end) {
    return Apply(r, [&](v1::Release& x, Changes& c) {
      x.set_fail_streak(streaks.fail);
      x.set_inconclusive_streak(streaks.inconclusive);
      SetTimestamp(x.mutable_last_analysis_at(), now);
      const auto next = std::min(now + settings.interval, step_end);
      SetTimestamp(x.mutable_next_analysis_at(), next);
      c.events.push_back(verdict_event);
      c.advance_at = next;
      return grpc::Status::OK;
    });
  }
  if (step + 1 >= r.canary().steps_size()) {
    return Apply(r, [&](v1::Release& x, Changes& c) {
      x.set_fail_streak(streaks.fail);
      x.set_inconclusive_streak(streaks.inconclusive);
      SetTimestamp(x.mutable_last_analysis_at(), now);
      x.set_state(v1::Release::PROMOTING);
      c.events.push_back(verdict_event);
      c.events.push_back(StateEvent(v1::Release::CANARY, v1::Release::PROMOTING,
                                    "all canary steps passed"));
      c.advance_at = c.now;
      return grpc::Status::OK;
    });
  }
  // Next step: shift more traffic, then judge it afresh.
  const int weight = r.canary().steps(step + 1).weight();
  DriverResult result;
  if (grpc::Status s = RunDriver(r, "canary", weight, std::to_string(step + 1), &result); !s.ok()) {
    return s;
  }
  return Apply(r, [&](v1::Release& x, Changes& c) {
    c.events.push_back(verdict_event);
    c.events.push_back(DriverEvent("canary", weight, result));
    SetTimestamp(x.mutable_last_analysis_at(), now);
    if (!result.ok) {
      x.set_state(v1::Release::ROLLING_BACK);
      x.set_outcome_reason("canary step " + std::to_string(step + 2) + " failed: " + result.error);
      c.events.push_back(StateEvent(v1::Release::CANARY, v1::Release::ROLLING_BACK, x.outcome_reason()));
      c.advance_at = c.now;
      return grpc::Status::OK;
    }
    x.set_current_step(step + 1);
    x.set_current_weight(weight);
    x.set_fail_streak(0);
    x.set_inconclusive_streak(0);
    SetTimestamp(x.mutable_step_started_at(), now);
    const auto next = std::min(now + settings.interval, now + MillisOf(x.canary().steps(step + 1).duration()));
    SetTimestamp(x.mutable_next_analysis_at(), next);
    SetNextAction(x, "canary", weight, x.image(), ActionId(x, "canary", std::to_string(step + 1)));
    c.events.push_back({"STEP", kSystemActor,
                        "step " + std::to_string(step + 2) + " of " +
                            std::to_string(x.canary().steps_size()) + ": " + std::to_string(weight) +
                            "% of traffic",
                        "{}"});
    c.advance_at = next;
    return grpc::Status::OK;
  });
}

grpc::Status Pipeline::JudgeWindow(const v1::Release& r, const v1::AnalysisConfig& analysis,
                                   const std::string& judge, const Thresholds& thresholds,
                                   const Window& window, Judgement* judgement,
                                   nlohmann::json* data) {
  const std::string& source = analysis.source().empty() ? std::string("pushed") : analysis.source();
  SourceResult fetched;
  MetricSource* metric_source = nullptr;
  if (source == "pushed") {
    if (grpc::Status s = store_.SumObservations(r.id(), window.from, window.to, &fetched.observation);
        !s.ok()) {
      return s;
    }
    fetched.detail = fetched.observation ? "pushed observations" : "no observations pushed since the last analysis";
  } else if (auto it = sources_.find(source); it != sources_.end()) {
    metric_source = it->second;
    fetched = metric_source->Fetch(r, analysis, window);
  } else {
    fetched.detail = "unknown analysis source " + source;
  }

  std::optional<Comparison> comparison;
  std::string samples_detail;
  if (judge == "mann_whitney") {
    VersionSamples samples;
    if (source == "pushed") {
      if (grpc::Status s = store_.ObservationSamples(r.id(), window.from, window.to, &samples); !s.ok()) {
        return s;
      }
      samples_detail = "pushed latency samples";
    } else if (metric_source != nullptr) {
      metric_source->FetchSamples(r, analysis, window, &samples, &samples_detail);
    } else {
      samples_detail = "unknown analysis source " + source;
    }
    comparison = CompareLatency(samples, SettingsOf(analysis).comparison);
    // The error-rate limit still holds when request counts came with the samples.
    std::optional<Judgement> threshold_judgement;
    if (fetched.observation && fetched.observation->requests > 0) {
      threshold_judgement = Judge(fetched.observation, thresholds, fetched.detail);
    }
    *judgement = CombineVerdicts(*comparison, threshold_judgement);
  } else {
    *judgement = Judge(fetched.observation, thresholds, fetched.detail);
  }
  verdicts_.With({VerdictName(judgement->verdict)}).Inc();

  *data = {{"verdict", VerdictName(judgement->verdict)},
           {"reason", judgement->reason},
           {"judge", judge},
           {"source", source},
           {"detail", fetched.detail},
           {"max_error_rate", thresholds.max_error_rate},
           {"min_requests", thresholds.min_requests}};
  if (fetched.observation) {
    (*data)["requests"] = fetched.observation->requests;
    (*data)["errors"] = fetched.observation->errors;
    (*data)["error_rate"] = judgement->error_rate;
    if (fetched.observation->p99_latency_ms) (*data)["p99_latency_ms"] = *fetched.observation->p99_latency_ms;
  }
  if (thresholds.max_p99_latency_ms) (*data)["max_p99_latency_ms"] = *thresholds.max_p99_latency_ms;
  if (comparison) {
    const ComparisonSettings cs = SettingsOf(analysis).comparison;
    nlohmann::json test = {{"canary_samples", comparison->test.n_canary},
                           {"baseline_samples", comparison->test.n_baseline},
                           {"min_samples", cs.min_samples},
                           {"confidence", cs.confidence},
                           {"allowed_effect_size", cs.effect_size},
                           {"detail", samples_detail},
                           {"verdict", VerdictName(comparison->judgement.verdict)}};
    if (comparison->tested) {
      test["u"] = comparison->test.u_canary;
      test["u_baseline"] = comparison->test.u_baseline;
      test["exact"] = comparison->test.exact;
      if (!comparison->test.exact) test["z"] = comparison->test.z;
      test["p_value"] = comparison->test.p_greater;
      test["p_two_sided"] = comparison->test.p_two_sided;
      test["canary_median_ms"] = comparison->canary_median;
      test["baseline_median_ms"] = comparison->baseline_median;
      // JSON has no infinity: a baseline median of 0 leaves the effect out.
      if (std::isfinite(comparison->effect)) test["effect_size"] = comparison->effect;
      test["significant"] = comparison->significant;
    }
    (*data)["mann_whitney"] = test;
  }
  return grpc::Status::OK;
}

grpc::Status Pipeline::BakeTick(const v1::Release& r) {
  const Clock::TimePoint now = clock_.Now();
  if (r.paused() || now < TimeOf(r.next_analysis_at())) return grpc::Status::OK;
  // The whole fleet runs the release now: nothing to compare with, so the bake judges the
  // fleet's numbers against its own error-rate limit, from its own source.
  v1::AnalysisConfig analysis = r.canary().analysis();
  analysis.set_source(r.bake().source().empty() ? "pushed" : r.bake().source());
  const AnalysisSettings settings = SettingsOf(analysis);
  Thresholds thresholds = ThresholdsOf(analysis);
  if (r.bake().has_max_error_rate()) thresholds.max_error_rate = r.bake().max_error_rate().value();
  const Window window{TimeOf(r.last_analysis_at()), now};
  Judgement judgement;
  nlohmann::json data;
  if (grpc::Status s = JudgeWindow(r, analysis, "threshold", thresholds, window, &judgement, &data);
      !s.ok()) {
    return s;
  }
  Streaks streaks{r.fail_streak(), r.inconclusive_streak()};
  const Decision decision = releases::Apply(streaks, judgement.verdict, thresholds);
  data["bake"] = true;
  data["fail_streak"] = streaks.fail;
  data["inconclusive_streak"] = streaks.inconclusive;
  const NewEvent verdict_event{"ANALYSIS", kSystemActor,
                               std::string(VerdictName(judgement.verdict)) + " (bake): " + judgement.reason,
                               data.dump()};
  const auto bake_end = TimeOf(r.bake_until());
  return Apply(r, [&](v1::Release& x, Changes& c) {
    x.set_fail_streak(streaks.fail);
    x.set_inconclusive_streak(streaks.inconclusive);
    SetTimestamp(x.mutable_last_analysis_at(), now);
    c.events.push_back(verdict_event);
    if (decision == Decision::kRollBack) {
      x.set_state(v1::Release::ROLLING_BACK);
      x.set_outcome_reason("bake analysis failed " + std::to_string(streaks.fail) +
                           " time(s) in a row (limit " + std::to_string(thresholds.failure_limit) +
                           "): " + judgement.reason);
      c.events.push_back(StateEvent(v1::Release::BAKING, v1::Release::ROLLING_BACK, x.outcome_reason()));
      c.advance_at = c.now;
      return grpc::Status::OK;
    }
    if (decision == Decision::kPause) {
      x.set_paused(true);
      c.events.push_back({"PAUSED", kSystemActor,
                          std::to_string(streaks.inconclusive) +
                              " inconclusive analyses in a row: the bake waits until someone "
                              "promotes (accepts) or aborts the release",
                          "{}"});
      return grpc::Status::OK;
    }
    // The bake succeeds only on a verdict judged at its end, and never on an INCONCLUSIVE one.
    if (now >= bake_end && judgement.verdict == Verdict::kPass) {
      x.set_state(v1::Release::SUCCEEDED);
      const long long baked_seconds = MillisOf(x.bake().duration()).count() / 1000;
      x.set_outcome_reason("baked for " + std::to_string(baked_seconds) + "s: " + judgement.reason);
      x.mutable_next_action()->set_action("none");
      c.events.push_back(StateEvent(v1::Release::BAKING, v1::Release::SUCCEEDED, x.outcome_reason()));
      return grpc::Status::OK;
    }
    // Past the end without a PASS: judge again after one more interval.
    const auto next =
        now >= bake_end ? now + settings.interval : std::min(now + settings.interval, bake_end);
    SetTimestamp(x.mutable_next_analysis_at(), next);
    c.advance_at = next;
    return grpc::Status::OK;
  });
}

grpc::Status Pipeline::RunPromotion(const v1::Release& r) {
  const bool restore = r.kind() == v1::Release::ROLLBACK;
  const std::string action = restore ? "rollback" : "promote";
  DriverResult result;
  if (grpc::Status s = RunDriver(r, action, 100, "", &result); !s.ok()) return s;
  const EnvironmentPolicy& policy = policies_.For(r.environment());
  return Apply(r, [&](v1::Release& x, Changes& c) {
    c.events.push_back(DriverEvent(action, 100, result));
    SetNextAction(x, action, 100, x.image(), ActionId(x, action, ""));
    x.set_current_weight(100);
    if (!result.ok) {
      x.set_outcome_reason(action + " failed: " + result.error);
      // A failed restore is not rolled back again: a human must look.
      State to = restore ? v1::Release::FAILED : v1::Release::ROLLING_BACK;
      x.set_state(to);
      c.events.push_back(StateEvent(v1::Release::PROMOTING, to, x.outcome_reason()));
      if (!restore) c.advance_at = c.now;
      return grpc::Status::OK;
    }
    if (restore) {
      x.set_state(v1::Release::SUCCEEDED);
      x.set_outcome_reason("restored " + x.version() + " (" + x.commit_sha() + ")");
      c.supersede_newer = true;
      c.events.push_back(StateEvent(v1::Release::PROMOTING, v1::Release::SUCCEEDED, x.outcome_reason()));
      return grpc::Status::OK;
    }
    x.set_state(v1::Release::VERIFYING);
    std::string why = "promoted to 100%: waiting for the verification result";
    if (policy.verification_timeout.count() > 0) {
      SetTimestamp(x.mutable_verify_deadline(), c.now + policy.verification_timeout);
      c.advance_at = c.now + policy.verification_timeout;
    }
    if (!x.smoke_suite().empty()) {
      why = "promoted to 100%: running smoke suite " + x.smoke_suite();
      c.advance_at = c.now;  // start the run now; the deadline still bounds it
    }
    c.events.push_back(StateEvent(v1::Release::PROMOTING, v1::Release::VERIFYING, why));
    return grpc::Status::OK;
  });
}

grpc::Status Pipeline::SmokeTick(const v1::Release& r) {
  constexpr auto kRecheck = std::chrono::seconds(2);
  auto verdict = [&](bool passed, const std::string& details) {
    v1::PostVerificationRequest request;
    request.set_id(r.id());
    request.set_passed(passed);
    request.set_details(details);
    v1::Release out;
    return Verify(request, Actor{kSystemActor, "", ""}, &out);
  };
  auto recheck = [&](std::function<void(v1::Release&, Changes&)> also) {
    return Apply(r, [&](v1::Release& x, Changes& c) {
      if (also) also(x, c);
      c.advance_at = c.now + kRecheck;
      return grpc::Status::OK;
    });
  };
  auto transient = [](const grpc::Status& s) {
    return s.error_code() == grpc::StatusCode::UNAVAILABLE ||
           s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
  };
  if (smoke_ == nullptr) {
    return verdict(false, "smoke suite " + r.smoke_suite() + ": no health service is configured");
  }
  if (r.smoke_run_id().empty()) {
    std::string run_id;
    grpc::Status s = smoke_->Start(r.smoke_suite(), "release " + r.id(), r.id(), &run_id);
    if (transient(s)) return recheck(nullptr);  // the health service is restarting: ask again
    if (!s.ok()) return verdict(false, "smoke suite " + r.smoke_suite() + ": " + s.error_message());
    return recheck([&](v1::Release& x, Changes& c) {
      x.set_smoke_run_id(run_id);
      c.events.push_back({"SMOKE", kSystemActor,
                          "smoke run " + run_id + " of suite " + r.smoke_suite() + " started",
                          nlohmann::json{{"smoke_run_id", run_id}, {"suite", r.smoke_suite()}}.dump()});
    });
  }
  std::string state;
  std::string summary;
  grpc::Status s = smoke_->State(r.smoke_run_id(), &state, &summary);
  if (transient(s) || (s.ok() && state == "RUNNING")) return recheck(nullptr);
  if (!s.ok()) return verdict(false, "smoke run " + r.smoke_run_id() + ": " + s.error_message());
  return verdict(state == "PASSED", "smoke run " + r.smoke_run_id() + ": " + summary);
}

grpc::Status Pipeline::BeginRollback(const v1::Release& r, const std::string& reason, bool aborted,
                                     const std::string& actor) {
  const State from = r.state();
  return Apply(r, [&](v1::Release& x, Changes& c) {
    x.set_state(v1::Release::ROLLING_BACK);
    x.set_abort_requested(aborted);
    x.set_outcome_reason(reason);
    c.events.push_back(StateEvent(from, v1::Release::ROLLING_BACK, reason, actor));
    c.advance_at = c.now;
    return grpc::Status::OK;
  });
}

grpc::Status Pipeline::FinishRollback(const v1::Release& r) {
  DriverResult result;
  if (grpc::Status s = RunDriver(r, "rollback", 0, "", &result); !s.ok()) return s;
  std::optional<NewEvent> alert;
  if (!r.abort_requested()) alert = SecondFailureAlert(r);
  return Apply(r, [&](v1::Release& x, Changes& c) {
    c.events.push_back(DriverEvent("rollback", 0, result));
    SetNextAction(x, "rollback", 0, x.previous_image(), ActionId(x, "rollback", ""));
    x.set_current_weight(0);
    State to = v1::Release::ROLLED_BACK;
    if (!result.ok) {
      to = v1::Release::FAILED;
      x.set_outcome_reason(x.outcome_reason() + "; then the rollback failed: " + result.error);
    } else if (x.abort_requested()) {
      to = v1::Release::ABORTED;
    }
    x.set_state(to);
    c.events.push_back(StateEvent(v1::Release::ROLLING_BACK, to, x.outcome_reason()));
    if (alert) c.events.push_back(*alert);
    return grpc::Status::OK;
  });
}

std::optional<NewEvent> Pipeline::SecondFailureAlert(const v1::Release& failing) {
  if (failing.kind() != v1::Release::DEPLOY) return std::nullopt;
  std::vector<v1::Release> recent;
  if (!store_.RecentFinishedDeploys(failing.service(), failing.environment(), 1, &recent).ok() ||
      recent.empty()) {
    return std::nullopt;
  }
  const v1::Release& previous = recent.front();
  // An abort is a human's decision, not a failure; a success breaks the streak.
  if (previous.state() != v1::Release::ROLLED_BACK && previous.state() != v1::Release::FAILED) {
    return std::nullopt;
  }
  // Sent to incidents: the store enqueues a send_alert job for every ALERT event it commits.
  nlohmann::json alert = {
      {"labels",
       {{"alertname", "ConsecutiveFailedReleases"}, {"severity", "critical"},
        {"service", failing.service()}, {"environment", failing.environment()}}},
      {"annotations",
       {{"summary", "two releases of " + failing.service() + " in a row failed in " +
                        failing.environment()},
        {"releases", previous.id() + "," + failing.id()}}}};
  alerts_.With({"ConsecutiveFailedReleases"}).Inc();
  log::Warn("alert raised", {{"alert", alert.dump()}});
  return NewEvent{"ALERT", kSystemActor,
                  "second failed release in a row (after " + previous.id() +
                      "): raising ConsecutiveFailedReleases",
                  alert.dump()};
}

}  // namespace flightdeck::releases
