#include "services/releases/policy.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

namespace flightdeck::releases {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

// A plan as a REST client sends it ("canary" object of the create body).
v1::CanaryPlan Plan(const std::string& json) {
  v1::CanaryPlan plan;
  auto status = google::protobuf::util::JsonStringToMessage(json, &plan);
  EXPECT_TRUE(status.ok()) << status.ToString() << " in " << json;
  return plan;
}

const v1::CanaryPlan& BuiltInPlan() {
  static const v1::CanaryPlan plan = PolicySet::Defaults().For("anything").default_canary;
  return plan;
}

// The field-naming error ResolvePlan gives for a requested plan over the built-in defaults.
std::string ResolveError(const std::string& json) {
  v1::CanaryPlan out;
  grpc::Status s = ResolvePlan(Plan(json), BuiltInPlan(), &out);
  if (s.ok()) return "OK";
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  return s.error_message();
}

class TempFile {
 public:
  explicit TempFile(const std::string& contents) {
    static int counter = 0;
    path_ = testing::TempDir() + "/policy_test_" + std::to_string(::getpid()) + "_" +
            std::to_string(counter++) + ".json";
    std::ofstream(path_) << contents;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(PolicyTest, ProductionRequiresStagingAndSomeoneElsesApprovalByDefault) {
  PolicySet policies = PolicySet::Defaults();
  const EnvironmentPolicy& production = policies.For("production");
  EXPECT_EQ(production.requires_success_in, std::vector<std::string>{"staging"});
  EXPECT_TRUE(production.require_approval);
  EXPECT_FALSE(production.allow_self_approval);
  EXPECT_EQ(production.driver, "external");
}

TEST(PolicyTest, OtherEnvironmentsNeedNothingByDefault) {
  PolicySet policies = PolicySet::Defaults();
  for (const char* env : {"staging", "dev", "qa"}) {
    const EnvironmentPolicy& p = policies.For(env);
    EXPECT_TRUE(p.requires_success_in.empty()) << env;
    EXPECT_FALSE(p.require_approval) << env;
    EXPECT_EQ(p.driver, "external") << env;
  }
}

TEST(PolicyTest, DefaultCanaryIsOneFivePercentStepForTenMinutesJudgedEveryMinute) {
  const PolicySet policies = PolicySet::Defaults();
  const v1::CanaryPlan& plan = policies.For("production").default_canary;
  ASSERT_EQ(plan.steps_size(), 1);
  EXPECT_EQ(plan.steps(0).weight(), 5);
  EXPECT_EQ(plan.steps(0).duration().seconds(), 600);
  const v1::AnalysisConfig& a = plan.analysis();
  EXPECT_EQ(a.interval().seconds(), 60);
  EXPECT_TRUE(a.has_max_error_rate());
  EXPECT_DOUBLE_EQ(a.max_error_rate().value(), 0.05);
  EXPECT_EQ(a.min_requests().value(), 100);
  EXPECT_EQ(a.failure_limit().value(), 1);
  EXPECT_EQ(a.inconclusive_limit().value(), 3);
  EXPECT_EQ(a.source(), "pushed");
  EXPECT_FALSE(a.has_max_p99_latency_ms());
}

constexpr const char* kGoodFile = R"({
  "default": {
    "canary": {"steps": [{"weight": 10, "duration": "5m"}, {"weight": 50, "duration": "300s"}],
               "analysis": {"interval": "30s", "max_error_rate": 0.02}},
    "verification_timeout": "10m"
  },
  "production": {
    "driver": "command",
    "command": ["/usr/local/bin/deploy.sh", "--wait"],
    "command_timeout": "90s",
    "canary": {"analysis": {"max_p99_latency_ms": 800}}
  },
  "staging": {"requires_success_in": ["dev"], "require_approval": false},
  "dev": {}
})";

TEST(PolicyTest, FileSetsEachEnvironmentAndInheritsTheRestFromDefault) {
  TempFile file(kGoodFile);
  PolicySet policies;
  grpc::Status s = PolicySet::FromFile(file.path(), &policies);
  ASSERT_TRUE(s.ok()) << s.error_message();

  const EnvironmentPolicy& production = policies.For("production");
  EXPECT_EQ(production.name, "production");
  EXPECT_EQ(production.driver, "command");
  EXPECT_EQ(production.command,
            (std::vector<std::string>{"/usr/local/bin/deploy.sh", "--wait"}));
  EXPECT_EQ(production.command_timeout, seconds(90));
  EXPECT_EQ(production.verification_timeout, minutes(10));
  // Configuring production's driver did not drop its built-in gates.
  EXPECT_EQ(production.requires_success_in, std::vector<std::string>{"staging"});
  EXPECT_TRUE(production.require_approval);
  EXPECT_FALSE(production.allow_self_approval);
  // Its canary is the file's default plan with its own latency limit on top.
  const v1::CanaryPlan& plan = production.default_canary;
  ASSERT_EQ(plan.steps_size(), 2);
  EXPECT_EQ(plan.steps(1).weight(), 50);
  EXPECT_EQ(plan.steps(0).duration().seconds(), 300) << "\"5m\" in the file";
  EXPECT_EQ(plan.analysis().interval().seconds(), 30);
  EXPECT_DOUBLE_EQ(plan.analysis().max_error_rate().value(), 0.02);
  EXPECT_DOUBLE_EQ(plan.analysis().max_p99_latency_ms().value(), 800);
  EXPECT_EQ(plan.analysis().failure_limit().value(), 1);

  const EnvironmentPolicy& staging = policies.For("staging");
  EXPECT_EQ(staging.requires_success_in, std::vector<std::string>{"dev"});
  EXPECT_EQ(staging.driver, "external");
  EXPECT_FALSE(staging.default_canary.analysis().has_max_p99_latency_ms());
}

TEST(PolicyTest, UnknownEnvironmentFallsBackToTheFilesDefault) {
  PolicySet policies;
  ASSERT_TRUE(PolicySet::FromJson(kGoodFile, &policies).ok());
  const EnvironmentPolicy& qa = policies.For("qa");
  EXPECT_EQ(qa.name, "default");
  EXPECT_TRUE(qa.requires_success_in.empty());
  EXPECT_FALSE(qa.require_approval);
  EXPECT_EQ(qa.verification_timeout, minutes(10));
  ASSERT_EQ(qa.default_canary.steps_size(), 2);
  EXPECT_EQ(qa.default_canary.steps(0).weight(), 10);
}

TEST(PolicyTest, FileWithoutProductionKeepsProductionsGates) {
  PolicySet policies;
  ASSERT_TRUE(PolicySet::FromJson(R"({"default": {"require_approval": false}})", &policies).ok());
  EXPECT_TRUE(policies.For("production").require_approval);
  EXPECT_EQ(policies.For("production").requires_success_in, std::vector<std::string>{"staging"});
}

TEST(PolicyTest, FileCanLiftProductionsGatesExplicitly) {
  PolicySet policies;
  grpc::Status s = PolicySet::FromJson(
      R"({"production": {"requires_success_in": [], "allow_self_approval": true}})", &policies);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(policies.For("production").requires_success_in.empty());
  EXPECT_TRUE(policies.For("production").allow_self_approval);
  EXPECT_TRUE(policies.For("production").require_approval);
}

// The error FromJson gives for a file; the policies it was given must stay as they were.
std::string FileError(const std::string& json) {
  PolicySet policies = PolicySet::Defaults();
  grpc::Status s = PolicySet::FromJson(json, &policies);
  if (s.ok()) return "OK";
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(policies.For("production").require_approval);
  return s.error_message();
}

TEST(PolicyTest, BadDurationNamesTheEnvironmentAndField) {
  EXPECT_EQ(FileError(R"({"production": {"command_timeout": "5 minutes"}})"),
            "production.command_timeout: \"5 minutes\" is not a duration "
            "(e.g. \"300s\", \"10m\", \"1h\")");
  EXPECT_EQ(FileError(R"({"default": {"verification_timeout": 30}})").rfind(
                "default.verification_timeout: ", 0),
            0u);
  EXPECT_EQ(FileError(R"({"staging": {"command_timeout": "0s"}})"),
            "staging.command_timeout: must be longer than 0s");
}

TEST(PolicyTest, BadJsonIsRefusedWithTheParsersReason) {
  std::string e = FileError(R"({"production": {"require_approval": true,}})");
  EXPECT_EQ(e.rfind("environments: invalid JSON: ", 0), 0u) << e;
  EXPECT_EQ(FileError("[]"), "environments: must be a JSON object keyed by environment name");
  EXPECT_EQ(FileError("").rfind("environments: invalid JSON: ", 0), 0u) << "empty file";
}

TEST(PolicyTest, EnumsAreTakenInAnyCase) {
  PolicySet set;
  grpc::Status s = PolicySet::FromJson(
      R"({"staging": {"driver": "Command", "command": ["/bin/deploy"],
                      "canary": {"analysis": {"source": "Health", "health": {"target": "web"}}}}})",
      &set);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(set.For("staging").driver, "command");
  EXPECT_EQ(set.For("staging").default_canary.analysis().source(), "health");
  EXPECT_EQ(FileError(R"({"staging": {"canary": {"analysis": {"source": "datadog"}}}})"),
            "staging.canary.analysis.source: unknown value \"datadog\" (one of pushed, prometheus, "
            "health)");
}

TEST(PolicyTest, BadFieldsNameTheEnvironmentAndField) {
  EXPECT_EQ(FileError(R"({"production": {"requires_approval": true}})"),
            "production.requires_approval: unknown field");
  EXPECT_EQ(FileError(R"({"production": {"require_approval": "yes"}})"),
            "production.require_approval: must be true or false");
  EXPECT_EQ(FileError(R"({"staging": {"driver": "helm"}})"),
            "staging.driver: unknown value \"helm\" (one of external, command)");
  EXPECT_EQ(FileError(R"({"staging": {"driver": "command"}})"),
            "staging.command: is required when the driver is command");
  EXPECT_EQ(FileError(R"({"staging": {"command": ["/bin/deploy", ""]}})"),
            "staging.command[1]: must be a non-empty string");
  EXPECT_EQ(FileError(R"({"production": {"requires_success_in": ["Staging"]}})"),
            "production.requires_success_in[0]: must be an environment name "
            "(a lower-case DNS label)");
  EXPECT_EQ(FileError(R"({"Production": {}})"),
            "Production: environment names must be lower-case DNS labels");
  EXPECT_EQ(FileError(R"({"production": []})"), "production: must be an object");
}

TEST(PolicyTest, BadCanaryInTheFileNamesTheEnvironmentAndCanaryField) {
  EXPECT_EQ(FileError(R"({"production": {"canary": {"steps": [{"weight": 0, "duration": "60s"}]}}})"),
            "production.canary.steps[0].weight: must be between 1 and 100");
  EXPECT_EQ(FileError(R"({"default": {"canary": {"analysis": {"interval": "2h"}}}})"),
            "default.canary.analysis.interval: must be between 1s and 1h");
  EXPECT_EQ(FileError(R"({"staging": {"canary": {"steps": [{"weight": 5, "duration": "soon"}]}}})"),
            "staging.canary.steps[0].duration: \"soon\" is not a duration "
            "(e.g. \"300s\", \"10m\", \"1h\")");
  std::string e = FileError(R"({"staging": {"canary": {"stepz": []}}})");
  EXPECT_EQ(e.rfind("staging.canary: ", 0), 0u) << e;
}

TEST(PolicyTest, RequirementsThatLeadBackToTheEnvironmentAreRefused) {
  EXPECT_EQ(FileError(R"({"staging": {"requires_success_in": ["staging"]}})"),
            "staging.requires_success_in: requires a success in staging itself, "
            "through its requirements");
  std::string e = FileError(R"({"staging": {"requires_success_in": ["production"]}})");
  EXPECT_NE(e.find(".requires_success_in: requires a success in"), std::string::npos) << e;
  EXPECT_EQ(FileError(R"({"default": {"requires_success_in": ["qa"]}})"),
            "default.requires_success_in: \"qa\" has no entry of its own, so it would "
            "require itself");
  EXPECT_EQ(FileError(R"({"default": {"requires_success_in": ["qa"]}, "qa": {"requires_success_in": []}})"),
            "OK");
}

TEST(PolicyTest, UnreadableFileNamesThePath) {
  PolicySet policies;
  const std::string path = testing::TempDir() + "/no_such_environments_file.json";
  grpc::Status s = PolicySet::FromFile(path, &policies);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message().rfind(path + ": cannot read", 0), 0u) << s.error_message();
}

TEST(PolicyTest, FileErrorsNameThePathToo) {
  TempFile file(R"({"production": {"command_timeout": "soon"}})");
  PolicySet policies;
  grpc::Status s = PolicySet::FromFile(file.path(), &policies);
  EXPECT_EQ(s.error_message().rfind(file.path() + ": production.command_timeout: ", 0), 0u)
      << s.error_message();
}

TEST(PolicyTest, ResolvePlanWithNothingRequestedIsTheEnvironmentsDefault) {
  v1::CanaryPlan out;
  ASSERT_TRUE(ResolvePlan(v1::CanaryPlan(), BuiltInPlan(), &out).ok());
  EXPECT_EQ(out.SerializeAsString(), BuiltInPlan().SerializeAsString());
}

TEST(PolicyTest, ResolvePlanFillsEveryAnalysisFieldEvenFromAnEmptyDefault) {
  v1::CanaryPlan out;
  ASSERT_TRUE(ResolvePlan(Plan(R"({"analysis": {"max_error_rate": 0.1}})"), v1::CanaryPlan(),
                          &out).ok());
  ASSERT_EQ(out.steps_size(), 1);
  EXPECT_EQ(out.steps(0).weight(), 5);
  const v1::AnalysisConfig& a = out.analysis();
  EXPECT_TRUE(a.has_interval() && a.has_max_error_rate() && a.has_min_requests() &&
              a.has_failure_limit() && a.has_inconclusive_limit());
  EXPECT_DOUBLE_EQ(a.max_error_rate().value(), 0.1);
  EXPECT_EQ(a.source(), "pushed");
}

TEST(PolicyTest, RequestedStepsReplaceTheDefaultAndGivenAnalysisFieldsOverrideIt) {
  v1::CanaryPlan out;
  grpc::Status s = ResolvePlan(
      Plan(R"({"steps": [{"weight": 20, "duration": "120s"}, {"weight": 20, "duration": "60s"}],
              "analysis": {"interval": "30s", "failure_limit": 2, "max_error_rate": 0}})"),
      BuiltInPlan(), &out);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(out.steps_size(), 2);
  EXPECT_EQ(out.steps(0).weight(), 20);
  EXPECT_EQ(out.analysis().interval().seconds(), 30);
  EXPECT_EQ(out.analysis().failure_limit().value(), 2);
  // An explicit 0 is a choice (no errors allowed), not "unset".
  EXPECT_TRUE(out.analysis().has_max_error_rate());
  EXPECT_EQ(out.analysis().max_error_rate().value(), 0);
  EXPECT_EQ(out.analysis().min_requests().value(), 100);
  EXPECT_EQ(out.analysis().inconclusive_limit().value(), 3);

  Thresholds t = ThresholdsOf(out.analysis());
  EXPECT_EQ(t.failure_limit, 2);
  EXPECT_EQ(t.max_error_rate, 0);
  EXPECT_EQ(t.min_requests, 100);
  EXPECT_FALSE(t.max_p99_latency_ms.has_value());
  AnalysisSettings settings = SettingsOf(out.analysis());
  EXPECT_EQ(settings.interval, seconds(30));
  EXPECT_EQ(settings.source, "pushed");
}

TEST(PolicyTest, ResolvePlanCanWorkInPlace) {
  v1::CanaryPlan plan = Plan(R"({"analysis": {"min_requests": 10}})");
  ASSERT_TRUE(ResolvePlan(plan, BuiltInPlan(), &plan).ok());
  EXPECT_EQ(plan.analysis().min_requests().value(), 10);
  EXPECT_EQ(plan.steps_size(), 1);
}

TEST(PolicyTest, EachInvalidPlanFieldIsNamedAsTheClientSentIt) {
  EXPECT_EQ(ResolveError(R"({"steps": [{"weight": 0, "duration": "600s"}]})"),
            "canary.steps[0].weight: must be between 1 and 100");
  EXPECT_EQ(ResolveError(R"({"steps": [{"weight": 5, "duration": "600s"},
                                       {"weight": 101, "duration": "600s"}]})"),
            "canary.steps[1].weight: must be between 1 and 100");
  EXPECT_EQ(ResolveError(R"({"steps": [{"weight": 50, "duration": "600s"},
                                       {"weight": 10, "duration": "600s"}]})"),
            "canary.steps[1].weight: must not be lower than the previous step's weight (50)");
  EXPECT_EQ(ResolveError(R"({"steps": [{"weight": 5}]})"), "canary.steps[0].duration: is required");
  EXPECT_EQ(ResolveError(R"({"steps": [{"weight": 5, "duration": "0.5s"}]})"),
            "canary.steps[0].duration: must be between 1s and 24h");
  EXPECT_EQ(ResolveError(R"({"steps": [{"weight": 5, "duration": "86401s"}]})"),
            "canary.steps[0].duration: must be between 1s and 24h");
  EXPECT_EQ(ResolveError(R"({"analysis": {"interval": "0s"}})"),
            "canary.analysis.interval: must be between 1s and 1h");
  EXPECT_EQ(ResolveError(R"({"analysis": {"interval": "3601s"}})"),
            "canary.analysis.interval: must be between 1s and 1h");
  EXPECT_EQ(ResolveError(R"({"steps": [{"weight": 5, "duration": "60s"}],
                             "analysis": {"interval": "120s"}})"),
            "canary.analysis.interval: 120s is longer than canary.steps[0].duration (60s)");
  EXPECT_EQ(ResolveError(R"({"analysis": {"max_error_rate": 1.5}})"),
            "canary.analysis.max_error_rate: must be between 0 and 1");
  EXPECT_EQ(ResolveError(R"({"analysis": {"max_error_rate": -0.01}})"),
            "canary.analysis.max_error_rate: must be between 0 and 1");
  EXPECT_EQ(ResolveError(R"({"analysis": {"max_p99_latency_ms": 0}})"),
            "canary.analysis.max_p99_latency_ms: must be greater than 0");
  EXPECT_EQ(ResolveError(R"({"analysis": {"min_requests": 0}})"),
            "canary.analysis.min_requests: must be at least 1");
  EXPECT_EQ(ResolveError(R"({"analysis": {"failure_limit": 0}})"),
            "canary.analysis.failure_limit: must be at least 1");
  EXPECT_EQ(ResolveError(R"({"analysis": {"inconclusive_limit": -1}})"),
            "canary.analysis.inconclusive_limit: must be at least 1");
  EXPECT_EQ(ResolveError(R"({"analysis": {"source": "datadog"}})"),
            "canary.analysis.source: unknown value \"datadog\" (one of pushed, prometheus, health)");
  // Every problem at once.
  EXPECT_EQ(ResolveError(R"({"analysis": {"source": "prometheus"}})"),
            "canary.analysis.prometheus.url: is required when source is prometheus; "
            "canary.analysis.prometheus.error_rate_query: is required when source is prometheus");
  EXPECT_EQ(ResolveError(R"({"steps": [{"weight": 0}], "analysis": {"min_requests": 0}})"),
            "canary.steps[0].weight: must be between 1 and 100; canary.steps[0].duration: is required; "
            "canary.analysis.min_requests: must be at least 1");
  EXPECT_EQ(ResolveError(R"({"analysis": {"source": "prometheus",
                                          "prometheus": {"url": "prometheus:9090"}}})"),
            "canary.analysis.prometheus.url: must be an http:// or https:// URL; "
            "canary.analysis.prometheus.error_rate_query: is required when source is prometheus");
  EXPECT_EQ(ResolveError(R"({"analysis": {"source": "prometheus",
                                          "prometheus": {"url": "http://prometheus:9090"}}})"),
            "canary.analysis.prometheus.error_rate_query: is required when source is prometheus");
  EXPECT_EQ(ResolveError(R"({"analysis": {"source": "health"}})"),
            "canary.analysis.health.target: is required when source is health");
}

TEST(PolicyTest, PlansAtTheLimitsAreAccepted) {
  EXPECT_EQ(ResolveError(R"({"steps": [{"weight": 1, "duration": "1s"},
                                       {"weight": 100, "duration": "86400s"}],
                             "analysis": {"interval": "1s", "max_error_rate": 1}})"),
            "OK");
  EXPECT_EQ(ResolveError(R"({"steps": [{"weight": 5, "duration": "3600s"}],
                             "analysis": {"interval": "3600s", "max_error_rate": 0}})"),
            "OK");
  EXPECT_EQ(ResolveError(R"j({"analysis": {"source": "prometheus", "prometheus": {
                               "url": "https://prom.example", "error_rate_query": "sum(x)"}}})j"),
            "OK");
  EXPECT_EQ(ResolveError(R"({"analysis": {"source": "health", "health": {"target": "api-canary"}}})"),
            "OK");
}

TEST(PolicyTest, InvalidDefaultsAreReportedToo) {
  // A stored environment default that was valid under an older rule still gets checked.
  v1::CanaryPlan bad_default = BuiltInPlan();
  bad_default.mutable_steps(0)->set_weight(0);
  v1::CanaryPlan out;
  EXPECT_EQ(ResolvePlan(v1::CanaryPlan(), bad_default, &out).error_message(),
            "canary.steps[0].weight: must be between 1 and 100");
}

TEST(PolicyTest, SettingsOfAnUnresolvedConfigUseTheBuiltInDefaults) {
  AnalysisSettings settings = SettingsOf(v1::AnalysisConfig());
  EXPECT_EQ(settings.interval, milliseconds(60000));
  EXPECT_EQ(settings.source, "pushed");
  Thresholds t = ThresholdsOf(v1::AnalysisConfig());
  EXPECT_DOUBLE_EQ(t.max_error_rate, 0.05);
  EXPECT_EQ(t.min_requests, 100);
  EXPECT_EQ(t.inconclusive_limit, 3);
}

TEST(PolicyTest, ProductionBakesFifteenMinutesAtFivePercentByDefault) {
  const PolicySet set = PolicySet::Defaults();
  const v1::BakeConfig& bake = set.For("production").bake;
  EXPECT_EQ(bake.duration().seconds(), 15 * 60);
  EXPECT_DOUBLE_EQ(bake.max_error_rate().value(), 0.05);
  EXPECT_EQ(bake.source(), "pushed");
  EXPECT_EQ(set.For("staging").bake.duration().seconds(), 0) << "no bake elsewhere";

  PolicySet from_file;
  ASSERT_TRUE(PolicySet::FromJson(R"({"production":{"driver":"external"}})", &from_file).ok());
  EXPECT_EQ(from_file.For("production").bake.duration().seconds(), 15 * 60)
      << "configuring production does not drop its bake";
}

TEST(PolicyTest, BakeTakesHumanDurationsAndDefaultsItsOtherFields) {
  PolicySet set;
  grpc::Status s = PolicySet::FromJson(
      R"({"staging":{"bake":{"duration":"1h30m","source":"Prometheus"}},
          "production":{"bake":{"duration":"0s"}}})",
      &set);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const v1::BakeConfig& bake = set.For("staging").bake;
  EXPECT_EQ(bake.duration().seconds(), 90 * 60);
  EXPECT_DOUBLE_EQ(bake.max_error_rate().value(), 0.05);
  EXPECT_EQ(bake.source(), "prometheus");
  EXPECT_EQ(set.For("production").bake.duration().seconds(), 0) << "0s turns the bake off";
}

TEST(PolicyTest, BadBakeNamesTheEnvironmentAndField) {
  auto error = [](const std::string& json) {
    PolicySet set;
    grpc::Status s = PolicySet::FromJson(json, &set);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << json;
    return s.error_message();
  };
  EXPECT_NE(error(R"({"staging":{"bake":{"duration":"soon"}}})").find("staging.bake.duration"),
            std::string::npos);
  EXPECT_NE(error(R"({"staging":{"bake":{"max_error_rate":0.1}}})").find("staging.bake.duration: is required"),
            std::string::npos);
  EXPECT_NE(error(R"({"staging":{"bake":{"duration":"15m","max_error_rate":2}}})")
                .find("staging.bake.max_error_rate"),
            std::string::npos);
  EXPECT_NE(error(R"({"staging":{"bake":{"duration":"15m","source":"dice"}}})").find("staging.bake.source"),
            std::string::npos);
  EXPECT_NE(error(R"({"staging":{"bake":{"duration":"25h"}}})").find("between 0s (no bake) and 24h"),
            std::string::npos);
  EXPECT_NE(error(R"({"staging":{"bake":{"duration":"15m","colour":1}}})").find("staging.bake.colour"),
            std::string::npos);
  EXPECT_NE(error(R"({"staging":{"bake":"15m"}})").find("staging.bake: must be an object"), std::string::npos);
}

TEST(PolicyTest, MannWhitneyJudgeDefaultsAndLimits) {
  v1::CanaryPlan plan;
  ASSERT_TRUE(ResolvePlan(Plan(R"({"analysis":{"judge":"Mann_Whitney"}})"), BuiltInPlan(), &plan).ok());
  const AnalysisSettings settings = SettingsOf(plan.analysis());
  EXPECT_EQ(settings.judge, "mann_whitney");
  EXPECT_DOUBLE_EQ(settings.comparison.confidence, 0.95);
  EXPECT_DOUBLE_EQ(settings.comparison.effect_size, 0.1);
  EXPECT_EQ(settings.comparison.min_samples, 20);
  EXPECT_EQ(SettingsOf(BuiltInPlan().analysis()).judge, "threshold");

  EXPECT_NE(ResolveError(R"({"analysis":{"judge":"vibes"}})").find("canary.analysis.judge"), std::string::npos);
  EXPECT_NE(ResolveError(R"({"analysis":{"mann_whitney":{"confidence":1}}})")
                .find("canary.analysis.mann_whitney.confidence"),
            std::string::npos);
  EXPECT_NE(ResolveError(R"({"analysis":{"mann_whitney":{"effect_size":-0.1}}})")
                .find("canary.analysis.mann_whitney.effect_size"),
            std::string::npos);
  EXPECT_NE(ResolveError(R"({"analysis":{"mann_whitney":{"min_samples":0}}})")
                .find("canary.analysis.mann_whitney.min_samples"),
            std::string::npos);
  EXPECT_NE(ResolveError(R"({"analysis":{"judge":"mann_whitney","source":"health","health":{"target":"t"}}})")
                .find("source pushed or prometheus"),
            std::string::npos);
  EXPECT_NE(ResolveError(R"({"analysis":{"judge":"mann_whitney","source":"prometheus",
                                         "prometheus":{"url":"http://p:9090","error_rate_query":"x"}}})")
                .find("canary.analysis.prometheus.latency_samples_query"),
            std::string::npos);
}

}  // namespace
}  // namespace flightdeck::releases
