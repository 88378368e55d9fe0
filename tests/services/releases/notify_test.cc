#include <cstdio>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "services/releases/notification_body.h"
#include "services/releases/notify_targets.h"
#include "services/releases/policy.h"

namespace flightdeck::releases {
namespace {

using Json = nlohmann::json;

std::string ParseError(const Json& notify) {
  std::vector<NotifyTarget> targets;
  grpc::Status s = ParseNotifyTargets("production.notify", notify, &targets);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << notify.dump();
  return s.error_message();
}

TEST(NotifyTargets, ParsedFromTheEnvironmentsFile) {
  PolicySet set;
  ASSERT_TRUE(PolicySet::FromJson(R"({"production":{"notify":[
      {"name":"deploys","url":"https://hooks.slack.com/services/T/B/x","format":"slack","interactive":true,
       "events":["awaiting_approval","rolled_back"]},
      {"name":"audit","url":"http://127.0.0.1:9000/hook","secret":"k"}]}})", &set).ok());
  const std::vector<NotifyTarget>& targets = set.For("production").notify;
  ASSERT_EQ(targets.size(), 2u);
  EXPECT_EQ(targets[0].format, "slack");
  EXPECT_TRUE(targets[0].interactive);
  EXPECT_TRUE(targets[0].Wants("rolled_back"));
  EXPECT_FALSE(targets[0].Wants("started"));
  EXPECT_EQ(targets[1].format, "json") << "the default";
  EXPECT_EQ(targets[1].secret, "k");
  for (const std::string& kind : kNotifyKinds) EXPECT_TRUE(targets[1].Wants(kind)) << "no events: all";
  EXPECT_TRUE(set.For("staging").notify.empty());
}

TEST(NotifyTargets, SecretFromAFile) {
  const std::string path = testing::TempDir() + "/notify_secret";
  std::ofstream(path) << "from-a-file\n";
  std::vector<NotifyTarget> targets;
  ASSERT_TRUE(ParseNotifyTargets("x.notify", Json::parse(R"([{"name":"a","url":"https://h/x","secret_file":")" + path + R"("}])"),
                                 &targets)
                  .ok());
  EXPECT_EQ(targets[0].secret, "from-a-file");
  std::remove(path.c_str());
  EXPECT_EQ(ParseError(Json::parse(R"([{"name":"a","url":"https://h/x","secret_file":")" + path + R"("}])")),
            "production.notify[0].secret_file: cannot read " + path);
}

TEST(NotifyTargets, ErrorsNameTheField) {
  EXPECT_EQ(ParseError(Json::object()), "production.notify: must be a list of targets ({\"name\", \"url\", ...})");
  EXPECT_EQ(ParseError(Json::parse(R"([{"url":"https://h"}])")), "production.notify[0].name: is required");
  EXPECT_EQ(ParseError(Json::parse(R"([{"name":"a","url":"ftp://h"}])")),
            "production.notify[0].url: must be an http:// or https:// URL");
  EXPECT_EQ(ParseError(Json::parse(R"([{"name":"a","url":"https://h","format":"teams"}])")),
            "production.notify[0].format: \"teams\" is not one of: json, slack");
  EXPECT_EQ(ParseError(Json::parse(R"([{"name":"a","url":"https://h","events":["deployed"]}])")),
            "production.notify[0].events[0]: \"deployed\" is not one of: started, awaiting_approval, "
            "canary_paused, rolled_back, succeeded");
  EXPECT_EQ(ParseError(Json::parse(R"([{"name":"a","url":"https://h","interactive":true}])")),
            "production.notify[0].interactive: needs format slack");
  EXPECT_EQ(ParseError(Json::parse(R"([{"name":"a","url":"https://h"},{"name":"a","url":"https://i"}])")),
            "production.notify[1].name: \"a\" is named twice");
  EXPECT_EQ(ParseError(Json::parse(R"([{"name":"a","url":"https://h","channel":"#x"}])")),
            "production.notify[0].channel: unknown field");
  EXPECT_EQ(ParseError(Json::parse(R"([{"name":"a","url":"https://h","secret":"s","secret_file":"/f"}])")),
            "production.notify[0].secret_file: give secret or secret_file, not both");
  PolicySet set;
  grpc::Status s = PolicySet::FromJson(R"({"staging":{"notify":[{"name":"a"}]}})", &set);
  EXPECT_EQ(s.error_message(), "staging.notify[0].url: must be an http:// or https:// URL");
}

TEST(NotifyKind, FromTimelineEvents) {
  EXPECT_EQ(NotifyKindOf("CREATED", "{}"), "started");
  EXPECT_EQ(NotifyKindOf("PAUSED", "{}"), "canary_paused");
  EXPECT_EQ(NotifyKindOf("STATE_CHANGED", R"({"from":"PENDING","to":"AWAITING_APPROVAL"})"), "awaiting_approval");
  EXPECT_EQ(NotifyKindOf("STATE_CHANGED", R"({"from":"ROLLING_BACK","to":"ROLLED_BACK"})"), "rolled_back");
  EXPECT_EQ(NotifyKindOf("STATE_CHANGED", R"({"from":"BAKING","to":"SUCCEEDED"})"), "succeeded");
  EXPECT_EQ(NotifyKindOf("STATE_CHANGED", R"({"from":"CANARY","to":"ROLLING_BACK"})"), "");
  EXPECT_EQ(NotifyKindOf("STATE_CHANGED", "{}"), "") << "a superseded release has no data";
  EXPECT_EQ(NotifyKindOf("ANALYSIS", R"({"verdict":"FAIL"})"), "");
  EXPECT_EQ(NotifyKindOf("NOTIFIED", "{}"), "") << "a delivery never announces itself";
}

ReleaseNotification Notification(const std::string& kind, v1::Release::State state) {
  ReleaseNotification n;
  n.kind = kind;
  n.message = "PENDING -> AWAITING_APPROVAL: waiting for approval";
  n.actor = "flightdeck";
  n.release.set_id("0b7e6c1e-1111-2222-3333-444455556666");
  n.release.set_service("checkout");
  n.release.set_environment("production");
  n.release.set_version("v1.4.2");
  n.release.set_commit_sha("4e1c2d3a9b8f7e6d5c4b3a29180716f5e4d3c2b1");
  n.release.set_image("registry.example/checkout:v1.4.2");
  n.release.set_state(state);
  return n;
}

TEST(ReleaseBody, AwaitingApprovalOffersApproveAndAbortWhenInteractive) {
  const ReleaseNotification n = Notification("awaiting_approval", v1::Release::AWAITING_APPROVAL);
  const Json body = Json::parse(SlackReleaseBody(n, /*interactive=*/true));
  // Slack escapes &, < and > in text: the event's "->" arrives as "-&gt;".
  EXPECT_EQ(body["text"], "Release of checkout v1.4.2 to production awaits approval: PENDING -&gt; AWAITING_APPROVAL: "
                          "waiting for approval");
  const Json actions = body["blocks"].back();
  ASSERT_EQ(actions["type"], "actions") << body.dump();
  ASSERT_EQ(actions["elements"].size(), 2u);
  // The action ids and values services/gateway/chatops/chat_request.cc turns into commands.
  EXPECT_EQ(actions["elements"][0]["action_id"], "approve");
  EXPECT_EQ(actions["elements"][0]["value"], n.release.id());
  EXPECT_EQ(actions["elements"][1]["action_id"], "abort");
  EXPECT_EQ(actions["elements"][1]["value"], n.release.id());
  EXPECT_EQ(actions["elements"][1]["style"], "danger");

  const Json plain = Json::parse(SlackReleaseBody(n, /*interactive=*/false));
  EXPECT_NE(plain["blocks"].back()["type"], "actions") << "no buttons without interactivity";
  const Json started = Json::parse(SlackReleaseBody(Notification("started", v1::Release::PENDING), true));
  EXPECT_NE(started["blocks"].back()["type"], "actions") << "nothing to press on a start";
  const Json paused = Json::parse(SlackReleaseBody(Notification("canary_paused", v1::Release::CANARY), true));
  EXPECT_EQ(paused["blocks"].back()["elements"][0]["action_id"], "promote");
  EXPECT_EQ(paused["blocks"].back()["elements"][1]["action_id"], "abort");
}

TEST(ReleaseBody, RolledBackCarriesTheFailingVerdictAndItsNumbers) {
  ReleaseNotification n = Notification("rolled_back", v1::Release::ROLLED_BACK);
  n.release.set_outcome_reason("canary analysis failed 1 time(s) in a row (limit 1): error rate above limit");
  n.verdict = {{"verdict", "FAIL"}, {"reason", "error rate 0.125 > 0.05"}, {"requests", 400}, {"errors", 50},
               {"error_rate", 0.125}, {"max_error_rate", 0.05}, {"p99_latency_ms", 830.0}, {"max_p99_latency_ms", 500}};
  EXPECT_EQ(VerdictNumbers(n.verdict), "error rate 12.50% of 400 requests (limit 5.00%), p99 830 ms (limit 500 ms)");
  const Json slack = Json::parse(SlackReleaseBody(n, true));
  const std::string lines = slack["blocks"][1]["text"]["text"];
  EXPECT_NE(lines.find("*Reason:* canary analysis failed"), std::string::npos) << lines;
  EXPECT_NE(lines.find("*Verdict:* FAIL — error rate 12.50% of 400 requests (limit 5.00%)"), std::string::npos) << lines;
  EXPECT_NE(slack["blocks"].back()["type"], "actions");

  const Json generic = Json::parse(GenericReleaseBody(n));
  EXPECT_EQ(generic["event"], "rolled_back");
  EXPECT_EQ(generic["release"]["id"], n.release.id());
  EXPECT_EQ(generic["release"]["state"], "ROLLED_BACK");
  EXPECT_EQ(generic["verdict"]["error_rate"], 0.125);
  EXPECT_EQ(generic["actor"], "flightdeck");
  EXPECT_FALSE(Json::parse(GenericReleaseBody(Notification("started", v1::Release::PENDING))).contains("verdict"));
}

TEST(ReleaseBody, FormatFollowsTheTarget) {
  NotifyTarget slack;
  slack.format = "slack";
  slack.interactive = true;
  const ReleaseNotification n = Notification("awaiting_approval", v1::Release::AWAITING_APPROVAL);
  EXPECT_TRUE(Json::parse(ReleaseBodyFor(slack, n)).contains("blocks"));
  NotifyTarget json;
  EXPECT_TRUE(Json::parse(ReleaseBodyFor(json, n)).contains("release"));
}

}  // namespace
}  // namespace flightdeck::releases
