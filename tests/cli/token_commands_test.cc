// fdctl token create|list|revoke against a fake gateway.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/cli/fake_gateway.h"
#include "tests/cli/fdctl_harness.h"

namespace flightdeck::cli {
namespace {

using testing::CannedResponse;
using testing::FakeGateway;
using testing::FdctlTest;
using testing::Outcome;
using testing::RecordedRequest;

constexpr const char* kSecret = "fd_9Xq2LmT7vR4pW8sK1nB6yC3dF5gH0jZa";

class TokenCommandsTest : public FdctlTest {
 protected:
  TokenCommandsTest()
      : gateway_([](const RecordedRequest& r) {
          if (r.method == "POST" && r.target == "/v1/tokens") {
            const auto body = nlohmann::json::parse(r.body);
            return CannedResponse{
                200, nlohmann::json{{"id", "7"},
                                    {"name", body["name"]},
                                    {"role", body["role"]},
                                    {"created_by", "admin"},
                                    {"created_at", "2026-03-01T12:00:00.25Z"},
                                    {"secret", kSecret}}
                         .dump()};
          }
          if (r.method == "GET" && r.target == "/v1/tokens") {
            return CannedResponse{200, R"({"tokens":[
              {"id":"7","name":"ci-pipeline","role":"DEPLOYER","created_by":"admin",
               "created_at":"2026-03-01T12:00:00.25Z","secret":""},
              {"id":"8","name":"am","role":"INGEST","created_by":"admin",
               "created_at":"2026-03-02T08:30:00Z","secret":""}]})"};
          }
          if (r.method == "DELETE" && r.target == "/v1/tokens/ci-pipeline") {
            return CannedResponse{200, "{}"};
          }
          return CannedResponse{404, R"({"error":{"code":"NOT_FOUND","message":"token nope not found"}})"};
        }) {
    env_["FLIGHTDECK_URL"] = gateway_.url();
  }

  FakeGateway gateway_;
};

TEST_F(TokenCommandsTest, CreateSendsNameAndRoleAndShowsTheSecretOnceWithAWarning) {
  Outcome o = Fdctl({"token", "create", "ci-pipeline", "--role", "deployer"});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  const RecordedRequest r = gateway_.requests().at(0);
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(nlohmann::json::parse(r.body),
            nlohmann::json::parse(R"({"name":"ci-pipeline","role":"DEPLOYER"})"));
  EXPECT_EQ(o.out,
            "Created token ci-pipeline (DEPLOYER).\n\n"
            "    " + std::string(kSecret) + "\n\n"
            "This secret is shown only now and cannot be shown again: store it (in your CI's "
            "secret store, or `fdctl login --token -`) before you go on.\n");

  o = Fdctl({"token", "create", "ci-pipeline", "--role", "DEPLOYER", "--json"});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(nlohmann::json::parse(o.out)["secret"], kSecret) << "scripts read it from --json";
}

TEST_F(TokenCommandsTest, CreateNeedsANameAndARole) {
  Outcome o = Fdctl({"token", "create", "--role", "VIEWER"});
  EXPECT_EQ(o.code, kExitUsage);
  EXPECT_NE(o.err.find("missing NAME"), std::string::npos) << o.err;
  o = Fdctl({"token", "create", "bot"});
  EXPECT_EQ(o.code, kExitUsage);
  EXPECT_NE(o.err.find("--role is required"), std::string::npos) << o.err;
  EXPECT_TRUE(gateway_.requests().empty());
}

TEST_F(TokenCommandsTest, ListPrintsATableWithoutSecrets) {
  Outcome o = Fdctl({"token", "list"});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(o.out,
            "NAME         ROLE      CREATED BY  CREATED               ID\n"
            "ci-pipeline  DEPLOYER  admin       2026-03-01T12:00:00Z  7\n"
            "am           INGEST    admin       2026-03-02T08:30:00Z  8\n");
}

TEST_F(TokenCommandsTest, RevokeDeletesByNameAndANotFoundNameFails) {
  Outcome o = Fdctl({"token", "revoke", "ci-pipeline"});
  ASSERT_EQ(o.code, kExitOk) << o.err;
  EXPECT_EQ(gateway_.requests().back().method, "DELETE");
  EXPECT_EQ(gateway_.requests().back().target, "/v1/tokens/ci-pipeline");
  EXPECT_EQ(o.out.rfind("Revoked token ci-pipeline.", 0), 0u) << o.out;

  o = Fdctl({"token", "revoke", "nope"});
  EXPECT_EQ(o.code, kExitError);
  EXPECT_EQ(o.err, "error: NOT_FOUND: token nope not found\n");
}

}  // namespace
}  // namespace flightdeck::cli
