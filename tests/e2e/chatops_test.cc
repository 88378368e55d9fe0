// End to end: the chat-ops front on the running stack, driven the way Slack and Mattermost
// drive it — signed slash commands, button presses and Mattermost's token — with a local
// response_url receiver on 127.0.0.1 that records what the gateway posts back.
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "tests/support/http_client.h"
#include "tests/e2e/stack.h"
#include "tests/e2e/webhook_receiver.h"
#include "tests/support/wait.h"

namespace flightdeck::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr char kSlackSecret[] = "e2e-slack-signing-secret-0123456789";
constexpr char kMattermostToken[] = "e2e-mattermost-token-abcdefghij";
constexpr char kTeam[] = "T0FLIGHT";

std::string FormEscape(const std::string& text) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string Form(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [k, v] : fields) out += (out.empty() ? "" : "&") + k + "=" + FormEscape(v);
  return out;
}

// Slack's signature, computed here with OpenSSL (independently of the gateway's code).
std::string Sign(const std::string& secret, const std::string& ts, const std::string& body) {
  std::string base = "v0:" + ts + ":" + body;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(base.data()), base.size(), digest, &length);
  std::string out = "v0=";
  char hex[3];
  for (unsigned int i = 0; i < length; ++i) {
    std::snprintf(hex, sizeof hex, "%02x", digest[i]);
    out += hex;
  }
  return out;
}

std::string Now() { return std::to_string(std::time(nullptr)); }

std::string TempDir() {
  char dir[] = "/tmp/fd-chatops-e2e-XXXXXX";
  return mkdtemp(dir);
}

class ChatOpsE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(TempDir());
    // Canary steps long enough that a release waits in CANARY for a chat user to promote it.
    std::ofstream(*dir_ + "/environments.json")
        << json{{"default",
                 {{"canary",
                   {{"steps", {{{"weight", 5}, {"duration", "120s"}}}},
                    {"analysis", {{"interval", "1s"}, {"min_requests", 10}, {"inconclusive_limit", 1000}}}}},
                  {"verification_timeout", "120s"}}},
                {"production", {{"requires_success_in", json::array()}, {"require_approval", true}, {"allow_self_approval", false}}},
                {"quick",
                 {{"canary",
                   {{"steps", {{{"weight", 5}, {"duration", "1s"}}}},
                    {"analysis", {{"interval", "1s"}, {"min_requests", 10}, {"inconclusive_limit", 1000}}}}}}}}
               .dump();
    receiver_ = new WebhookReceiver(/*flaky_failures=*/1);  // /flaky answers 500 once
    stack_ = new Stack({{"FLIGHTDECK_ENVIRONMENTS_FILE", *dir_ + "/environments.json"},
                        {"FLIGHTDECK_JOBS_POLL_INTERVAL", "100ms"},
                        {"FLIGHTDECK_SLACK_SIGNING_SECRET", std::string("old-rotated-secret-0123456789,") + kSlackSecret},
                        {"FLIGHTDECK_MATTERMOST_TOKEN", kMattermostToken}});
    ready_ = stack_->WaitReady();
    if (!ready_) return;
    ci_ = CreateToken("ci", "DEPLOYER");
    Link("slack", kTeam, "UALICE", "alice", "DEPLOYER");
    Link("slack", kTeam, "UVIC", "vic", "VIEWER");
    Link("slack", kTeam, "UCI", "ci", "DEPLOYER");  // the pipeline's own name, in chat
    Link("slack", kTeam, "UOLGA", "olga", "OPERATOR");
    Link("mattermost", "mmteam", "mmbob", "bob", "OPERATOR");
  }
  static void TearDownTestSuite() {
    delete stack_;
    delete receiver_;
    stack_ = nullptr;
    receiver_ = nullptr;
    (void)!system(("rm -rf " + *dir_).c_str());
    delete dir_;
  }
  void SetUp() override { ASSERT_TRUE(ready_) << "the stack did not start"; }

  static std::string CreateToken(const std::string& name, const std::string& role) {
    HttpResponse r = Call("POST", "/v1/tokens", stack_->admin_token(), json{{"name", name}, {"role", role}});
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body, nullptr, false).value("secret", "");
  }

  static void Link(const std::string& platform, const std::string& team, const std::string& user,
                   const std::string& name, const std::string& role) {
    HttpResponse r = Call("POST", "/v1/chatops/identities", stack_->admin_token(),
                          {{"platform", platform}, {"team_id", team}, {"user_id", user}, {"name", name}, {"role", role}});
    EXPECT_EQ(r.status, 200) << r.body;
  }

  static HttpResponse Call(const std::string& method, const std::string& path, const std::string& token,
                           const json& body = nullptr) {
    return HttpRequest(method, stack_->gateway_url() + path, body.is_null() ? "" : body.dump(),
                       {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}});
  }

  static HttpResponse PostSigned(const std::string& path, const std::string& body, const std::string& ts = Now(),
                                 const std::string& secret = kSlackSecret) {
    return HttpRequest("POST", stack_->gateway_url() + path, body,
                       {{"Content-Type", "application/x-www-form-urlencoded"},
                        {"X-Slack-Request-Timestamp", ts},
                        {"X-Slack-Signature", Sign(secret, ts, body)}});
  }

  // A slash command as Slack sends it.
  static std::string SlashBody(const std::string& user, const std::string& text, const std::string& reply_path) {
    return Form({{"token", "unused-legacy-token"}, {"team_id", kTeam}, {"team_domain", "flightdeck"},
                 {"channel_id", "CDEPLOYS"}, {"channel_name", "deploys"}, {"user_id", user},
                 {"user_name", user == "UALICE" ? "alice" : "someone"}, {"command", "/fd"}, {"text", text},
                 {"response_url", receiver_->Url(reply_path)}, {"trigger_id", "1.2.3"}});
  }

  static HttpResponse Slash(const std::string& user, const std::string& text, const std::string& reply_path) {
    return PostSigned("/v1/chatops/slack/commands", SlashBody(user, text, reply_path));
  }

  static json CreateRelease(const std::string& service, const std::string& env, const std::string& sha) {
    HttpResponse r = Call("POST", "/v1/releases", ci_,
                          {{"service", service}, {"environment", env}, {"version", "v" + sha.substr(0, 4)},
                           {"commit_sha", sha}, {"image", "registry.example/" + service + ":" + sha}});
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body, nullptr, false);
  }

  static json Get(const std::string& id) {
    return json::parse(Call("GET", "/v1/releases/" + id, ci_).body, nullptr, false);
  }

  static json WaitFor(const std::string& id, std::set<std::string> states, bool push_healthy = false) {
    json r;
    const bool reached = WaitUntil([&] {
      r = Get(id);
      const std::string state = r.value("state", "");
      if (states.count(state)) return true;
      if (push_healthy && state == "CANARY") {
        Call("POST", "/v1/releases/" + id + "/observations", ci_,
             {{"requests", 200}, {"errors", 1}, {"p99_latency_ms", 120}, {"window", "1s"}});
      }
      if (push_healthy && state == "VERIFYING") {
        Call("POST", "/v1/releases/" + id + "/verification", ci_, {{"passed", true}, {"details", "ok"}});
      }
      return false;
    }, 30s, 200ms);
    if (!reached) ADD_FAILURE() << "release " << id << " is " << r.value("state", "?") << ", not in time";
    return r;
  }

  // The last answer posted to the response_url `path`, once there is one (or after 20 s).
  static json Answer(const std::string& path) {
    const std::vector<WebhookReceiver::Delivery> posted = receiver_->WaitForDeliveries(path, 1, 20s);
    if (posted.empty()) {
      ADD_FAILURE() << "nothing was posted to " << path;
      return json::object();
    }
    return json::parse(posted.back().body, nullptr, false);
  }

  // Everything the answer says, as one string (its text and blocks).
  static std::string Text(const json& answer) { return answer.dump(); }

  static std::string* dir_;
  static WebhookReceiver* receiver_;
  static Stack* stack_;
  static bool ready_;
  static std::string ci_;
};

std::string* ChatOpsE2eTest::dir_ = nullptr;
WebhookReceiver* ChatOpsE2eTest::receiver_ = nullptr;
Stack* ChatOpsE2eTest::stack_ = nullptr;
bool ChatOpsE2eTest::ready_ = false;
std::string ChatOpsE2eTest::ci_;

TEST_F(ChatOpsE2eTest, ASignedSlashCommandApprovesAndTheAnswerGoesToTheChannel) {
  json release = CreateRelease("checkout", "production", "a1b2c3d4e5");
  std::string id = release["id"];
  WaitFor(id, {"AWAITING_APPROVAL"});

  HttpResponse ack = Slash("UALICE", "approve " + id.substr(0, 8) + " change ticket 42", "/approve");
  ASSERT_EQ(ack.status, 200) << ack.body;
  json immediate = json::parse(ack.body, nullptr, false);
  EXPECT_EQ(immediate["response_type"], "ephemeral") << ack.body;
  EXPECT_NE(Text(immediate).find("Working on it"), std::string::npos) << ack.body;

  json answer = Answer("/approve");
  EXPECT_EQ(answer["response_type"], "in_channel") << answer.dump(2);
  EXPECT_NE(answer["text"].get<std::string>().find("alice approved checkout"), std::string::npos) << answer.dump(2);
  EXPECT_TRUE(answer["blocks"].is_array());
  json canary = WaitFor(id, {"CANARY"});
  EXPECT_EQ(canary["approved_by"], "alice");

  // The audit log names the chat principal, the chat identity and the channel.
  json audit = json::parse(Call("GET", "/v1/audit?actor=alice", stack_->admin_token()).body, nullptr, false);
  ASSERT_FALSE(audit["entries"].empty()) << audit.dump(2);
  json entry = audit["entries"][0];
  EXPECT_EQ(entry["action"], "POST /v1/releases/{id}/approve");
  EXPECT_EQ(entry["status"], 200);
  std::string target = entry["target"];
  EXPECT_NE(target.find("via=slack"), std::string::npos) << target;
  EXPECT_NE(target.find("user=UALICE"), std::string::npos) << target;
  EXPECT_NE(target.find("channel=CDEPLOYS"), std::string::npos) << target;

  // The canary waits: promote from chat, with the same prefix.
  HttpResponse promote = Slash("UALICE", "promote " + id.substr(0, 8), "/promote");
  ASSERT_EQ(promote.status, 200) << promote.body;
  EXPECT_NE(Text(Answer("/promote")).find("alice promoted"), std::string::npos);
  WaitFor(id, {"PROMOTING", "VERIFYING", "BAKING", "SUCCEEDED"});
}

TEST_F(ChatOpsE2eTest, AViewersApproveIsRefusedWithAClearEphemeralMessage) {
  json release = CreateRelease("search", "production", "b2c3d4e5f6");
  std::string id = release["id"];
  WaitFor(id, {"AWAITING_APPROVAL"});
  ASSERT_EQ(Slash("UVIC", "approve " + id.substr(0, 8), "/viewer").status, 200);
  json answer = Answer("/viewer");
  EXPECT_EQ(answer["response_type"], "ephemeral") << answer.dump(2);
  std::string text = Text(answer);
  EXPECT_NE(text.find("Refused: vic (VIEWER) may not ApproveRelease"), std::string::npos) << text;
  EXPECT_NE(text.find("DEPLOYER role or above"), std::string::npos) << text;
  EXPECT_EQ(Get(id)["state"], "AWAITING_APPROVAL");
  json audit = json::parse(Call("GET", "/v1/audit?actor=vic", stack_->admin_token()).body, nullptr, false);
  ASSERT_FALSE(audit["entries"].empty());
  EXPECT_EQ(audit["entries"][0]["status"], 403);

  // The production no-self-approval rule holds in chat as over REST: "ci" created it.
  ASSERT_EQ(Slash("UCI", "approve " + id.substr(0, 8), "/self").status, 200);
  json self = Answer("/self");
  EXPECT_EQ(self["response_type"], "ephemeral");
  EXPECT_NE(Text(self).find("Refused"), std::string::npos) << self.dump(2);
  EXPECT_EQ(Get(id)["state"], "AWAITING_APPROVAL");
}

TEST_F(ChatOpsE2eTest, ASlashCommandAbortsAndAButtonReplacesTheMessage) {
  json release = CreateRelease("cart", "production", "c3d4e5f6a7");
  std::string id = release["id"];
  WaitFor(id, {"AWAITING_APPROVAL"});
  // `release` shows Approve / Abort buttons on a release awaiting approval.
  ASSERT_EQ(Slash("UALICE", "release " + id.substr(0, 8), "/show").status, 200);
  json shown = Answer("/show");
  EXPECT_EQ(shown["response_type"], "ephemeral");
  std::string shown_text = Text(shown);
  EXPECT_NE(shown_text.find("\"action_id\":\"approve\""), std::string::npos) << shown_text;
  EXPECT_NE(shown_text.find("\"action_id\":\"abort\""), std::string::npos) << shown_text;

  // Pressing Approve: a signed block_actions payload; the answer replaces the message.
  json payload = {{"type", "block_actions"},
                  {"team", {{"id", kTeam}}},
                  {"user", {{"id", "UALICE"}, {"username", "alice"}, {"team_id", kTeam}}},
                  {"channel", {{"id", "CDEPLOYS"}, {"name", "deploys"}}},
                  {"response_url", receiver_->Url("/button")},
                  {"actions", {{{"action_id", "approve"}, {"value", id}, {"type", "button"}}}}};
  // A viewer's press is refused to them alone; the message and its buttons stay.
  json viewer_press = payload;
  viewer_press["user"] = {{"id", "UVIC"}, {"username", "vic"}, {"team_id", kTeam}};
  viewer_press["response_url"] = receiver_->Url("/button-viewer");
  ASSERT_EQ(PostSigned("/v1/chatops/slack/interactions", Form({{"payload", viewer_press.dump()}})).status, 200);
  json refused = Answer("/button-viewer");
  EXPECT_EQ(refused["response_type"], "ephemeral") << refused.dump(2);
  EXPECT_FALSE(refused.contains("replace_original")) << refused.dump(2);
  EXPECT_NE(Text(refused).find("Refused: vic (VIEWER) may not ApproveRelease"), std::string::npos) << refused.dump(2);
  EXPECT_EQ(Get(id)["state"], "AWAITING_APPROVAL");

  HttpResponse pressed = PostSigned("/v1/chatops/slack/interactions", Form({{"payload", payload.dump()}}));
  ASSERT_EQ(pressed.status, 200) << pressed.body;
  json replaced = Answer("/button");
  EXPECT_EQ(replaced["replace_original"], true) << replaced.dump(2);
  EXPECT_NE(Text(replaced).find("alice approved cart"), std::string::npos) << replaced.dump(2);
  // Approved, its canary about to start: the new message offers Abort, no longer Approve.
  EXPECT_NE(Text(replaced).find("\"action_id\":\"abort\""), std::string::npos) << replaced.dump(2);
  EXPECT_EQ(Text(replaced).find("\"action_id\":\"approve\""), std::string::npos) << replaced.dump(2);
  WaitFor(id, {"CANARY"});

  ASSERT_EQ(Slash("UALICE", "abort " + id.substr(0, 8) + " \"error budget burning\"", "/abort").status, 200);
  json aborted = Answer("/abort");
  EXPECT_EQ(aborted["response_type"], "in_channel");
  EXPECT_NE(Text(aborted).find("alice aborted cart"), std::string::npos) << aborted.dump(2);
  EXPECT_NE(Text(aborted).find("error budget burning"), std::string::npos) << aborted.dump(2);
  WaitFor(id, {"ABORTED", "ROLLING_BACK", "ROLLED_BACK"});
}

TEST_F(ChatOpsE2eTest, AnIncidentDeclaredInChatIsAcknowledgedAndResolvedWithItsButtons) {
  ASSERT_EQ(Slash("UOLGA", "incident declare SEV2 api \"Checkout is slow\"", "/declare").status, 200);
  json declared = Answer("/declare");
  EXPECT_EQ(declared["response_type"], "in_channel") << declared.dump(2);
  std::string title = declared["text"];
  ASSERT_NE(title.find("olga declared INC-"), std::string::npos) << declared.dump(2);
  std::string incident = title.substr(title.find("INC-"), title.find(':') - title.find("INC-"));
  EXPECT_NE(Text(declared).find("\"action_id\":\"ack\""), std::string::npos) << declared.dump(2);

  auto press = [&](const std::string& action, const std::string& path) {
    json payload = {{"type", "block_actions"},
                    {"team", {{"id", kTeam}}},
                    {"user", {{"id", "UOLGA"}, {"username", "olga"}}},
                    {"channel", {{"id", "CINCIDENTS"}, {"name", "incidents"}}},
                    {"response_url", receiver_->Url(path)},
                    {"actions", {{{"action_id", action}, {"value", incident}}}}};
    EXPECT_EQ(PostSigned("/v1/chatops/slack/interactions", Form({{"payload", payload.dump()}})).status, 200);
    return Answer(path);
  };
  json acked = press("ack", "/ack");
  EXPECT_EQ(acked["replace_original"], true) << acked.dump(2);
  EXPECT_NE(acked["text"].get<std::string>().find("olga acknowledged " + incident), std::string::npos) << acked.dump(2);
  EXPECT_NE(Text(acked).find("\"action_id\":\"resolve\""), std::string::npos) << acked.dump(2);
  EXPECT_EQ(Text(acked).find("\"action_id\":\"ack\""), std::string::npos) << acked.dump(2);
  json resolved = press("resolve", "/resolve");
  EXPECT_NE(resolved["text"].get<std::string>().find("olga resolved " + incident), std::string::npos) << resolved.dump(2);
  json state = json::parse(Call("GET", "/v1/incidents/" + incident, stack_->admin_token()).body, nullptr, false);
  EXPECT_EQ(state["state"], "RESOLVED") << state.dump(2);
}

TEST_F(ChatOpsE2eTest, ASlashCommandRollsBackToThePreviousReleaseOrToACommit) {
  auto ship_two = [&](const std::string& service, const std::string& first_sha, const std::string& second_sha) {
    WaitFor(CreateRelease(service, "quick", first_sha)["id"], {"SUCCEEDED"}, true);
    WaitFor(CreateRelease(service, "quick", second_sha)["id"], {"SUCCEEDED"}, true);
  };
  auto rollback_to = [&](const std::string& service) {
    json list = json::parse(Call("GET", "/v1/releases?service=" + service + "&environment=quick", ci_).body, nullptr, false);
    for (const json& r : list["releases"]) {
      if (r.value("kind", "") == "ROLLBACK") return r.value("commit_sha", "");
    }
    return std::string("no rollback release: ") + list.dump();
  };
  ship_two("billing", "d4e5f6a7b8", "e5f6a7b8c9");
  ASSERT_EQ(Slash("UALICE", "rollback billing quick \"second one is bad\"", "/rollback").status, 200);
  json answer = Answer("/rollback");
  EXPECT_EQ(answer["response_type"], "in_channel") << answer.dump(2);
  EXPECT_NE(Text(answer).find("alice started a rollback of billing in quick"), std::string::npos) << answer.dump(2);
  EXPECT_NE(Text(answer).find("second one is bad"), std::string::npos) << answer.dump(2);
  EXPECT_EQ(rollback_to("billing"), "d4e5f6a7b8");

  ship_two("ledger", "f6a7b8c9d0", "a7b8c9d0e1");
  ASSERT_EQ(Slash("UALICE", "rollback ledger quick to f6a7b8c bad deploy", "/rollback-to").status, 200);
  EXPECT_EQ(Answer("/rollback-to")["response_type"], "in_channel");
  EXPECT_EQ(rollback_to("ledger"), "f6a7b8c9d0");
}

TEST_F(ChatOpsE2eTest, UnlinkedUsersAndBadWordsAreAnsweredAtOnceAndNothingIsDone) {
  HttpResponse stranger = Slash("USTRANGER", "approve 0123abcd", "/stranger");
  ASSERT_EQ(stranger.status, 200) << stranger.body;
  EXPECT_NE(stranger.body.find("not linked"), std::string::npos) << stranger.body;
  EXPECT_NE(stranger.body.find("fdctl chatops link slack T0FLIGHT USTRANGER"), std::string::npos) << stranger.body;

  HttpResponse typo = Slash("UALICE", "aprove 0123abcd", "/typo");
  ASSERT_EQ(typo.status, 200);
  EXPECT_NE(typo.body.find("did you mean \\\"approve\\\""), std::string::npos) << typo.body;
  HttpResponse help = Slash("UALICE", "help", "/help");
  EXPECT_NE(help.body.find("rollback &lt;service&gt; &lt;env&gt;"), std::string::npos) << help.body;  // mrkdwn escapes < and >
  EXPECT_EQ(receiver_->Requests("/stranger") + receiver_->Requests("/typo") + receiver_->Requests("/help"), 0);
}

// A NUL, typed or in a channel's name, is refused by the field's name before anything is done:
// the queued payload (jsonb) cannot hold it, and the answer used to be "could not take this
// command" with PostgreSQL's complaint about \u0000 (a button's press: a 503).
TEST_F(ChatOpsE2eTest, ANulInACommandIsRefusedByNameAndNothingIsDone) {
  json release = CreateRelease("ledger", "production", "d4e5f6a7b8");
  std::string id = release["id"];
  WaitFor(id, {"AWAITING_APPROVAL"});
  HttpResponse typed = Slash("UALICE", "approve " + id.substr(0, 8) + std::string(" ticket\0 42", 11), "/nul");
  EXPECT_EQ(typed.status, 400) << typed.body;
  EXPECT_NE(typed.body.find("text: contains a NUL character"), std::string::npos) << typed.body;

  std::string body = SlashBody("UALICE", "approve " + id.substr(0, 8) + " ticket 42", "/nul");
  const std::string channel = "channel_name=deploys";
  body.replace(body.find(channel), channel.size(), channel + "%00x");
  HttpResponse named = PostSigned("/v1/chatops/slack/commands", body);
  EXPECT_EQ(named.status, 400) << named.body;
  EXPECT_NE(named.body.find("channel_name: contains a NUL character"), std::string::npos) << named.body;

  // The same command without the NUL is taken: only then is anything posted back.
  ASSERT_EQ(Slash("UALICE", "approve " + id.substr(0, 8) + " ticket 42", "/nul").status, 200);
  EXPECT_NE(Text(Answer("/nul")).find("alice approved ledger"), std::string::npos);
  EXPECT_EQ(receiver_->Requests("/nul"), 1);
}

TEST_F(ChatOpsE2eTest, IdentitiesAreAdminOnlyValidatedAndUnlinkingStopsTheUser) {
  json carol = {{"platform", "slack"}, {"team_id", kTeam}, {"user_id", "UCAROL"}, {"name", "carol"}, {"role", "OPERATOR"}};
  HttpResponse by_deployer = Call("POST", "/v1/chatops/identities", ci_, carol);
  EXPECT_EQ(by_deployer.status, 403) << by_deployer.body;
  HttpResponse created = Call("POST", "/v1/chatops/identities", stack_->admin_token(), carol);
  ASSERT_EQ(created.status, 200) << created.body;
  EXPECT_EQ(json::parse(created.body)["created_by"], "bootstrap-admin");
  HttpResponse again = Call("POST", "/v1/chatops/identities", stack_->admin_token(), carol);
  EXPECT_EQ(again.status, 409) << again.body;
  json bad = carol;
  bad["platform"] = "teams";
  HttpResponse invalid = Call("POST", "/v1/chatops/identities", stack_->admin_token(), bad);
  EXPECT_EQ(invalid.status, 400);
  EXPECT_NE(invalid.body.find("platform: must be"), std::string::npos) << invalid.body;
  bad = carol;
  bad["role"] = "INGEST";
  EXPECT_EQ(Call("POST", "/v1/chatops/identities", stack_->admin_token(), bad).status, 400);

  json listed = json::parse(Call("GET", "/v1/chatops/identities?platform=mattermost", stack_->admin_token()).body);
  ASSERT_EQ(listed["identities"].size(), 1u) << listed.dump(2);
  EXPECT_EQ(listed["identities"][0]["name"], "bob");
  EXPECT_EQ(Call("GET", "/v1/chatops/identities", ci_).status, 403);

  HttpResponse linked = Slash("UCAROL", "incidents", "/carol");
  EXPECT_NE(linked.body.find("Working on it"), std::string::npos) << linked.body;
  receiver_->WaitForDeliveries("/carol", 1, 20s);
  std::string key = std::string("?platform=slack&team_id=") + kTeam + "&user_id=UCAROL";
  HttpResponse unlinked = Call("DELETE", "/v1/chatops/identities" + key, stack_->admin_token());
  EXPECT_EQ(unlinked.status, 200) << unlinked.body;
  EXPECT_EQ(Call("DELETE", "/v1/chatops/identities" + key, stack_->admin_token()).status, 404);
  HttpResponse refused = Slash("UCAROL", "incidents", "/carol-after");
  EXPECT_NE(refused.body.find("not linked"), std::string::npos) << refused.body;
  // Linking and unlinking are audited like every admin write.
  json audit = json::parse(Call("GET", "/v1/audit?actor=bootstrap-admin", stack_->admin_token()).body);
  std::set<std::string> actions;
  for (const json& e : audit["entries"]) actions.insert(e["action"].get<std::string>());
  EXPECT_TRUE(actions.count("POST /v1/chatops/identities")) << audit.dump(2);
  EXPECT_TRUE(actions.count("DELETE /v1/chatops/identities")) << audit.dump(2);
}

TEST_F(ChatOpsE2eTest, BadStaleReplayedAndOversizedRequestsAreRefused) {
  std::string body = SlashBody("UALICE", "incidents", "/refused");
  std::string ts = Now();
  HttpResponse wrong = PostSigned("/v1/chatops/slack/commands", body, ts, "not-the-secret-0123456789");
  EXPECT_EQ(wrong.status, 401) << wrong.body;
  EXPECT_NE(wrong.body.find("does not match"), std::string::npos) << wrong.body;

  std::string stale_ts = std::to_string(std::time(nullptr) - 600);
  EXPECT_EQ(PostSigned("/v1/chatops/slack/commands", body, stale_ts).status, 401);

  HttpResponse tampered = HttpRequest("POST", stack_->gateway_url() + "/v1/chatops/slack/commands", body + "x",
                                      {{"X-Slack-Request-Timestamp", ts}, {"X-Slack-Signature", Sign(kSlackSecret, ts, body)}});
  EXPECT_EQ(tampered.status, 401);
  HttpResponse unsigned_request = HttpRequest("POST", stack_->gateway_url() + "/v1/chatops/slack/commands", body);
  EXPECT_EQ(unsigned_request.status, 401);
  EXPECT_NE(unsigned_request.body.find("X-Slack-Request-Timestamp: missing"), std::string::npos) << unsigned_request.body;

  // The old secret of a rotation still verifies; the same request twice is a replay.
  HttpResponse first = PostSigned("/v1/chatops/slack/commands", body, ts, "old-rotated-secret-0123456789");
  EXPECT_EQ(first.status, 200) << first.body;
  HttpResponse replay = PostSigned("/v1/chatops/slack/commands", body, ts, "old-rotated-secret-0123456789");
  EXPECT_EQ(replay.status, 401) << replay.body;
  EXPECT_NE(replay.body.find("replay"), std::string::npos) << replay.body;

  std::string huge = SlashBody("UALICE", std::string(70 * 1024, 'x'), "/refused");
  EXPECT_EQ(PostSigned("/v1/chatops/slack/commands", huge).status, 413);
  receiver_->WaitForDeliveries("/refused", 1, 20s);  // the one accepted request ("incidents") answers
  EXPECT_EQ(receiver_->Requests("/refused"), 1);
}

TEST_F(ChatOpsE2eTest, MattermostSlashCommandsWithItsToken) {
  auto mattermost = [&](const std::string& token, const std::string& text, const std::string& path) {
    return HttpRequest("POST", stack_->gateway_url() + "/v1/chatops/mattermost/commands",
                       Form({{"channel_id", "mmchan"}, {"channel_name", "town-square"}, {"command", "/fd"},
                             {"response_url", receiver_->Url(path)}, {"team_domain", "ops"}, {"team_id", "mmteam"},
                             {"text", text}, {"token", token}, {"trigger_id", "x"}, {"user_id", "mmbob"},
                             {"user_name", "bob"}}),
                       {{"Content-Type", "application/x-www-form-urlencoded"}});
  };
  EXPECT_EQ(mattermost("wrong-token-abcdefghijklmn", "incidents", "/mm-wrong").status, 401);

  HttpResponse ack = mattermost(kMattermostToken, "incident declare SEV3 payments \"Card declines rising\"", "/mm");
  ASSERT_EQ(ack.status, 200) << ack.body;
  EXPECT_EQ(json::parse(ack.body, nullptr, false)["response_type"], "ephemeral") << ack.body;
  json answer = Answer("/mm");
  EXPECT_EQ(answer["response_type"], "in_channel") << answer.dump(2);
  ASSERT_TRUE(answer["attachments"].is_array()) << answer.dump(2);
  std::string title = answer["attachments"][0].value("title", "");
  EXPECT_NE(title.find("bob declared INC-"), std::string::npos) << answer.dump(2);
  EXPECT_NE(title.find("Card declines rising"), std::string::npos) << answer.dump(2);

  ASSERT_EQ(mattermost(kMattermostToken, "incidents payments", "/mm-list").status, 200);
  json list = Answer("/mm-list");
  EXPECT_EQ(list["response_type"], "ephemeral");
  EXPECT_NE(list.dump().find("Card declines rising"), std::string::npos) << list.dump(2);
}

TEST_F(ChatOpsE2eTest, AFailedDeliveryIsRetriedAndEveryAttemptRecorded) {
  ASSERT_EQ(Slash("UALICE", "incidents", "/flaky-1").status, 200);
  std::vector<WebhookReceiver::Delivery> delivered = receiver_->WaitForDeliveries("/flaky-1", 1, 20s);
  ASSERT_EQ(delivered.size(), 1u);
  EXPECT_EQ(receiver_->Requests("/flaky-1"), 2);  // a 500, then the retry
  pqxx::connection db(stack_->database_url());
  pqxx::work tx(db);
  pqxx::result attempts = tx.exec(
      "SELECT attempt, http_status FROM gateway.chat_deliveries WHERE job_id = "
      "(SELECT job_id FROM gateway.chat_deliveries WHERE http_status = 500 ORDER BY id DESC LIMIT 1) "
      "ORDER BY attempt");
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_EQ(attempts[0][1].as<int>(), 500);
  EXPECT_EQ(attempts[1][1].as<int>(), 200);
  EXPECT_EQ(attempts[1][0].as<int>(), 2);
}

}  // namespace
}  // namespace flightdeck::test
