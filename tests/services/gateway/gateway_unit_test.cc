// Unit: the gateway's error mapping, error shape and transcoding of REST parameters.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "flightdeck/v1/releases.pb.h"
#include "services/gateway/auth.h"
#include "services/gateway/errors.h"
#include "services/gateway/transcode.h"

namespace flightdeck::gateway {
namespace {

TEST(ErrorMapping, FollowsGrpcGateway) {
  EXPECT_EQ(HttpStatusFor(grpc::StatusCode::INVALID_ARGUMENT), 400);
  EXPECT_EQ(HttpStatusFor(grpc::StatusCode::UNAUTHENTICATED), 401);
  EXPECT_EQ(HttpStatusFor(grpc::StatusCode::PERMISSION_DENIED), 403);
  EXPECT_EQ(HttpStatusFor(grpc::StatusCode::NOT_FOUND), 404);
  EXPECT_EQ(HttpStatusFor(grpc::StatusCode::ALREADY_EXISTS), 409);
  EXPECT_EQ(HttpStatusFor(grpc::StatusCode::ABORTED), 409);
  EXPECT_EQ(HttpStatusFor(grpc::StatusCode::FAILED_PRECONDITION), 409);
  EXPECT_EQ(HttpStatusFor(grpc::StatusCode::RESOURCE_EXHAUSTED), 429);
  EXPECT_EQ(HttpStatusFor(grpc::StatusCode::UNAVAILABLE), 503);
  EXPECT_EQ(HttpStatusFor(grpc::StatusCode::DEADLINE_EXCEEDED), 504);
  EXPECT_EQ(HttpStatusFor(grpc::StatusCode::INTERNAL), 500);
  EXPECT_EQ(HttpStatusFor(grpc::StatusCode::UNIMPLEMENTED), 501);
}

TEST(ErrorMapping, OneJsonShape) {
  auto doc = nlohmann::json::parse(
      ErrorJson(grpc::StatusCode::FAILED_PRECONDITION, "release is \"SUCCEEDED\"", {"hint"}));
  EXPECT_EQ(doc["error"]["code"], "FAILED_PRECONDITION");
  EXPECT_EQ(doc["error"]["message"], "release is \"SUCCEEDED\"");
  EXPECT_EQ(doc["error"]["details"], nlohmann::json::array({"hint"}));
  auto empty = nlohmann::json::parse(ErrorJson(grpc::StatusCode::NOT_FOUND, "x"));
  EXPECT_TRUE(empty["error"]["details"].is_array());
}

TEST(Transcode, PathAndQueryParametersFillTheMessage) {
  v1::ListReleasesRequest request;
  grpc::Status s = BuildRequest("", {}, {{"service", "api"}, {"page_size", "20"}}, &request);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(request.service(), "api");
  EXPECT_EQ(request.page_size(), 20);

  v1::GetReleaseRequest get;
  ASSERT_TRUE(BuildRequest("", {{"id", "abc"}}, {}, &get).ok());
  EXPECT_EQ(get.id(), "abc");
}

TEST(Transcode, BadParametersNameThemselves) {
  v1::ListReleasesRequest request;
  grpc::Status s = BuildRequest("", {}, {{"page_size", "ten"}}, &request);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message().rfind("page_size:", 0), 0u);
  s = BuildRequest("", {}, {{"colour", "red"}}, &request);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("colour"), std::string::npos);
  s = BuildRequest(R"({"service": 12})", {}, {}, &request);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message().rfind("body:", 0), 0u);
  v1::CreateTokenRequest token;
  s = BuildRequest("", {}, {{"role", "WIZARD"}}, &token);
  EXPECT_NE(s.error_message().find("VIEWER"), std::string::npos) << "lists the accepted values";
}

TEST(Auth, BearerTokenParsing) {
  EXPECT_EQ(BearerToken("Bearer abc").value_or(""), "abc");
  EXPECT_EQ(BearerToken("bearer  abc ").value_or(""), "abc");
  EXPECT_FALSE(BearerToken("Basic abc").has_value());
  EXPECT_FALSE(BearerToken("Bearer ").has_value());
  EXPECT_FALSE(BearerToken("").has_value());
}

TEST(Auth, RolesAreOrdered) {
  EXPECT_TRUE(RoleAllows(v1::Token::ADMIN, v1::Token::DEPLOYER));
  EXPECT_TRUE(RoleAllows(v1::Token::OPERATOR, v1::Token::DEPLOYER));
  EXPECT_TRUE(RoleAllows(v1::Token::DEPLOYER, v1::Token::DEPLOYER));
  EXPECT_FALSE(RoleAllows(v1::Token::VIEWER, v1::Token::DEPLOYER));
  EXPECT_FALSE(RoleAllows(v1::Token::OPERATOR, v1::Token::ADMIN));
}

TEST(Auth, SecretsAreHashedWithSha256) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  std::string a = NewTokenSecret();
  EXPECT_EQ(a.size(), 43u);
  EXPECT_NE(a, NewTokenSecret());
}

}  // namespace
}  // namespace flightdeck::gateway
