#include "services/releases/policy.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>
#include <nlohmann/json.hpp>

#include "common/config/config.h"
#include "services/releases/validation.h"

namespace flightdeck::releases {
namespace {

using Json = nlohmann::json;
using google::protobuf::Duration;
using google::protobuf::util::TimeUtil;

constexpr int kMaxSteps = 50;
constexpr long long kMinStepSeconds = 1;
constexpr long long kMaxStepSeconds = 24 * 3600;
constexpr long long kMinIntervalSeconds = 1;
constexpr long long kMaxIntervalSeconds = 3600;
const char* const kDefaultEntry = "default";

grpc::Status Invalid(const std::string& field, const std::string& why) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, field + ": " + why);
}

grpc::Status Prefixed(const std::string& prefix, const grpc::Status& status) {
  return grpc::Status(status.error_code(), prefix + status.error_message());
}

// Protobuf normalises a Duration so that seconds and nanos share a sign; comparing the pair
// lexicographically is then exact, with no overflow for absurd values.
bool AtLeastSeconds(const Duration& d, long long seconds) {
  return d.seconds() > seconds || (d.seconds() == seconds && d.nanos() >= 0);
}
bool AtMostSeconds(const Duration& d, long long seconds) {
  return d.seconds() < seconds || (d.seconds() == seconds && d.nanos() <= 0);
}
bool Longer(const Duration& a, const Duration& b) {
  return a.seconds() > b.seconds() || (a.seconds() == b.seconds() && a.nanos() > b.nanos());
}

Duration Seconds(long long s) {
  Duration d;
  d.set_seconds(s);
  return d;
}

v1::AnalysisConfig BuiltInAnalysis() {
  const Thresholds t;
  v1::AnalysisConfig a;
  *a.mutable_interval() = Seconds(60);
  a.mutable_max_error_rate()->set_value(t.max_error_rate);
  a.mutable_min_requests()->set_value(t.min_requests);
  a.mutable_failure_limit()->set_value(t.failure_limit);
  a.mutable_inconclusive_limit()->set_value(t.inconclusive_limit);
  a.set_source("pushed");
  a.set_judge("threshold");
  const ComparisonSettings comparison;
  a.mutable_mann_whitney()->mutable_confidence()->set_value(comparison.confidence);
  a.mutable_mann_whitney()->mutable_effect_size()->set_value(comparison.effect_size);
  a.mutable_mann_whitney()->mutable_min_samples()->set_value(comparison.min_samples);
  return a;
}

v1::CanaryStep BuiltInStep() {
  v1::CanaryStep step;
  step.set_weight(5);
  *step.mutable_duration() = Seconds(600);
  return step;
}

// Every field the client gave replaces the one below it.
void Overlay(const v1::AnalysisConfig& given, v1::AnalysisConfig* plan) {
  if (given.has_interval()) *plan->mutable_interval() = given.interval();
  if (given.has_max_error_rate()) *plan->mutable_max_error_rate() = given.max_error_rate();
  if (given.has_max_p99_latency_ms()) {
    *plan->mutable_max_p99_latency_ms() = given.max_p99_latency_ms();
  }
  if (given.has_min_requests()) *plan->mutable_min_requests() = given.min_requests();
  if (given.has_failure_limit()) *plan->mutable_failure_limit() = given.failure_limit();
  if (given.has_inconclusive_limit()) {
    *plan->mutable_inconclusive_limit() = given.inconclusive_limit();
  }
  if (!given.source().empty()) plan->set_source(given.source());
  if (given.has_prometheus()) *plan->mutable_prometheus() = given.prometheus();
  if (given.has_health()) *plan->mutable_health() = given.health();
  if (!given.judge().empty()) plan->set_judge(given.judge());
  const v1::MannWhitneyConfig& mw = given.mann_whitney();
  if (mw.has_confidence()) *plan->mutable_mann_whitney()->mutable_confidence() = mw.confidence();
  if (mw.has_effect_size()) *plan->mutable_mann_whitney()->mutable_effect_size() = mw.effect_size();
  if (mw.has_min_samples()) *plan->mutable_mann_whitney()->mutable_min_samples() = mw.min_samples();
}

bool IsHttpUrl(const std::string& url) {
  for (const char* scheme : {"http://", "https://"}) {
    const size_t n = std::strlen(scheme);
    if (url.size() > n && url.compare(0, n, scheme) == 0) return true;
  }
  return false;
}

// Every problem of the steps, each naming its field.
void ValidateSteps(const v1::CanaryPlan& plan, FieldErrors& errors) {
  if (plan.steps_size() > kMaxSteps) {
    errors.Add("canary.steps", "at most " + std::to_string(kMaxSteps) + " steps");
    return;
  }
  for (int i = 0; i < plan.steps_size(); ++i) {
    const v1::CanaryStep& step = plan.steps(i);
    const std::string field = "canary.steps[" + std::to_string(i) + "]";
    if (step.weight() < 1 || step.weight() > 100) {
      errors.Add(field + ".weight", "must be between 1 and 100");
    } else if (i > 0 && step.weight() < plan.steps(i - 1).weight()) {
      errors.Add(field + ".weight", "must not be lower than the previous step's weight (" +
                                        std::to_string(plan.steps(i - 1).weight()) + ")");
    }
    if (!step.has_duration()) {
      errors.Add(field + ".duration", "is required");
    } else if (!AtLeastSeconds(step.duration(), kMinStepSeconds) ||
               !AtMostSeconds(step.duration(), kMaxStepSeconds)) {
      errors.Add(field + ".duration", "must be between 1s and 24h");
    }
  }
}

// Every problem of the analysis; the source is made canonical (lower case) in place.
void ValidateAnalysis(v1::CanaryPlan& plan, FieldErrors& errors) {
  v1::AnalysisConfig& a = *plan.mutable_analysis();
  if (!AtLeastSeconds(a.interval(), kMinIntervalSeconds) ||
      !AtMostSeconds(a.interval(), kMaxIntervalSeconds)) {
    errors.Add("canary.analysis.interval", "must be between 1s and 1h");
  } else {
    // A step shorter than the interval would end before its first verdict and promote unjudged.
    for (int i = 0; i < plan.steps_size(); ++i) {
      const Duration& d = plan.steps(i).duration();
      // A step whose own duration is out of bounds is reported once, as that.
      if (!AtLeastSeconds(d, kMinStepSeconds) || !AtMostSeconds(d, kMaxStepSeconds)) continue;
      if (Longer(a.interval(), d)) {
        const std::string step = "canary.steps[" + std::to_string(i) + "].duration";
        errors.Add("canary.analysis.interval",
                   TimeUtil::ToString(a.interval()) + " is longer than " + step + " (" +
                       TimeUtil::ToString(plan.steps(i).duration()) + ")");
        break;
      }
    }
  }
  const double rate = a.max_error_rate().value();
  if (!(rate >= 0 && rate <= 1)) {
    errors.Add("canary.analysis.max_error_rate", "must be between 0 and 1");
  }
  if (a.has_max_p99_latency_ms()) {
    const double ms = a.max_p99_latency_ms().value();
    if (!std::isfinite(ms) || ms <= 0) {
      errors.Add("canary.analysis.max_p99_latency_ms", "must be greater than 0");
    }
  }
  if (a.min_requests().value() < 1) errors.Add("canary.analysis.min_requests", "must be at least 1");
  if (a.failure_limit().value() < 1) errors.Add("canary.analysis.failure_limit", "must be at least 1");
  if (a.inconclusive_limit().value() < 1) {
    errors.Add("canary.analysis.inconclusive_limit", "must be at least 1");
  }
  const std::string judge = CanonicalChoice(a.judge(), kAnalysisJudges);
  if (judge.empty()) {
    errors.Add("canary.analysis.judge", UnknownChoice(a.judge(), kAnalysisJudges));
  } else {
    a.set_judge(judge);
  }
  const v1::MannWhitneyConfig& mw = a.mann_whitney();
  if (!(mw.confidence().value() > 0 && mw.confidence().value() < 1)) {
    errors.Add("canary.analysis.mann_whitney.confidence", "must be between 0 and 1 (exclusive)");
  }
  if (!(std::isfinite(mw.effect_size().value()) && mw.effect_size().value() >= 0)) {
    errors.Add("canary.analysis.mann_whitney.effect_size", "must be 0 or more");
  }
  if (mw.min_samples().value() < 1) {
    errors.Add("canary.analysis.mann_whitney.min_samples", "must be at least 1");
  }
  const std::string source = CanonicalChoice(a.source(), kAnalysisSources);
  if (source.empty()) {
    errors.Add("canary.analysis.source", UnknownChoice(a.source(), kAnalysisSources));
    return;
  }
  a.set_source(source);
  if (judge == "mann_whitney") {
    if (source == "health") {
      errors.Add("canary.analysis.judge",
                 "mann_whitney needs latency samples per version: source pushed or prometheus");
    } else if (source == "prometheus" && a.prometheus().latency_samples_query().empty()) {
      errors.Add("canary.analysis.prometheus.latency_samples_query",
                 "is required when the judge is mann_whitney");
    }
  }
  if (source == "prometheus") {
    if (a.prometheus().url().empty()) {
      errors.Add("canary.analysis.prometheus.url", "is required when source is prometheus");
    } else if (!IsHttpUrl(a.prometheus().url())) {
      errors.Add("canary.analysis.prometheus.url", "must be an http:// or https:// URL");
    }
    if (a.prometheus().error_rate_query().empty()) {
      errors.Add("canary.analysis.prometheus.error_rate_query",
                 "is required when source is prometheus");
    }
  } else if (source == "health") {
    if (a.health().target().empty()) {
      errors.Add("canary.analysis.health.target", "is required when source is health");
    }
  }
}

// --- environments file ---

grpc::Status ParseDurationField(const std::string& field, const Json& value,
                                std::chrono::milliseconds* out) {
  if (!value.is_string()) return Invalid(field, "must be a duration string such as \"300s\"");
  const std::string text = value.get<std::string>();
  auto parsed = config::ParseDuration(text);
  if (!parsed) {
    return Invalid(field, "\"" + text + "\" is not a duration (e.g. \"300s\", \"10m\", \"1h\")");
  }
  *out = *parsed;
  return grpc::Status::OK;
}

grpc::Status ParseBool(const std::string& field, const Json& value, bool* out) {
  if (!value.is_boolean()) return Invalid(field, "must be true or false");
  *out = value.get<bool>();
  return grpc::Status::OK;
}

// Proto JSON only knows "600s"; the rest of the file takes "10m" too. Rewrites such a value in
// place so that one file reads one way.
grpc::Status NormaliseDuration(const std::string& field, Json* value) {
  if (!value->is_string()) return grpc::Status::OK;  // protobuf names the type error
  const std::string text = value->get<std::string>();
  Duration proto_form;
  if (TimeUtil::FromString(text, &proto_form)) return grpc::Status::OK;
  auto parsed = config::ParseDuration(text);
  if (!parsed) {
    return Invalid(field, "\"" + text + "\" is not a duration (e.g. \"300s\", \"10m\", \"1h\")");
  }
  *value = TimeUtil::ToString(TimeUtil::MillisecondsToDuration(parsed->count()));
  return grpc::Status::OK;
}

grpc::Status ParseCanary(const std::string& env, const Json& value, EnvironmentPolicy* policy) {
  if (!value.is_object()) return Invalid(env + ".canary", "must be an object");
  Json canary = value;
  if (auto steps = canary.find("steps"); steps != canary.end() && steps->is_array()) {
    for (size_t i = 0; i < steps->size(); ++i) {
      Json& step = (*steps)[i];
      if (!step.is_object() || !step.contains("duration")) continue;
      const std::string field = env + ".canary.steps[" + std::to_string(i) + "].duration";
      if (grpc::Status s = NormaliseDuration(field, &step["duration"]); !s.ok()) return s;
    }
  }
  if (auto analysis = canary.find("analysis");
      analysis != canary.end() && analysis->is_object() && analysis->contains("interval")) {
    grpc::Status s =
        NormaliseDuration(env + ".canary.analysis.interval", &(*analysis)["interval"]);
    if (!s.ok()) return s;
  }
  v1::CanaryPlan given;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto parsed = google::protobuf::util::JsonStringToMessage(canary.dump(), &given, options);
  if (!parsed.ok()) return Invalid(env + ".canary", std::string(parsed.message()));
  v1::CanaryPlan resolved;
  grpc::Status s = ResolvePlan(given, policy->default_canary, &resolved);
  if (!s.ok()) {
    // Each problem of the plan names its field within this environment's entry.
    std::string message = s.error_message();
    for (size_t at = message.find("; "); at != std::string::npos; at = message.find("; ", at + 2)) {
      message.insert(at + 2, env + ".");
    }
    return Prefixed(env + ".", grpc::Status(s.error_code(), message));
  }
  policy->default_canary = resolved;
  return grpc::Status::OK;
}

grpc::Status ParseBake(const std::string& field, const Json& value, v1::BakeConfig* bake) {
  if (!value.is_object()) {
    return Invalid(field, "must be an object such as {\"duration\": \"15m\", \"max_error_rate\": 0.05}");
  }
  v1::BakeConfig parsed;
  parsed.mutable_max_error_rate()->set_value(0.05);
  parsed.set_source("pushed");
  bool has_duration = false;
  for (const auto& [key, item] : value.items()) {
    const std::string sub = field + "." + key;
    if (key == "duration") {
      std::chrono::milliseconds duration{0};
      if (grpc::Status s = ParseDurationField(sub, item, &duration); !s.ok()) return s;
      if (duration.count() < 0 || duration > std::chrono::hours(24)) {
        return Invalid(sub, "must be between 0s (no bake) and 24h");
      }
      *parsed.mutable_duration() = TimeUtil::MillisecondsToDuration(duration.count());
      has_duration = true;
    } else if (key == "max_error_rate") {
      if (!item.is_number() || !(item.get<double>() >= 0 && item.get<double>() <= 1)) {
        return Invalid(sub, "must be a number between 0 and 1");
      }
      parsed.mutable_max_error_rate()->set_value(item.get<double>());
    } else if (key == "source") {
      const std::string source =
          item.is_string() ? CanonicalChoice(item.get<std::string>(), kAnalysisSources) : "";
      if (source.empty()) {
        return Invalid(sub, UnknownChoice(item.is_string() ? item.get<std::string>() : item.dump(),
                                          kAnalysisSources));
      }
      parsed.set_source(source);
    } else {
      return Invalid(sub, "unknown field");
    }
  }
  if (!has_duration) return Invalid(field + ".duration", "is required (\"0s\" for no bake)");
  *bake = parsed;
  return grpc::Status::OK;
}

// Applies one environment's entry of the file on top of what it inherits.
grpc::Status ApplyEntry(const std::string& env, const Json& entry, EnvironmentPolicy* policy) {
  if (!entry.is_object()) return Invalid(env, "must be an object");
  for (const auto& [key, value] : entry.items()) {
    const std::string field = env + "." + key;
    grpc::Status s;
    if (key == "requires_success_in") {
      if (!value.is_array()) return Invalid(field, "must be a list of environment names");
      std::vector<std::string> names;
      for (size_t i = 0; i < value.size(); ++i) {
        const std::string item = field + "[" + std::to_string(i) + "]";
        if (!value[i].is_string() || !IsDnsLabel(value[i].get<std::string>())) {
          return Invalid(item, "must be an environment name (a lower-case DNS label)");
        }
        names.push_back(value[i].get<std::string>());
      }
      policy->requires_success_in = names;
    } else if (key == "require_approval") {
      s = ParseBool(field, value, &policy->require_approval);
    } else if (key == "allow_self_approval") {
      s = ParseBool(field, value, &policy->allow_self_approval);
    } else if (key == "canary") {
      s = ParseCanary(env, value, policy);
    } else if (key == "driver") {
      const std::string kind =
          value.is_string() ? CanonicalChoice(value.get<std::string>(), kDriverKinds) : "";
      if (kind.empty()) {
        return Invalid(field, UnknownChoice(value.is_string() ? value.get<std::string>() : value.dump(),
                                            kDriverKinds));
      }
      policy->driver = kind;
    } else if (key == "command") {
      if (!value.is_array() || value.empty()) {
        return Invalid(field, "must be a non-empty list: the executable and its arguments");
      }
      std::vector<std::string> argv;
      for (size_t i = 0; i < value.size(); ++i) {
        if (!value[i].is_string() || value[i].get<std::string>().empty()) {
          return Invalid(field + "[" + std::to_string(i) + "]", "must be a non-empty string");
        }
        argv.push_back(value[i].get<std::string>());
      }
      policy->command = argv;
    } else if (key == "command_timeout") {
      s = ParseDurationField(field, value, &policy->command_timeout);
      if (s.ok() && policy->command_timeout.count() <= 0) {
        return Invalid(field, "must be longer than 0s");
      }
    } else if (key == "verification_timeout") {
      s = ParseDurationField(field, value, &policy->verification_timeout);
    } else if (key == "backup_before_deploy") {
      if (!value.is_string() || (!value.get<std::string>().empty() && !IsDnsLabel(value.get<std::string>()))) {
        return Invalid(field, "must be the name of a backup target");
      }
      policy->backup_before_deploy = value.get<std::string>();
    } else if (key == "bake") {
      s = ParseBake(field, value, &policy->bake);
    } else if (key == "requires_window") {
      if (!value.is_string() || (!value.get<std::string>().empty() && !IsDnsLabel(value.get<std::string>()))) {
        return Invalid(field, "must be the name of a maintenance window (\"\" for none)");
      }
      policy->requires_window = value.get<std::string>();
    } else if (key == "notify") {
      s = ParseNotifyTargets(field, value, &policy->notify);
    } else {
      return Invalid(field, "unknown field");
    }
    if (!s.ok()) return s;
  }
  return grpc::Status::OK;
}

// The parts that make production production; they survive a file that configures production
// without restating them (an operator changing its driver does not mean to drop the gate).
void CopyGates(const EnvironmentPolicy& from, EnvironmentPolicy* to) {
  to->requires_success_in = from.requires_success_in;
  to->require_approval = from.require_approval;
  to->allow_self_approval = from.allow_self_approval;
  to->bake = from.bake;
}

}  // namespace

PolicySet PolicySet::Defaults() {
  PolicySet set;
  set.default_.name = kDefaultEntry;
  ResolvePlan(v1::CanaryPlan(), v1::CanaryPlan(), &set.default_.default_canary);

  EnvironmentPolicy production = set.default_;
  production.name = "production";
  production.requires_success_in = {"staging"};
  production.require_approval = true;
  production.allow_self_approval = false;
  // The runbook: "automatic rollback if the error rate exceeds 5% in the first 15 minutes".
  *production.bake.mutable_duration() = Seconds(15 * 60);
  production.bake.mutable_max_error_rate()->set_value(0.05);
  production.bake.set_source("pushed");
  set.environments_[production.name] = production;
  return set;
}

grpc::Status PolicySet::FromJson(const std::string& json_text, PolicySet* out) {
  Json root;
  try {
    root = Json::parse(json_text);
  } catch (const Json::exception& e) {
    return Invalid("environments", std::string("invalid JSON: ") + e.what());
  }
  if (!root.is_object()) {
    return Invalid("environments", "must be a JSON object keyed by environment name");
  }

  const PolicySet built_in = Defaults();
  PolicySet set;
  set.default_ = built_in.default_;
  if (auto it = root.find(kDefaultEntry); it != root.end()) {
    if (grpc::Status s = ApplyEntry(kDefaultEntry, *it, &set.default_); !s.ok()) return s;
  }
  for (const auto& [name, built_in_policy] : built_in.environments_) {
    EnvironmentPolicy policy = set.default_;
    policy.name = name;
    CopyGates(built_in_policy, &policy);
    set.environments_[name] = policy;
  }
  for (const auto& [name, entry] : root.items()) {
    if (name == kDefaultEntry) continue;
    if (!IsDnsLabel(name)) {
      return Invalid(name, "environment names must be lower-case DNS labels");
    }
    auto existing = set.environments_.find(name);
    EnvironmentPolicy policy = existing != set.environments_.end() ? existing->second : set.default_;
    policy.name = name;
    if (grpc::Status s = ApplyEntry(name, entry, &policy); !s.ok()) return s;
    set.environments_[name] = policy;
  }

  std::vector<const EnvironmentPolicy*> all = {&set.default_};
  for (const auto& [name, policy] : set.environments_) all.push_back(&policy);
  for (const EnvironmentPolicy* policy : all) {
    if (policy->driver == "command" && policy->command.empty()) {
      return Invalid(policy->name + ".command", "is required when the driver is command");
    }
  }

  // A requirement that leads back to the environment itself can never be met: every release
  // there would be refused forever.
  for (const auto& [name, policy] : set.environments_) {
    std::vector<std::string> path = {name};
    std::set<std::string> seen = {name};
    std::vector<std::string> frontier = policy.requires_success_in;
    while (!frontier.empty()) {
      std::string next = frontier.back();
      frontier.pop_back();
      if (next == name) {
        return Invalid(name + ".requires_success_in",
                       "requires a success in " + name + " itself, through its requirements");
      }
      if (!seen.insert(next).second) continue;
      for (const std::string& req : set.For(next).requires_success_in) frontier.push_back(req);
    }
  }
  for (const std::string& req : set.default_.requires_success_in) {
    if (set.environments_.count(req) == 0) {
      return Invalid(std::string(kDefaultEntry) + ".requires_success_in",
                     "\"" + req + "\" has no entry of its own, so it would require itself");
    }
  }

  *out = std::move(set);
  return grpc::Status::OK;
}

grpc::Status PolicySet::FromFile(const std::string& path, PolicySet* out) {
  std::ifstream in(path);
  if (!in) {
    return Invalid(path, std::string("cannot read the environments file: ") +
                             std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  grpc::Status s = FromJson(text.str(), out);
  if (!s.ok()) return Prefixed(path + ": ", s);
  return grpc::Status::OK;
}

const EnvironmentPolicy& PolicySet::For(const std::string& environment) const {
  auto it = environments_.find(environment);
  return it != environments_.end() ? it->second : default_;
}

grpc::Status ResolvePlan(const v1::CanaryPlan& requested, const v1::CanaryPlan& defaults,
                         v1::CanaryPlan* out) {
  v1::CanaryPlan plan;
  if (requested.steps_size() > 0) {
    *plan.mutable_steps() = requested.steps();
  } else if (defaults.steps_size() > 0) {
    *plan.mutable_steps() = defaults.steps();
  } else {
    *plan.add_steps() = BuiltInStep();
  }
  *plan.mutable_analysis() = BuiltInAnalysis();
  Overlay(defaults.analysis(), plan.mutable_analysis());
  Overlay(requested.analysis(), plan.mutable_analysis());

  FieldErrors errors;
  ValidateSteps(plan, errors);
  ValidateAnalysis(plan, errors);
  if (!errors.empty()) return errors.ToStatus();
  *out = std::move(plan);
  return grpc::Status::OK;
}

AnalysisSettings SettingsOf(const v1::AnalysisConfig& analysis) {
  AnalysisSettings settings;
  if (analysis.has_interval()) {
    const auto ms = std::chrono::milliseconds(
        TimeUtil::DurationToMilliseconds(analysis.interval()));
    // An unvalidated zero interval would spin the analysis job; keep the default instead.
    if (ms.count() > 0) settings.interval = ms;
  }
  if (!analysis.source().empty()) settings.source = analysis.source();
  if (!analysis.judge().empty()) settings.judge = analysis.judge();
  const v1::MannWhitneyConfig& mw = analysis.mann_whitney();
  if (mw.has_confidence()) settings.comparison.confidence = mw.confidence().value();
  if (mw.has_effect_size()) settings.comparison.effect_size = mw.effect_size().value();
  if (mw.has_min_samples()) settings.comparison.min_samples = mw.min_samples().value();
  return settings;
}

Thresholds ThresholdsOf(const v1::AnalysisConfig& analysis) {
  Thresholds t;
  if (analysis.has_max_error_rate()) t.max_error_rate = analysis.max_error_rate().value();
  if (analysis.has_max_p99_latency_ms()) {
    t.max_p99_latency_ms = analysis.max_p99_latency_ms().value();
  }
  if (analysis.has_min_requests()) t.min_requests = analysis.min_requests().value();
  if (analysis.has_failure_limit()) t.failure_limit = analysis.failure_limit().value();
  if (analysis.has_inconclusive_limit()) {
    t.inconclusive_limit = analysis.inconclusive_limit().value();
  }
  return t;
}

}  // namespace flightdeck::releases
