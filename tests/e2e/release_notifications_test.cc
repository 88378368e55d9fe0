// End to end: an environment policy names notification targets (a signed JSON webhook, a Slack
// incoming webhook with buttons, and a receiver that fails twice before it answers), all on
// 127.0.0.1. A release approved into production and shipped announces started, awaiting
// approval and succeeded; one whose canary fails announces its rollback with the failing
// verdict's numbers. Deliveries are signed, retried, and every attempt is recorded.
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <unistd.h>

#include <chrono>
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

constexpr char kSecret[] = "release-hook-secret-0123456789";

std::string HmacSha256Hex(const std::string& key, const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), digest, &len);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xf]);
  }
  return out;
}

// "t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>", checked independently of the service.
bool SignedWith(const std::string& secret, const std::string& body, const std::string& header) {
  const size_t comma = header.find(",v1=");
  if (header.rfind("t=", 0) != 0 || comma == std::string::npos) return false;
  const std::string t = header.substr(2, comma - 2);
  if (std::abs(std::stoll(t) - static_cast<long long>(std::time(nullptr))) > 120) return false;
  return header.substr(comma + 4) == HmacSha256Hex(secret, t + "." + body);
}

class ReleaseNotificationsE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char dir[] = "/tmp/fd-notify-e2e-XXXXXX";
    dir_ = new std::string(mkdtemp(dir));
    receiver_ = new WebhookReceiver(/*flaky_failures=*/2);  // /flaky fails twice
    std::ofstream(*dir_ + "/environments.json")
        << json{{"default",
                 {{"canary",
                   {{"steps", {{{"weight", 5}, {"duration", "2s"}}}},
                    {"analysis", {{"interval", "1s"}, {"min_requests", 10}, {"inconclusive_limit", 20}}}}},
                  {"verification_timeout", "120s"}}},
                {"production",
                 {{"requires_success_in", json::array()},
                  {"require_approval", true},
                  {"allow_self_approval", false},
                  {"bake", {{"duration", "0s"}}},
                  {"notify",
                   {{{"name", "hook"}, {"url", receiver_->Url("/hook")}, {"secret", kSecret}},
                    {{"name", "chat"},
                     {"url", receiver_->Url("/slack/T0/B0/webhook-token")},
                     {"format", "slack"},
                     {"interactive", true},
                     {"events", {"awaiting_approval", "rolled_back", "succeeded"}}},
                    {{"name", "flaky"}, {"url", receiver_->Url("/flaky")}, {"secret", kSecret}, {"events", {"started"}}}}}}}}
               .dump();
    stack_ = new Stack({{"FLIGHTDECK_ENVIRONMENTS_FILE", *dir_ + "/environments.json"},
                        {"FLIGHTDECK_JOBS_POLL_INTERVAL", "100ms"}});
    ready_ = stack_->WaitReady();
    if (!ready_) return;
    ci_ = CreateToken("ci", "DEPLOYER");
    alice_ = CreateToken("alice", "DEPLOYER");
    viewer_ = CreateToken("vera", "VIEWER");
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
    HttpResponse r = Call("POST", "/v1/tokens", stack_->admin_token(), {{"name", name}, {"role", role}});
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body, nullptr, false).value("secret", "");
  }
  static HttpResponse Call(const std::string& method, const std::string& path, const std::string& token,
                           const json& body = nullptr) {
    return HttpRequest(method, stack_->gateway_url() + path, body.is_null() ? "" : body.dump(),
                       {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}});
  }
  static json Get(const std::string& id) { return json::parse(Call("GET", "/v1/releases/" + id, ci_).body, nullptr, false); }
  static json Events(const std::string& id, const std::string& token) {
    return json::parse(Call("GET", "/v1/releases/" + id + "/events", token).body, nullptr, false).value("events", json::array());
  }

  // The deliveries to `path` whose body has "event" == kind and the release id.
  static std::vector<WebhookReceiver::Delivery> Of(const std::string& path, const std::string& kind,
                                                   const std::string& release_id) {
    std::vector<WebhookReceiver::Delivery> out;
    for (const WebhookReceiver::Delivery& d : receiver_->Deliveries(path)) {
      if (d.body.find(release_id) == std::string::npos) continue;
      const json body = json::parse(d.body, nullptr, false);
      if (body.is_object() && body.value("event", "") == kind) out.push_back(d);
    }
    return out;
  }

  // Waits for one of the states, pushing observations meanwhile while in CANARY.
  static json WaitFor(const std::string& id, std::set<std::string> states, const json& push = nullptr) {
    json r;
    WaitUntil([&] {
      r = Get(id);
      if (states.count(r.value("state", ""))) return true;
      if (!push.is_null() && r.value("state", "") == "CANARY") Call("POST", "/v1/releases/" + id + "/observations", ci_, push);
      return false;
    }, 30s, 200ms);
    EXPECT_TRUE(states.count(r.value("state", ""))) << r.dump() << "\n" << Events(id, ci_).dump(1);
    return r;
  }

  // A production release created by the pipeline and approved by alice, in CANARY.
  static std::string ApprovedIntoCanary(const std::string& service, const std::string& sha) {
    HttpResponse created = Call("POST", "/v1/releases", ci_,
                                {{"service", service}, {"environment", "production"}, {"version", "v-" + sha},
                                 {"commit_sha", sha}, {"image", "registry.example/" + service + ":" + sha}});
    EXPECT_EQ(created.status, 200) << created.body;
    const std::string id = json::parse(created.body, nullptr, false).value("id", "");
    WaitFor(id, {"AWAITING_APPROVAL"});
    HttpResponse approved = Call("POST", "/v1/releases/" + id + "/approve", alice_, {{"reason", "CHG-7"}});
    EXPECT_EQ(approved.status, 200) << approved.body;
    WaitFor(id, {"CANARY"});
    return id;
  }

  static std::string* dir_;
  static WebhookReceiver* receiver_;
  static Stack* stack_;
  static bool ready_;
  static std::string ci_, alice_, viewer_;
};

std::string* ReleaseNotificationsE2eTest::dir_ = nullptr;
WebhookReceiver* ReleaseNotificationsE2eTest::receiver_ = nullptr;
Stack* ReleaseNotificationsE2eTest::stack_ = nullptr;
bool ReleaseNotificationsE2eTest::ready_ = false;
std::string ReleaseNotificationsE2eTest::ci_;
std::string ReleaseNotificationsE2eTest::alice_;
std::string ReleaseNotificationsE2eTest::viewer_;

TEST_F(ReleaseNotificationsE2eTest, AShippedReleaseAnnouncesStartApprovalAndSuccessSigned) {
  const std::string id = ApprovedIntoCanary("checkout", "9fceb02d0ae598e95dc970b74767f19372d61af8");
  WaitFor(id, {"VERIFYING"}, {{"requests", 200}, {"errors", 1}, {"p99_latency_ms", 120}, {"window", "1s"}});
  HttpResponse verified = Call("POST", "/v1/releases/" + id + "/verification", ci_, {{"passed", true}});
  ASSERT_EQ(verified.status, 200) << verified.body;
  WaitFor(id, {"SUCCEEDED"});

  // The signed JSON webhook hears all three, once each, as the release's canonical JSON.
  for (const std::string kind : {"started", "awaiting_approval", "succeeded"}) {
    ASSERT_TRUE(WaitUntil([&] { return !Of("/hook", kind, id).empty(); }, 30s, 200ms))
        << kind << " never reached /hook\n" << Events(id, ci_).dump(1);
    const std::vector<WebhookReceiver::Delivery> got = Of("/hook", kind, id);
    ASSERT_EQ(got.size(), 1u) << kind;
    const json body = json::parse(got[0].body);
    EXPECT_EQ(body["event"], kind);
    EXPECT_EQ(body["release"]["id"], id);
    EXPECT_EQ(body["release"]["service"], "checkout");
    EXPECT_EQ(body["release"]["environment"], "production");
    EXPECT_FALSE(body["message"].get<std::string>().empty());
    EXPECT_FALSE(body.contains("verdict"));
    EXPECT_TRUE(SignedWith(kSecret, got[0].body, got[0].signature)) << got[0].signature;
    EXPECT_FALSE(SignedWith("another-secret", got[0].body, got[0].signature));
  }
  EXPECT_EQ(json::parse(Of("/hook", "started", id)[0].body)["actor"], "ci");

  // The Slack target: only the kinds it asked for; Approve / Abort while awaiting approval.
  const std::string slack = "/slack/T0/B0/webhook-token";
  ASSERT_TRUE(WaitUntil([&] { return receiver_->Deliveries(slack).size() >= 2; }, 30s, 200ms));
  json awaiting, succeeded;
  for (const WebhookReceiver::Delivery& d : receiver_->Deliveries(slack)) {
    const json body = json::parse(d.body);
    EXPECT_TRUE(d.signature.empty()) << "no secret, no signature";
    const std::string text = body.value("text", "");
    if (text.find("awaits approval") != std::string::npos) awaiting = body;
    if (text.find("succeeded") != std::string::npos) succeeded = body;
    EXPECT_EQ(text.find("started"), std::string::npos) << "chat did not ask for started: " << text;
  }
  ASSERT_TRUE(awaiting.is_object()) << "no awaiting-approval message";
  EXPECT_EQ(awaiting["text"], "Release of checkout v-9fceb02d0ae598e95dc970b74767f19372d61af8 to production awaits approval: "
                              "PENDING -&gt; AWAITING_APPROVAL: waiting for approval");
  const json buttons = awaiting["blocks"].back();
  ASSERT_EQ(buttons["type"], "actions") << awaiting.dump();
  EXPECT_EQ(buttons["elements"][0]["action_id"], "approve");
  EXPECT_EQ(buttons["elements"][0]["value"], id);
  EXPECT_EQ(buttons["elements"][1]["action_id"], "abort");
  EXPECT_EQ(buttons["elements"][1]["value"], id);
  ASSERT_TRUE(succeeded.is_object());
  EXPECT_NE(succeeded["blocks"].back()["type"], "actions");

  // The flaky receiver answered 500 twice: the third attempt delivered, all three recorded.
  ASSERT_TRUE(WaitUntil([&] { return !Of("/flaky", "started", id).empty(); }, 30s, 200ms))
      << Events(id, ci_).dump(1);
  EXPECT_TRUE(SignedWith(kSecret, Of("/flaky", "started", id)[0].body,
                         Of("/flaky", "started", id)[0].signature));
  pqxx::connection db(stack_->database_url());
  pqxx::work tx(db);
  pqxx::result row = tx.exec_params(
      "SELECT n.state, n.attempts, array_agg(a.http_status ORDER BY a.attempt)::text, "
      "array_agg(a.ok ORDER BY a.attempt)::text, n.delivery_id::text FROM releases.notifications n "
      "JOIN releases.notification_attempts a "
      "ON a.notification_id = n.id WHERE n.release_id = $1::uuid AND n.target_name = 'flaky' GROUP BY n.id",
      id);
  ASSERT_EQ(row.size(), 1u);
  EXPECT_EQ(row[0][0].as<std::string>(), "delivered");
  EXPECT_EQ(row[0][1].as<int>(), 3);
  EXPECT_EQ(row[0][2].as<std::string>(), "{500,500,200}");
  EXPECT_EQ(row[0][3].as<std::string>(), "{f,f,t}");
  // Each attempt named the notification the same way (X-Flightdeck-Delivery): a receiver that got
  // the first POST and failed to answer can drop the retry.
  const std::string delivery_id = row[0][4].as<std::string>();
  EXPECT_EQ(receiver_->RequestDeliveryIds("/flaky"), std::vector<std::string>(3, delivery_id));
  EXPECT_EQ(Of("/flaky", "started", id)[0].delivery_id, delivery_id);
  pqxx::result rows = tx.exec_params(
      "SELECT target_name || ':' || kind || ':' || state FROM releases.notifications WHERE release_id = $1::uuid "
      "ORDER BY 1", id);
  std::vector<std::string> all;
  for (const pqxx::row& r : rows) all.push_back(r[0].as<std::string>());
  EXPECT_EQ(all, (std::vector<std::string>{"chat:awaiting_approval:delivered", "chat:succeeded:delivered",
                                           "flaky:started:delivered", "hook:awaiting_approval:delivered",
                                           "hook:started:delivered", "hook:succeeded:delivered"}));

  // The timeline says who was notified, showing a viewer the receiver's scheme and host only.
  std::string notified;
  for (const json& e : Events(id, viewer_)) {
    if (e.value("type", "") != "NOTIFIED") continue;
    notified += e["message"].get<std::string>() + "\n";
    EXPECT_EQ(e["data"]["url_host"], "http://127.0.0.1") << e.dump();
    EXPECT_EQ(e["data"].value("delivery_id", "").size(), 36u) << "the X-Flightdeck-Delivery sent: " << e.dump();
    EXPECT_EQ(e.dump().find("webhook-token"), std::string::npos) << e.dump();
  }
  EXPECT_NE(notified.find("notified flaky (started)"), std::string::npos) << notified;
  EXPECT_NE(notified.find("notified chat (awaiting_approval)"), std::string::npos) << notified;
}

TEST_F(ReleaseNotificationsE2eTest, ARolledBackReleaseAnnouncesTheFailingVerdictAndItsNumbers) {
  const std::string id = ApprovedIntoCanary("payments", "4e1c2d3a9b8f7e6d5c4b3a29180716f5e4d3c2b1");
  HttpResponse bad = Call("POST", "/v1/releases/" + id + "/observations", ci_,
                          {{"requests", 1000}, {"errors", 80}, {"p99_latency_ms", 300}, {"window", "1s"}});
  ASSERT_EQ(bad.status, 200) << bad.body;
  WaitFor(id, {"ROLLED_BACK"});

  ASSERT_TRUE(WaitUntil([&] { return !Of("/hook", "rolled_back", id).empty(); }, 30s, 200ms))
      << Events(id, ci_).dump(1);
  const WebhookReceiver::Delivery hook = Of("/hook", "rolled_back", id)[0];
  EXPECT_TRUE(SignedWith(kSecret, hook.body, hook.signature));
  const json body = json::parse(hook.body);
  EXPECT_EQ(body["release"]["state"], "ROLLED_BACK");
  EXPECT_EQ(body["verdict"]["verdict"], "FAIL") << body.dump();
  EXPECT_EQ(body["verdict"]["requests"], 1000);
  EXPECT_EQ(body["verdict"]["errors"], 80);
  EXPECT_EQ(body["verdict"]["max_error_rate"], 0.05);

  std::string slack_text;
  ASSERT_TRUE(WaitUntil([&] {
    for (const WebhookReceiver::Delivery& d : receiver_->Deliveries("/slack/T0/B0/webhook-token")) {
      if (d.body.find(id) != std::string::npos && d.body.find("rolled back") != std::string::npos) slack_text = d.body;
    }
    return !slack_text.empty();
  }, 30s, 200ms));
  const json slack = json::parse(slack_text);
  const std::string lines = slack["blocks"][1]["text"]["text"];
  EXPECT_NE(lines.find("*Verdict:* FAIL — error rate 8.00% of 1000 requests (limit 5.00%)"), std::string::npos)
      << lines;
  EXPECT_NE(lines.find("*Reason:*"), std::string::npos) << lines;
  EXPECT_NE(slack["blocks"].back()["type"], "actions") << "nothing to press after a rollback";
}

}  // namespace
}  // namespace flightdeck::test
