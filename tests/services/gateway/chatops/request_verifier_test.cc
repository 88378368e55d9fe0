// Unit: Slack request signatures and Mattermost tokens. Expected signatures are computed here
// with OpenSSL's HMAC directly (not with the code under test), and Slack's published example
// is checked byte for byte.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "services/gateway/chatops/request_verifier.h"

namespace flightdeck::gateway::chatops {
namespace {

// From Slack's "Verifying requests from Slack" page.
constexpr char kSlackExampleSecret[] = "8f742231b10e8888abcd99yyyzzz85a5";
constexpr char kSlackExampleTimestamp[] = "1531420618";
constexpr char kSlackExampleBody[] =
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
constexpr char kSlackExampleSignature[] = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
constexpr long long kExampleNow = 1531420618 + 30;

// The test's own signer: OpenSSL's HMAC over the base string Slack documents.
std::string OpenSslSignature(const std::string& secret, const std::string& ts, const std::string& body) {
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

TEST(SlackSignature, ReproducesSlacksPublishedExample) {
  EXPECT_EQ(SlackSignature(kSlackExampleSecret, kSlackExampleTimestamp, kSlackExampleBody), kSlackExampleSignature);
  EXPECT_EQ(OpenSslSignature(kSlackExampleSecret, kSlackExampleTimestamp, kSlackExampleBody), kSlackExampleSignature);
  Verdict v = VerifySlackRequest({kSlackExampleSecret}, kSlackExampleTimestamp, kSlackExampleSignature,
                                 kSlackExampleBody, kExampleNow);
  EXPECT_TRUE(v.ok) << v.reason;
}

TEST(SlackSignature, AcceptsWhatOpenSslSigns) {
  const std::string secret = "a-signing-secret-of-ours-0123456789";
  for (const std::string body : {std::string(""), std::string("text=approve+3f2a"), std::string(5000, 'x'),
                                 std::string("payload=%7B%22type%22%3A%22block_actions%22%7D")}) {
    std::string ts = "1700000000";
    Verdict v = VerifySlackRequest({secret}, ts, OpenSslSignature(secret, ts, body), body, 1700000000);
    EXPECT_TRUE(v.ok) << v.reason;
  }
}

TEST(SlackSignature, RefusesAWrongSecret) {
  std::string sig = OpenSslSignature("someone-elses-secret", kSlackExampleTimestamp, kSlackExampleBody);
  Verdict v = VerifySlackRequest({kSlackExampleSecret}, kSlackExampleTimestamp, sig, kSlackExampleBody, kExampleNow);
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.reason, "X-Slack-Signature: does not match the request");
}

TEST(SlackSignature, RefusesATamperedBody) {
  std::string body = kSlackExampleBody;
  body.replace(body.find("text="), 5, "text=x");
  Verdict v = VerifySlackRequest({kSlackExampleSecret}, kSlackExampleTimestamp, kSlackExampleSignature, body,
                                 kExampleNow);
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.reason, "X-Slack-Signature: does not match the request");
}

TEST(SlackSignature, RefusesATamperedTimestampOrSignature) {
  EXPECT_FALSE(VerifySlackRequest({kSlackExampleSecret}, "1531420619", kSlackExampleSignature, kSlackExampleBody,
                                  kExampleNow).ok);
  std::string upper = kSlackExampleSignature;
  upper[3] = 'A';  // hex digits are compared exactly
  EXPECT_FALSE(VerifySlackRequest({kSlackExampleSecret}, kSlackExampleTimestamp, upper, kSlackExampleBody,
                                  kExampleNow).ok);
  std::string truncated = std::string(kSlackExampleSignature).substr(0, 40);
  EXPECT_FALSE(VerifySlackRequest({kSlackExampleSecret}, kSlackExampleTimestamp, truncated, kSlackExampleBody,
                                  kExampleNow).ok);
}

TEST(SlackSignature, RefusesStaleAndFutureTimestamps) {
  const long long ts = 1531420618;
  Verdict stale = VerifySlackRequest({kSlackExampleSecret}, kSlackExampleTimestamp, kSlackExampleSignature,
                                     kSlackExampleBody, ts + 301);
  EXPECT_FALSE(stale.ok);
  EXPECT_EQ(stale.reason, "X-Slack-Request-Timestamp: more than 5 minutes from the gateway's clock");
  EXPECT_FALSE(VerifySlackRequest({kSlackExampleSecret}, kSlackExampleTimestamp, kSlackExampleSignature,
                                  kSlackExampleBody, ts - 301).ok);
  // The edges of the window are inside it.
  EXPECT_TRUE(VerifySlackRequest({kSlackExampleSecret}, kSlackExampleTimestamp, kSlackExampleSignature,
                                 kSlackExampleBody, ts + 300).ok);
  EXPECT_TRUE(VerifySlackRequest({kSlackExampleSecret}, kSlackExampleTimestamp, kSlackExampleSignature,
                                 kSlackExampleBody, ts - 300).ok);
}

TEST(SlackSignature, NamesWhatIsMissingOrMalformed) {
  auto reason = [](const std::string& ts, const std::string& sig) {
    return VerifySlackRequest({kSlackExampleSecret}, ts, sig, kSlackExampleBody, kExampleNow).reason;
  };
  EXPECT_EQ(reason("", kSlackExampleSignature), "X-Slack-Request-Timestamp: missing");
  EXPECT_EQ(reason(kSlackExampleTimestamp, ""), "X-Slack-Signature: missing");
  EXPECT_EQ(reason("1531420618.5", kSlackExampleSignature), "X-Slack-Request-Timestamp: not a Unix time in seconds");
  EXPECT_EQ(reason("-5", kSlackExampleSignature), "X-Slack-Request-Timestamp: not a Unix time in seconds");
  EXPECT_EQ(reason(kSlackExampleTimestamp, std::string("v1=") + (kSlackExampleSignature + 3)),
            "X-Slack-Signature: not a v0 signature");
  EXPECT_EQ(VerifySlackRequest({}, kSlackExampleTimestamp, kSlackExampleSignature, kSlackExampleBody, kExampleNow).reason,
            "Slack is not configured here (FLIGHTDECK_SLACK_SIGNING_SECRET)");
}

TEST(SlackSignature, AnyOfSeveralSecretsDuringARotation) {
  const std::vector<std::string> secrets = {"the-new-secret-0123456789abcdef", kSlackExampleSecret};
  EXPECT_TRUE(VerifySlackRequest(secrets, kSlackExampleTimestamp, kSlackExampleSignature, kSlackExampleBody,
                                 kExampleNow).ok);
  std::string sig = OpenSslSignature(secrets[0], kSlackExampleTimestamp, kSlackExampleBody);
  EXPECT_TRUE(VerifySlackRequest(secrets, kSlackExampleTimestamp, sig, kSlackExampleBody, kExampleNow).ok);
}

TEST(MattermostToken, MatchesOnlyAConfiguredToken) {
  const std::vector<std::string> tokens = {"xbxq9tmnsjfy8mcw5bfgsi9rke", "second-token-for-rotation"};
  EXPECT_TRUE(MattermostTokenMatches(tokens, "xbxq9tmnsjfy8mcw5bfgsi9rke"));
  EXPECT_TRUE(MattermostTokenMatches(tokens, "second-token-for-rotation"));
  EXPECT_FALSE(MattermostTokenMatches(tokens, "xbxq9tmnsjfy8mcw5bfgsi9rkf"));
  EXPECT_FALSE(MattermostTokenMatches(tokens, "xbxq9tmnsjfy8mcw5bfgsi9rk"));
  EXPECT_FALSE(MattermostTokenMatches(tokens, ""));
  EXPECT_FALSE(MattermostTokenMatches({}, "anything"));
}

TEST(Secrets, SplitOnCommasAndNewlines) {
  EXPECT_EQ(SplitSecrets(" first-secret , second-secret\nthird-secret\n\n# a comment\n"),
            (std::vector<std::string>{"first-secret", "second-secret", "third-secret"}));
  EXPECT_TRUE(SplitSecrets("").empty());
}

TEST(Secrets, LoadFromTheVariableOrItsFile) {
  auto env = config::Env::FromMap({{"FLIGHTDECK_SLACK_SIGNING_SECRET", "aaaaaaaaaaaa,bbbbbbbbbbbb"}});
  EXPECT_EQ(LoadSecrets(env, "FLIGHTDECK_SLACK_SIGNING_SECRET", 8).size(), 2u);

  std::string path = ::testing::TempDir() + "/slack-secrets";
  std::ofstream(path) << "# rotated 2026-12-01\ncccccccccccc\ndddddddddddd\n";
  auto from_file = config::Env::FromMap({{"FLIGHTDECK_SLACK_SIGNING_SECRET_FILE", path}});
  EXPECT_EQ(LoadSecrets(from_file, "FLIGHTDECK_SLACK_SIGNING_SECRET", 8),
            (std::vector<std::string>{"cccccccccccc", "dddddddddddd"}));

  auto short_one = config::Env::FromMap({{"FLIGHTDECK_SLACK_SIGNING_SECRET", "aaaaaaaaaaaa,short"}});
  try {
    LoadSecrets(short_one, "FLIGHTDECK_SLACK_SIGNING_SECRET", 8);
    ADD_FAILURE() << "a short secret was accepted";
  } catch (const config::ConfigError& e) {
    EXPECT_STREQ(e.what(), "FLIGHTDECK_SLACK_SIGNING_SECRET: entry 2 is shorter than 8 characters");
  }
  auto missing = config::Env::FromMap({{"FLIGHTDECK_SLACK_SIGNING_SECRET_FILE", "/nonexistent/secrets"}});
  EXPECT_THROW(LoadSecrets(missing, "FLIGHTDECK_SLACK_SIGNING_SECRET", 8), config::ConfigError);
  EXPECT_TRUE(LoadSecrets(config::Env::FromMap({}), "FLIGHTDECK_SLACK_SIGNING_SECRET", 8).empty());
}

}  // namespace
}  // namespace flightdeck::gateway::chatops
