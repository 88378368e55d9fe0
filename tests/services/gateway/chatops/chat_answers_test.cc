// Unit: what the chat front reads from a verified request, which RPC each command becomes, and
// how answers render for Slack (Block Kit) and Mattermost (attachments).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "flightdeck/v1/incidents.pb.h"
#include "flightdeck/v1/releases.pb.h"
#include "services/gateway/chatops/chat_answer.h"
#include "services/gateway/chatops/chat_commands.h"
#include "services/gateway/chatops/chat_request.h"

namespace flightdeck::gateway::chatops {
namespace {

using nlohmann::json;

Actor SlackActor(const std::string& name, v1::Token::Role role) {
  Actor actor;
  actor.principal.name = name;
  actor.principal.role = role;
  actor.platform = "slack";
  return actor;
}

ChatCommand Parse(const std::string& text) {
  ParseResult r = ParseCommand(text);
  EXPECT_TRUE(r.ok) << r.error;
  return r.command;
}

TEST(ReadChatContext, ASlashCommandForm) {
  ChatContext c;
  std::string error;
  ASSERT_TRUE(ReadChatContext("slack", false,
                              "team_id=T1&user_id=U1&user_name=alice&channel_id=C1&channel_name=deploys"
                              "&text=approve+3f2a+%22looks+good%22&response_url=https%3A%2F%2Fhooks.slack.com%2Fx",
                              &c, &error))
      << error;
  EXPECT_EQ(c.team_id, "T1");
  EXPECT_EQ(c.user_id, "U1");
  EXPECT_EQ(c.channel_name, "deploys");
  EXPECT_EQ(c.text, "approve 3f2a \"looks good\"");
  EXPECT_EQ(c.response_url, "https://hooks.slack.com/x");
  EXPECT_FALSE(c.from_button);

  EXPECT_FALSE(ReadChatContext("slack", false, "user_id=U1&response_url=x", &c, &error));
  EXPECT_EQ(error, "team_id: missing");
  error.clear();
  EXPECT_FALSE(ReadChatContext("slack", false, "team_id=T1&user_id=U1", &c, &error));
  EXPECT_EQ(error, "response_url: missing");

  // A signed request could still carry bytes that are not UTF-8: refused by name, not passed on.
  error.clear();
  EXPECT_FALSE(ReadChatContext("slack", false, "team_id=T1&user_id=U1&response_url=x&text=approve+%ff", &c,
                               &error));
  EXPECT_EQ(error, "text: not UTF-8 text");

  // Nor a NUL, which the queued payload (jsonb) and the audit row (text) cannot hold.
  error.clear();
  EXPECT_FALSE(ReadChatContext("slack", false, "team_id=T1&user_id=U1&response_url=x&text=approve+3f2a+ok%00no", &c,
                               &error));
  EXPECT_EQ(error, "text: contains a NUL character");
  error.clear();
  EXPECT_FALSE(ReadChatContext("mattermost", false, "team_id=T1&user_id=U1&response_url=x&channel_name=a%00", &c,
                               &error));
  EXPECT_EQ(error, "channel_name: contains a NUL character");
}

std::string PayloadForm(const json& payload) {
  std::string text = payload.dump(), out = "payload=";
  static const char kHex[] = "0123456789ABCDEF";
  for (unsigned char ch : text) {
    if (std::isalnum(ch)) {
      out.push_back(static_cast<char>(ch));
    } else {
      out += '%';
      out += kHex[ch >> 4];
      out += kHex[ch & 15];
    }
  }
  return out;
}

TEST(ReadChatContext, AButtonPressBecomesItsCommand) {
  json payload = {{"type", "block_actions"},
                  {"team", {{"id", "T1"}}},
                  {"user", {{"id", "U1"}, {"username", "alice"}}},
                  {"channel", {{"id", "C1"}, {"name", "deploys"}}},
                  {"response_url", "https://hooks.slack.com/actions/x"},
                  {"actions", {{{"action_id", "abort"}, {"value", "3f2a1b2c"}}}}};
  ChatContext c;
  std::string error;
  ASSERT_TRUE(ReadChatContext("slack", true, PayloadForm(payload), &c, &error)) << error;
  EXPECT_TRUE(c.from_button);
  EXPECT_EQ(c.text, "abort \"3f2a1b2c\" \"aborted with the chat button\"");
  EXPECT_EQ(c.user_name, "alice");
  EXPECT_EQ(Parse(c.text).kind, CommandKind::kAbort);
  EXPECT_EQ(Parse(CommandForButton("ack", "INC-4")).id, "INC-4");
  EXPECT_EQ(Parse(CommandForButton("resolve", "INC-4")).kind, CommandKind::kIncidentResolve);

  payload["actions"][0]["action_id"] = "delete_everything";
  EXPECT_FALSE(ReadChatContext("slack", true, PayloadForm(payload), &c, &error));
  EXPECT_EQ(error, "payload.actions[0].action_id: not a Flightdeck button");
  error.clear();
  payload["type"] = "view_submission";
  EXPECT_FALSE(ReadChatContext("slack", true, PayloadForm(payload), &c, &error));
  EXPECT_EQ(error, "payload.type: only block_actions are handled");
  error.clear();
  EXPECT_FALSE(ReadChatContext("slack", true, "payload=%7Bnot+json", &c, &error));
  EXPECT_EQ(error, "payload: not a JSON object");
  error.clear();
  payload["type"] = "block_actions";
  payload["actions"][0]["action_id"] = "abort";
  payload["channel"]["name"] = std::string("dep\0loys", 8);
  EXPECT_FALSE(ReadChatContext("slack", true, PayloadForm(payload), &c, &error));
  EXPECT_EQ(error, "payload.channel.name: contains a NUL character");
  error.clear();
  payload["channel"]["name"] = "deploys";
  payload["actions"][0]["value"] = std::string("3f2a\0", 5);
  EXPECT_FALSE(ReadChatContext("slack", true, PayloadForm(payload), &c, &error));
  EXPECT_EQ(error, "payload.actions[0].value: contains a NUL character");
  // A value with a quote cannot smuggle extra words into the command.
  EXPECT_EQ(CommandForButton("approve", "3f2a\" now"), "");
}

TEST(PlanCall, EachCommandIsOneMethodOfTheTable) {
  PlannedCall approve = PlanCall(Parse("approve 3f2a ticket 42"));
  ASSERT_NE(approve.method, nullptr);
  EXPECT_STREQ(approve.method->rpc, "flightdeck.v1.ReleaseService.ApproveRelease");
  auto& request = static_cast<const v1::ReleaseActionRequest&>(*approve.request);
  EXPECT_EQ(request.id(), "3f2a");
  EXPECT_EQ(request.reason(), "ticket 42");
  EXPECT_EQ(approve.target_path, "/v1/releases/3f2a/approve");

  PlannedCall to = PlanCall(Parse("rollback api production to 9c1d bad"));
  EXPECT_STREQ(to.method->rpc, "flightdeck.v1.ReleaseService.RollbackServiceEnvironment");
  EXPECT_FALSE(NeedsCurrentRelease(Parse("rollback api production to 9c1d bad")));
  ChatCommand previous = Parse("rollback api production bad");
  EXPECT_TRUE(NeedsCurrentRelease(previous));
  PlannedCall plan = PlanCall(previous);
  EXPECT_STREQ(plan.method->rpc, "flightdeck.v1.ReleaseService.RollbackRelease");
  EXPECT_STREQ(PlanCurrentLookup(previous).method->rpc, "flightdeck.v1.ReleaseService.GetServiceEnvironment");
  v1::ServiceEnvironment env;
  EXPECT_EQ(AimAtCurrentRelease(env, previous, &plan).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  env.mutable_current()->set_id("3f2a1b2c-0000-4000-8000-000000000000");
  ASSERT_TRUE(AimAtCurrentRelease(env, previous, &plan).ok());
  EXPECT_EQ(static_cast<const v1::ReleaseActionRequest&>(*plan.request).id(), env.current().id());

  PlannedCall declare = PlanCall(Parse("incident declare SEV2 api prod \"Down\""));
  EXPECT_STREQ(declare.method->rpc, "flightdeck.v1.IncidentService.DeclareIncident");
  EXPECT_EQ(static_cast<const v1::DeclareIncidentRequest&>(*declare.request).severity(), "SEV2");
  for (const char* text : {"status api", "releases api", "release 3f2a", "promote 3f2a", "abort 3f2a x",
                           "incident ack 3", "incident resolve 3", "incident update 3 x", "incidents",
                           "health api", "backup db", "backups db", "windows api"}) {
    PlannedCall p = PlanCall(Parse(text));
    EXPECT_NE(p.method, nullptr) << text;
    EXPECT_NE(p.request, nullptr) << text;
  }
}

TEST(Answers, ChangesGoToTheChannelWithTheNextStepsAsButtons) {
  v1::Release r;
  r.set_id("3f2a1b2c-0000-4000-8000-000000000000");
  r.set_service("checkout");
  r.set_environment("production");
  r.set_version("v1.4.0");
  r.set_commit_sha("9fceb02d0ae598e95dc970b74767f19372d61af8");
  r.set_state(v1::Release::CANARY);
  Actor alice = SlackActor("alice", v1::Token::DEPLOYER);
  ChatAnswer a = ResultAnswer(Parse("approve 3f2a"), r, alice);
  EXPECT_TRUE(a.in_channel);
  EXPECT_EQ(a.title, "alice approved checkout v1.4.0 → production");
  json slack = json::parse(SlackJson(a));
  EXPECT_EQ(slack["response_type"], "in_channel");
  EXPECT_EQ(slack["text"], a.title);
  json actions = slack["blocks"].back();
  ASSERT_EQ(actions["type"], "actions");
  EXPECT_EQ(actions["elements"][0]["action_id"], "promote");
  EXPECT_EQ(actions["elements"][0]["value"], r.id());
  EXPECT_EQ(actions["elements"][1]["action_id"], "abort");
  EXPECT_EQ(actions["elements"][1]["style"], "danger");
  EXPECT_TRUE(actions["elements"][1].contains("confirm"));

  json mattermost = json::parse(MattermostJson(a));
  EXPECT_EQ(mattermost["response_type"], "in_channel");
  EXPECT_EQ(mattermost["attachments"][0]["title"], a.title);
  EXPECT_NE(mattermost["attachments"][0]["text"].get<std::string>().find("`promote " + r.id() + "`"),
            std::string::npos);

  ChatAnswer read = ResultAnswer(Parse("release 3f2a"), r, alice);
  EXPECT_FALSE(read.in_channel);
  EXPECT_EQ(json::parse(SlackJson(read))["response_type"], "ephemeral");
}

TEST(Answers, WindowsSaysWhenChangesMayGoOutAndWhatHoldsTheChecklistBack) {
  ChatCommand bare = Parse("windows orders");
  PlannedCall plan = PlanCall(bare);
  ASSERT_NE(plan.method, nullptr);
  EXPECT_STREQ(plan.method->rpc, "flightdeck.v1.ReleaseService.GetNextWindow");
  auto& request = static_cast<const v1::GetNextWindowRequest&>(*plan.request);
  EXPECT_EQ(request.service(), "orders");
  EXPECT_EQ(request.environment(), "production") << "no environment asks about production";
  EXPECT_EQ(static_cast<const v1::GetNextWindowRequest&>(*PlanCall(Parse("windows orders staging")).request)
                .environment(),
            "staging");

  v1::NextWindow next;
  next.set_service("orders");
  next.set_environment("production");
  next.set_open(false);
  next.set_required_window("db-maintenance");
  next.set_reason("the policy of production requires maintenance window \"db-maintenance\", which is closed");
  next.mutable_opens_at()->set_seconds(1804384800);   // 2027-03-07 02:00 UTC
  next.mutable_closes_at()->set_seconds(1804392000);  // 04:00
  v1::Checklist* checklist = next.mutable_checklist();
  checklist->set_verdict(v1::ChecklistItemState::FAIL);
  v1::ChecklistItemState* stale = checklist->add_items();
  stale->mutable_item()->set_name("backups-verified");
  stale->set_state(v1::ChecklistItemState::FAIL);
  stale->set_reason("no verified backup of orders-db");
  v1::ChecklistItemState* fine = checklist->add_items();
  fine->mutable_item()->set_name("rollback-tested");
  fine->set_state(v1::ChecklistItemState::PASS);
  ChatAnswer a = ResultAnswer(bare, next, SlackActor("bob", v1::Token::VIEWER));
  EXPECT_FALSE(a.in_channel);
  EXPECT_EQ(a.title, "Windows for orders in production");
  EXPECT_EQ(a.tone, ChatAnswer::Tone::kBad);
  ASSERT_EQ(a.lines.size(), 5u);
  EXPECT_EQ(a.lines[0], "Closed: " + next.reason());
  EXPECT_EQ(a.lines[1], "Next opening: 2027-03-07 02:00 UTC until 2027-03-07 04:00 UTC");
  EXPECT_EQ(a.lines[2], "Required window: `db-maintenance`");
  EXPECT_EQ(a.lines[3], "Checklist: `FAIL`");
  EXPECT_EQ(a.lines[4], "• backups-verified FAIL — no verified backup of orders-db");

  v1::NextWindow open;
  open.set_open(true);
  open.mutable_closes_at()->set_seconds(1804392000);
  ChatAnswer now = ResultAnswer(bare, open, SlackActor("bob", v1::Token::VIEWER));
  EXPECT_EQ(now.tone, ChatAnswer::Tone::kGood);
  EXPECT_EQ(now.lines[0], "Changes may go out now until 2027-03-07 04:00 UTC.");
  EXPECT_EQ(now.lines[1], "No maintenance window is required.");
}

TEST(Answers, SlackTextIsEscapedAndRefusalsSayWhichRoleIsNeeded) {
  ChatAnswer a;
  a.title = "t";
  a.lines = {"<!channel> & co"};
  EXPECT_NE(SlackJson(a).find("&lt;!channel&gt; &amp; co"), std::string::npos);

  const api::Method* approve = api::FindMethod("flightdeck.v1.ReleaseService.ApproveRelease");
  Actor vic = SlackActor("vic", v1::Token::VIEWER);
  ChatAnswer refused = ErrorAnswer(Parse("approve 3f2a"), approve,
                                   grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                                                "role VIEWER may not POST /v1/releases/{id}/approve (needs DEPLOYER or above)"),
                                   vic);
  EXPECT_FALSE(refused.in_channel);
  EXPECT_EQ(refused.title, "Refused: vic (VIEWER) may not ApproveRelease.");
  EXPECT_EQ(refused.lines[0], "That needs the DEPLOYER role or above; nothing was done.");
  Actor ci = SlackActor("ci", v1::Token::DEPLOYER);
  ChatAnswer self = ErrorAnswer(Parse("approve 3f2a"), approve,
                                grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                                             "ci created this release and may not approve it in production"),
                                ci);
  EXPECT_EQ(self.title, "Refused: ci created this release and may not approve it in production");
  // Bytes that are not UTF-8 (a form can decode to anything) never make an answer unsendable.
  ParseResult garbage = ParseCommand("aprove \xff\xfe");
  ASSERT_FALSE(garbage.ok);
  EXPECT_FALSE(json::parse(SlackJson(ParseErrorAnswer("x\xff: y")), nullptr, false).is_discarded());
  EXPECT_FALSE(json::parse(MattermostJson(ParseErrorAnswer(garbage.error)), nullptr, false).is_discarded());
  ChatAnswer not_linked = NotLinkedAnswer("slack", "T1", "U9");
  EXPECT_NE(SlackJson(not_linked).find("fdctl chatops link slack T1 U9 &lt;name&gt; --role &lt;role&gt;"), std::string::npos);
}

}  // namespace
}  // namespace flightdeck::gateway::chatops
