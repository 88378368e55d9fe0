// End to end: release pipelines driven over REST the way a CI pipeline would, against the five
// running processes, with short canary steps (policy file) so that runs take seconds.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "flightdeck/v1/releases.grpc.pb.h"

#include "tests/support/http_client.h"
#include "tests/e2e/stack.h"
#include "tests/support/test_database.h"
#include "tests/support/wait.h"

namespace flightdeck::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

std::string TempDir() {
  char dir[] = "/tmp/fd-pipeline-e2e-XXXXXX";
  return mkdtemp(dir);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class PipelineE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(TempDir());
    // The command driver's script: appends one line per invocation and dumps its environment.
    std::string script = *dir_ + "/deploy.sh";
    std::ofstream(script) << "#!/bin/sh\n"
                             "echo \"$FLIGHTDECK_ACTION $FLIGHTDECK_WEIGHT $FLIGHTDECK_ACTION_ID\" >> "
                          << *dir_ << "/actions.log\n"
                             "env | grep '^FLIGHTDECK_' | sort > " << *dir_ << "/last-env\n"
                             "echo \"deployed $FLIGHTDECK_IMAGE at $FLIGHTDECK_WEIGHT%\"\n";
    chmod(script.c_str(), 0755);
    std::ofstream(*dir_ + "/environments.json")
        << json{{"default",
                 {{"canary",
                   {{"steps", {{{"weight", 5}, {"duration", "3s"}}}},
                    {"analysis", {{"interval", "1s"}, {"min_requests", 10}, {"inconclusive_limit", 20}}}}},
                  {"verification_timeout", "120s"}}},
                {"production",
                 {{"requires_success_in", {"staging"}}, {"require_approval", true},
                  {"allow_self_approval", false}}},
                {"scripted",
                 {{"driver", "command"}, {"command", {script}}, {"command_timeout", "20s"}}},
                {"guarded", {{"backup_before_deploy", "guarded-db"}}},
                {"guarded-broken", {{"backup_before_deploy", "broken-db"}}}}
               .dump();
    stack_ = new Stack({{"FLIGHTDECK_ENVIRONMENTS_FILE", *dir_ + "/environments.json"},
                        {"FLIGHTDECK_JOBS_LEASE", "5s"},
                        {"FLIGHTDECK_JOBS_POLL_INTERVAL", "100ms"}});
    ready_ = stack_->WaitReady();
    if (!ready_) return;
    ci_ = CreateToken("ci", "DEPLOYER");
    alice_ = CreateToken("alice", "DEPLOYER");
  }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
    std::string cmd_dir = *dir_;
    (void)!system(("rm -rf " + cmd_dir).c_str());
    delete dir_;
  }
  void SetUp() override { ASSERT_TRUE(ready_) << "the stack did not start"; }

  static std::string CreateToken(const std::string& name, const std::string& role) {
    HttpResponse r = HttpRequest("POST", stack_->gateway_url() + "/v1/tokens",
                                 json{{"name", name}, {"role", role}}.dump(),
                                 {{"Authorization", "Bearer " + stack_->admin_token()}});
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body, nullptr, false).value("secret", "");
  }

  static HttpResponse Call(const std::string& method, const std::string& path, const std::string& token,
                           const json& body = nullptr, std::map<std::string, std::string> headers = {}) {
    headers["Authorization"] = "Bearer " + token;
    return HttpRequest(method, stack_->gateway_url() + path, body.is_null() ? "" : body.dump(), headers);
  }

  static json Create(const std::string& service, const std::string& env, const std::string& sha,
                     json extra = json::object()) {
    json body = {{"service", service}, {"environment", env}, {"version", "v-" + sha},
                 {"commit_sha", sha}, {"image", "registry.example/" + service + ":" + sha}};
    body.update(extra);
    HttpResponse r = Call("POST", "/v1/releases", ci_, body);
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body, nullptr, false);
  }

  static json Get(const std::string& id) {
    return json::parse(Call("GET", "/v1/releases/" + id, ci_).body, nullptr, false);
  }

  static std::string Timeline(const std::string& id) {
    json events = json::parse(Call("GET", "/v1/releases/" + id + "/events", ci_).body, nullptr, false);
    std::string out;
    for (const json& e : events["events"]) out += e["type"].get<std::string>() + " " + e["message"].get<std::string>() + "\n";
    return out;
  }

  // Waits for one of the states, pushing healthy observations meanwhile when asked.
  static json WaitFor(const std::string& id, std::set<std::string> states, bool push_healthy,
                      std::chrono::seconds limit = 30s) {
    json r;
    const bool reached = WaitUntil([&] {
      r = Get(id);
      if (states.count(r.value("state", ""))) return true;
      if (push_healthy && r.value("state", "") == "CANARY") {
        Call("POST", "/v1/releases/" + id + "/observations", ci_,
             {{"requests", 200}, {"errors", 1}, {"p99_latency_ms", 120}, {"window", "1s"}});
      }
      return false;
    }, limit, 300ms);
    if (reached) return r;
    ADD_FAILURE() << "release " << id << " is " << r.value("state", "?") << ", not in time:\n" << Timeline(id);
    return r;
  }

  // A healthy release all the way to SUCCEEDED.
  static json Ship(const std::string& service, const std::string& env, const std::string& sha) {
    json r = Create(service, env, sha);
    WaitFor(r["id"], {"VERIFYING"}, true);
    HttpResponse v = Call("POST", "/v1/releases/" + r["id"].get<std::string>() + "/verification", ci_,
                          {{"passed", true}, {"details", "smoke suite green"}});
    EXPECT_EQ(v.status, 200) << v.body;
    return WaitFor(r["id"], {"SUCCEEDED"}, false);
  }

  static std::string* dir_;
  static Stack* stack_;
  static bool ready_;
  static std::string ci_;
  static std::string alice_;
};

std::string* PipelineE2eTest::dir_ = nullptr;
Stack* PipelineE2eTest::stack_ = nullptr;
bool PipelineE2eTest::ready_ = false;
std::string PipelineE2eTest::ci_;
std::string PipelineE2eTest::alice_;

TEST_F(PipelineE2eTest, StagingThenProductionWithApprovalAndAutomaticRollback) {
  json staging = Ship("checkout", "staging", "9fceb02d");
  EXPECT_EQ(staging["state"], "SUCCEEDED");

  json prod = Create("checkout", "production", "9fceb02d");
  std::string id = prod["id"];
  json waiting = WaitFor(id, {"AWAITING_APPROVAL"}, false);
  EXPECT_TRUE(waiting["require_approval"].get<bool>());
  // The pipeline's own token may not approve its release in production.
  HttpResponse self = Call("POST", "/v1/releases/" + id + "/approve", ci_, json::object());
  EXPECT_EQ(self.status, 403) << self.body;
  HttpResponse approve = Call("POST", "/v1/releases/" + id + "/approve", alice_, {{"reason", "change ticket 42"}});
  ASSERT_EQ(approve.status, 200) << approve.body;
  WaitFor(id, {"CANARY"}, false);

  HttpResponse bad = Call("POST", "/v1/releases/" + id + "/observations", ci_,
                          {{"requests", 1000}, {"errors", 80}, {"p99_latency_ms", 300}, {"window", "1s"}});
  ASSERT_EQ(bad.status, 200) << bad.body;
  json rolled = WaitFor(id, {"ROLLED_BACK"}, false, 10s);
  EXPECT_NE(rolled["outcome_reason"].get<std::string>().find("8.00%"), std::string::npos);
  json events = json::parse(Call("GET", "/v1/releases/" + id + "/events", ci_).body);
  bool verdict_with_numbers = false;
  for (const json& e : events["events"]) {
    if (e["type"] == "ANALYSIS" && e["data"].value("verdict", "") == "FAIL") {
      verdict_with_numbers = e["data"]["errors"] == 80 && e["data"]["requests"] == 1000 &&
                             e["data"]["max_error_rate"] == 0.05;
    }
  }
  EXPECT_TRUE(verdict_with_numbers) << events.dump(2);
  // Within one analysis interval: the first analysis after the bad numbers rolled back.
  int analyses_after_push = -1;
  for (const json& e : events["events"]) {
    if (e["type"] == "OBSERVATIONS" && e["data"].value("errors", 0) == 80) analyses_after_push = 0;
    if (e["type"] == "ANALYSIS" && analyses_after_push >= 0) ++analyses_after_push;
  }
  EXPECT_EQ(analyses_after_push, 1) << events.dump(2);
  EXPECT_EQ(events["events"][0]["trace_id"].get<std::string>().size(), 32u);
}

TEST_F(PipelineE2eTest, ProductionOfACommitNeverSeenInStagingIsRefused) {
  HttpResponse r = Call("POST", "/v1/releases", ci_,
                        {{"service", "search"}, {"environment", "production"}, {"version", "v9"},
                         {"commit_sha", "deadbee"}});
  EXPECT_EQ(r.status, 409) << r.body;
  json error = json::parse(r.body)["error"];
  EXPECT_EQ(error["code"], "FAILED_PRECONDITION");
  EXPECT_NE(error["message"].get<std::string>().find("has not succeeded in staging"), std::string::npos);
}

TEST_F(PipelineE2eTest, TwoConcurrentReleasesOneIsRefusedWith409) {
  json body = {{"service", "billing"}, {"environment", "staging"}, {"version", "v1"}, {"commit_sha", "abcdef1"}};
  std::vector<long> statuses(2);
  std::vector<std::string> bodies(2);
  std::thread a([&] {
    HttpResponse r = Call("POST", "/v1/releases", ci_, body);
    statuses[0] = r.status;
    bodies[0] = r.body;
  });
  std::thread b([&] {
    json other = body;
    other["commit_sha"] = "abcdef2";
    HttpResponse r = Call("POST", "/v1/releases", ci_, other);
    statuses[1] = r.status;
    bodies[1] = r.body;
  });
  a.join();
  b.join();
  std::sort(statuses.begin(), statuses.end());
  EXPECT_EQ(statuses, (std::vector<long>{200, 409})) << bodies[0] << "\n" << bodies[1];
  // A third asks to queue and waits its turn.
  json queued = Create("billing", "staging", "abcdef3", {{"queue", true}});
  EXPECT_TRUE(queued["queued"].get<bool>());
  json status = json::parse(Call("GET", "/v1/services/billing/environments/staging", ci_).body);
  EXPECT_EQ(status["queued"], 1);
  ASSERT_TRUE(status["in_flight"].is_object());
  HttpResponse abort = Call("POST", "/v1/releases/" + status["in_flight"]["id"].get<std::string>() + "/abort",
                            ci_, {{"reason", "superseded"}});
  EXPECT_EQ(abort.status, 200) << abort.body;
  WaitFor(queued["id"], {"CANARY"}, false);
}

TEST_F(PipelineE2eTest, RollbackToAPreviousGoodCommitBecomesCurrent) {
  Ship("ledger", "staging", "1111111");
  Ship("ledger", "staging", "2222222");
  HttpResponse r = Call("POST", "/v1/services/ledger/environments/staging/rollback", alice_,
                        {{"to_commit_sha", "1111111"}, {"reason", "2222222 corrupts balances"}});
  ASSERT_EQ(r.status, 200) << r.body;
  json rollback = json::parse(r.body);
  EXPECT_EQ(rollback["kind"], "ROLLBACK");
  WaitFor(rollback["id"], {"SUCCEEDED"}, false);
  json env = json::parse(Call("GET", "/v1/services/ledger/environments/staging", ci_).body);
  EXPECT_EQ(env["current"]["id"], rollback["id"]);
  EXPECT_EQ(env["current"]["commit_sha"], "1111111");
  HttpResponse unknown = Call("POST", "/v1/services/ledger/environments/staging/rollback", alice_,
                              {{"to_commit_sha", "3333333"}, {"reason", "x"}});
  EXPECT_EQ(unknown.status, 404) << unknown.body;
}

TEST_F(PipelineE2eTest, CommandDriverGetsTheReleaseAndSurvivesAKill9) {
  json r = Create("pricing", "scripted", "0badcafe",
                  {{"canary", {{"steps", {{{"weight", 10}, {"duration", "3s"}}, {{"weight", 50}, {"duration", "3s"}}}}}}});
  std::string id = r["id"];
  json canary = WaitFor(id, {"CANARY"}, false);
  std::string env = ReadFile(*dir_ + "/last-env");
  EXPECT_NE(env.find("FLIGHTDECK_SERVICE=pricing"), std::string::npos) << env;
  EXPECT_NE(env.find("FLIGHTDECK_ENVIRONMENT=scripted"), std::string::npos) << env;
  EXPECT_NE(env.find("FLIGHTDECK_IMAGE=registry.example/pricing:0badcafe"), std::string::npos) << env;
  EXPECT_NE(env.find("FLIGHTDECK_COMMIT_SHA=0badcafe"), std::string::npos) << env;
  EXPECT_NE(env.find("FLIGHTDECK_ACTION=canary"), std::string::npos) << env;
  EXPECT_NE(env.find("FLIGHTDECK_WEIGHT=10"), std::string::npos) << env;
  EXPECT_NE(env.find("FLIGHTDECK_ACTION_ID=" + id + ":canary:0"), std::string::npos) << env;
  EXPECT_NE(env.find("FLIGHTDECK_PREVIOUS_IMAGE="), std::string::npos) << env;
  EXPECT_EQ(env.find("DATABASE_URL"), std::string::npos) << "no secrets in the driver's environment";

  stack_->KillAndRestart("releases");
  json verifying = WaitFor(id, {"VERIFYING"}, true, 60s);
  ASSERT_EQ(verifying["state"], "VERIFYING") << Timeline(id);
  Call("POST", "/v1/releases/" + id + "/verification", ci_, {{"passed", true}});
  WaitFor(id, {"SUCCEEDED"}, false);
  std::string actions = ReadFile(*dir_ + "/actions.log");
  EXPECT_EQ(actions, "canary 10 " + id + ":canary:0\n" + "canary 50 " + id + ":canary:1\n" +
                         "promote 100 " + id + ":promote\n")
      << "exactly one driver invocation per step";
}

TEST_F(PipelineE2eTest, ARetriedCreateWithTheSameIdempotencyKeyGetsTheFirstAnswer) {
  json body = {{"service", "notify"}, {"environment", "staging"}, {"version", "v1"}, {"commit_sha", "abcdef1"}};
  HttpResponse first = Call("POST", "/v1/releases", ci_, body, {{"Idempotency-Key", "build-1234"}});
  HttpResponse again = Call("POST", "/v1/releases", ci_, body, {{"Idempotency-Key", "build-1234"}});
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(json::parse(again.body)["id"], json::parse(first.body)["id"]);
  EXPECT_EQ(again.headers["idempotent-replayed"], "true");
  body["commit_sha"] = "abcdef2";
  HttpResponse reused = Call("POST", "/v1/releases", ci_, body, {{"Idempotency-Key", "build-1234"}});
  EXPECT_EQ(reused.status, 400) << reused.body;
  EXPECT_NE(reused.body.find("Idempotency-Key"), std::string::npos);
}

TEST_F(PipelineE2eTest, ABackupIsTakenBeforeDeployingWhereThePolicyAsks) {
  TestDatabase source;
  auto target = [&](const std::string& name, const std::string& url) {
    HttpResponse r = HttpRequest("POST", stack_->gateway_url() + "/v1/backup-targets",
                                 json{{"name", name}, {"database_url", url},
                                      {"storage", {{"kind", "LOCAL"}, {"path", *dir_ + "/" + name}}}}.dump(),
                                 {{"Authorization", "Bearer " + stack_->admin_token()}});
    ASSERT_EQ(r.status, 200) << r.body;
  };
  target("guarded-db", source.url());
  const std::string url = source.url();
  target("broken-db", url.substr(0, url.find("://") + 3) + "nobody_here:x" + url.substr(url.find('@')));

  json r = Create("orders", "guarded", "abcdef1");
  json canary = WaitFor(r["id"], {"CANARY", "FAILED"}, false);
  ASSERT_EQ(canary["state"], "CANARY") << Timeline(r["id"]);
  std::string backup_id = canary["pre_deploy_backup_id"];
  ASSERT_FALSE(backup_id.empty());
  json backup = json::parse(HttpRequest("GET", stack_->gateway_url() + "/v1/backups/" + backup_id, "",
                                        {{"Authorization", "Bearer " + stack_->admin_token()}}).body);
  EXPECT_EQ(backup["state"], "SUCCEEDED");

  json broken = Create("orders", "guarded-broken", "abcdef1");
  json failed = WaitFor(broken["id"], {"FAILED", "CANARY"}, false);
  EXPECT_EQ(failed["state"], "FAILED");
  EXPECT_NE(failed["outcome_reason"].get<std::string>().find("pre-deploy backup"), std::string::npos)
      << failed.dump(2);
}

TEST_F(PipelineE2eTest, WatchReleaseStreamsTheTimelineAsItHappens) {
  json r = Create("inventory", "staging", "abcdef1");
  auto channel = stack_->Channel("releases");
  auto stub = v1::ReleaseService::NewStub(channel);
  grpc::ClientContext context;
  context.AddMetadata("x-flightdeck-role", "VIEWER");  // as the gateway passes a viewer's role
  context.set_deadline(std::chrono::system_clock::now() + 20s);
  v1::WatchReleaseRequest request;
  request.set_id(r["id"]);
  auto reader = stub->WatchRelease(&context, request);
  std::vector<std::string> types;
  v1::ReleaseEvent event;
  bool aborted = false;
  while (reader->Read(&event)) {
    types.push_back(event.type());
    // Once the canary runs, stop the release: its last events must still arrive, then the end.
    if (event.type() == "STATE_CHANGED" && event.message().rfind("PENDING -> CANARY", 0) == 0 && !aborted) {
      Call("POST", "/v1/releases/" + r["id"].get<std::string>() + "/abort", ci_, {{"reason", "watch test"}});
      aborted = true;
    }
  }
  grpc::Status status = reader->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
  ASSERT_FALSE(types.empty());
  EXPECT_EQ(types.front(), "CREATED");
  EXPECT_TRUE(aborted);
  EXPECT_EQ(types.back(), "STATE_CHANGED") << "the stream ends after the final state change";
  EXPECT_EQ(Get(r["id"])["state"], "ABORTED");
}

}  // namespace
}  // namespace flightdeck::test
