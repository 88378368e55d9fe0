#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/config/config.h"
#include "common/net/egress.h"
#include "common/notify/delivery.h"
#include "common/notify/format.h"
#include "common/notify/signature.h"

namespace flightdeck::notify {
namespace {

using Json = nlohmann::json;

// Computed here with OpenSSL's one-shot HMAC, independently of signature.cc's hex encoding.
std::string OpenSslHex(const std::string& key, const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), digest, &len);
  std::string out;
  char buf[3];
  for (unsigned int i = 0; i < len; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", digest[i]);
    out += buf;
  }
  return out;
}

TEST(NotifySignature, KnownVectors) {
  // python3: hmac.new(key, b'<t>.<body>', hashlib.sha256).hexdigest()
  EXPECT_EQ(SignatureHeader("whsec_test", R"({"event":"opened"})", 1700000000),
            "t=1700000000,v1=8ef2fec079686082bc17441b4f4e66f0fc80c79b51fbdce9b394455e63c5012f");
  EXPECT_EQ(SignatureHeader("release-secret", R"({"event":"started"})", 1764900000),
            "t=1764900000,v1=f1944bbaff7708ab18cabe60526ca7003884b9d0cf9f8e9677f3a10ce103b186");
}

TEST(NotifySignature, MatchesOpenSslForAnyBody) {
  for (const std::string& body : {std::string(""), std::string("{}"), std::string(5000, 'x'), std::string("\0\xff", 2)}) {
    EXPECT_EQ(SignatureHeader("k", body, 42), "t=42,v1=" + OpenSslHex("k", "42." + body));
  }
}

TEST(NotifySignature, VerifyRefusesTamperingAndAcceptsRotation) {
  const std::string body = R"({"event":"succeeded"})";
  const std::string header = SignatureHeader("s3cret", body, 1700000000);
  EXPECT_TRUE(VerifySignature("s3cret", body, header));
  EXPECT_FALSE(VerifySignature("s3cret", body + " ", header)) << "tampered body";
  EXPECT_FALSE(VerifySignature("other", body, header)) << "wrong secret";
  std::string moved = header;
  moved.replace(2, 10, "1700000001");
  EXPECT_FALSE(VerifySignature("s3cret", body, moved)) << "the timestamp is signed too";
  EXPECT_FALSE(VerifySignature("s3cret", body, ""));
  EXPECT_FALSE(VerifySignature("s3cret", body, header.substr(0, header.find(','))));
  EXPECT_FALSE(VerifySignature("s3cret", body, "t=abc,v1=" + OpenSslHex("s3cret", "abc." + body)));
  const std::string rotated = header + ",v1=" + OpenSslHex("old", "1700000000." + body);
  EXPECT_TRUE(VerifySignature("s3cret", body, rotated));
  EXPECT_TRUE(VerifySignature("old", body, rotated));
}

TEST(NotifyFormat, SlackBodyEscapesTextAndCarriesButtons) {
  SlackMessage m;
  m.text = "a <b> & c";
  m.heading = "Release of api <v2>";
  m.message = "started by ci & co";
  m.lines = {"*Commit:* `abc`"};
  m.context = "*State:* PENDING";
  m.buttons = {{"Approve", "approve", "rel-1", "primary", ""}, {"Abort", "abort", "rel-1", "danger", "Abort api?"}};
  const Json body = Json::parse(SlackBody(m));
  EXPECT_EQ(body["text"], "a &lt;b&gt; &amp; c");
  ASSERT_EQ(body["blocks"].size(), 4u) << body.dump();
  EXPECT_EQ(body["blocks"][0]["text"]["text"], "*Release of api &lt;v2&gt;*\nstarted by ci &amp; co");
  EXPECT_EQ(body["blocks"][1]["text"]["text"], "*Commit:* `abc`") << "lines are the caller's mrkdwn";
  EXPECT_EQ(body["blocks"][2]["type"], "context");
  const Json actions = body["blocks"][3];
  EXPECT_EQ(actions["type"], "actions");
  EXPECT_EQ(actions["block_id"], "flightdeck_actions");
  ASSERT_EQ(actions["elements"].size(), 2u);
  EXPECT_EQ(actions["elements"][0]["action_id"], "approve");
  EXPECT_EQ(actions["elements"][0]["value"], "rel-1");
  EXPECT_EQ(actions["elements"][0]["style"], "primary");
  EXPECT_FALSE(actions["elements"][0].contains("confirm"));
  EXPECT_EQ(actions["elements"][1]["confirm"]["text"]["text"], "Abort api?");

  SlackMessage bare;
  bare.heading = "h";
  const Json plain = Json::parse(SlackBody(bare));
  ASSERT_EQ(plain["blocks"].size(), 1u) << "no empty sections, context or actions";
}

TEST(NotifyFormat, SlackBodyKeepsTheSectionLimit) {
  SlackMessage m;
  m.lines = {std::string(5000, 'x')};
  const Json body = Json::parse(SlackBody(m));
  EXPECT_LE(body["blocks"][1]["text"]["text"].get<std::string>().size(), 3000u);
}

TEST(NotifyFormat, GenericBodyIsAnEnvelope) {
  const Json body = Json::parse(GenericBody("rolled_back", "canary failed", "release", Json{{"id", "r1"}},
                                            Json{{"verdict", {{"verdict", "FAIL"}}}}));
  EXPECT_EQ(body, Json::parse(R"({"event":"rolled_back","message":"canary failed","release":{"id":"r1"},
                                  "verdict":{"verdict":"FAIL"}})"));
  // Invalid UTF-8 in a title does not lose the notification.
  EXPECT_NO_THROW((void)Json::parse(GenericBody("started", std::string("bad \xff byte"), "release", Json::object())));
}

TEST(NotifyFormat, UrlsShownAsSchemeAndHost) {
  EXPECT_EQ(UrlSchemeAndHost("https://hooks.slack.com/services/T0/B0/secret"), "https://hooks.slack.com");
  EXPECT_EQ(UrlSchemeAndHost("http://user:pw@127.0.0.1:8080/hook?x=1"), "http://127.0.0.1");
  EXPECT_EQ(UrlSchemeAndHost("http://[::1]:9000/hook"), "http://[::1]");
  EXPECT_EQ(UrlSchemeAndHost("https://example.com#frag"), "https://example.com");
  EXPECT_EQ(UrlSchemeAndHost("not a url"), "");
}

TEST(NotifyDelivery, EgressRefusalFailsTheAttemptWithoutTheUrl) {
  const net::EgressPolicy egress =
      net::EgressPolicy::FromEnv(config::Env::FromMap({{"FLIGHTDECK_EGRESS_DENY", "127.0.0.0/8"}}), {});
  DeliveryRequest request;
  request.url = "http://127.0.0.1:9/hooks/very-secret-path";
  request.body = "{}";
  request.secret = "k";
  request.timeout = std::chrono::milliseconds(5000);
  request.egress = &egress;
  const DeliveryResult result = Deliver(request);
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.http_status, 0);
  EXPECT_NE(result.error.find("127.0.0.1"), std::string::npos) << result.error;
  EXPECT_EQ(result.error.find("very-secret-path"), std::string::npos) << result.error;
  EXPECT_NE(UrlRefusal(&egress, request.url), "");
  EXPECT_EQ(UrlRefusal(nullptr, request.url), "");
}

}  // namespace
}  // namespace flightdeck::notify
