// Unit: the gateway's error mapping, error shape and transcoding of REST parameters.
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "flightdeck/v1/incidents.pb.h"
#include "flightdeck/v1/releases.pb.h"
#include "services/gateway/core/auth.h"
#include "services/gateway/core/errors.h"
#include "services/gateway/pagerduty/pagerduty_front.h"
#include "services/gateway/rest/transcode.h"

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

std::string ProtobufJson(const google::protobuf::Message& m) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string out;
  EXPECT_TRUE(google::protobuf::util::MessageToJsonString(m, &out, options).ok());
  return out;
}

// The gateway's own JSON writer must write what protobuf's canonical printer writes.
TEST(JsonWriter, MatchesProtobufsCanonicalMapping) {
  v1::Release r;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(R"({
      "id":"0b5c7c1e-2f7e-4a7c-9d3a-6c1f9a1e2b3c","service":"checkout","environment":"production",
      "version":"v2.4.0 \"quoted\" \u0001 ünï","commit_sha":"9fceb02d","state":"CANARY",
      "kind":"ROLLBACK","created_at":"2026-11-18T11:06:40.123Z","updated_at":"2026-11-18T11:06:40Z",
      "step_started_at":"2026-11-18T11:06:40.000001Z","finished_at":"2026-11-18T11:06:40.000000001Z",
      "canary":{"steps":[{"weight":5,"duration":"600s"},{"weight":50,"duration":"1.500s"}],
                "analysis":{"interval":"60s","max_error_rate":0.05,"max_p99_latency_ms":800.5,
                            "min_requests":100,"failure_limit":1,"inconclusive_limit":3}},
      "driver":{"kind":"external"},"revision":"42","paused":true,"current_weight":-3,
      "next_action":{"action":"canary","weight":5}})", &r).ok());
  EXPECT_EQ(nlohmann::json::parse(ToJson(r)), nlohmann::json::parse(ProtobufJson(r)));

  v1::ReleaseEvent e;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(R"({
      "id":"7","at":"2026-11-18T11:06:40Z","type":"ANALYSIS",
      "data":{"verdict":"FAIL","errors":80,"rate":0.08,"ok":false,"none":null,
              "nested":{"list":[1,"two",{"three":3}]}}})", &e).ok());
  EXPECT_EQ(nlohmann::json::parse(ToJson(e)), nlohmann::json::parse(ProtobufJson(e)));

  // Every escape, at the start, in the middle and at the end of a string, and runs between.
  v1::Release escapes;
  escapes.set_version("\"first\\ then\nnew line\ttab\rreturn\bback\fform\x01\x1f\x7f plain ü \"");
  escapes.set_service("\\");
  escapes.set_environment("no escapes at all");
  escapes.set_commit_sha("");
  EXPECT_EQ(nlohmann::json::parse(ToJson(escapes)), nlohmann::json::parse(ProtobufJson(escapes)));
  EXPECT_NE(ToJson(escapes).find(R"("version":"\"first\\ then\nnew line\ttab\rreturn\bback\fform\u0001\u001f\u007f plain ü \"")"),
            std::string::npos)
      << ToJson(escapes);

  v1::ListReleasesResponse empty;
  EXPECT_EQ(nlohmann::json::parse(ToJson(empty)), nlohmann::json::parse(ProtobufJson(empty)));
  v1::ListReleasesResponse list;
  *list.add_releases() = r;
  *list.add_releases() = v1::Release();
  list.set_next_page_token("abc");
  EXPECT_EQ(nlohmann::json::parse(ToJson(list)), nlohmann::json::parse(ProtobufJson(list)));
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

TEST(Auth, IngestStandsOutsideTheLadder) {
  EXPECT_TRUE(RoleAllows(v1::Token::INGEST, v1::Token::INGEST));
  EXPECT_FALSE(RoleAllows(v1::Token::INGEST, v1::Token::VIEWER));
  EXPECT_FALSE(RoleAllows(v1::Token::INGEST, v1::Token::OPERATOR));
  EXPECT_TRUE(RoleAllows(v1::Token::OPERATOR, v1::Token::INGEST));
  EXPECT_TRUE(RoleAllows(v1::Token::ADMIN, v1::Token::INGEST));
  EXPECT_FALSE(RoleAllows(v1::Token::DEPLOYER, v1::Token::INGEST));
  EXPECT_FALSE(RoleAllows(v1::Token::VIEWER, v1::Token::INGEST));
}

TEST(Transcode, IntakeRoutesIgnoreFieldsTheyDoNotKnow) {
  const std::string body =
      R"({"version":"4","groupKey":"g","newField":{"x":1},
          "alerts":[{"status":"firing","labels":{"alertname":"A"},"startsAt":"2026-11-22T10:00:00Z",
                     "extra":[1]}]})";
  v1::AlertmanagerWebhook strict;
  EXPECT_EQ(BuildRequest(body, {}, {}, &strict).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  v1::AlertmanagerWebhook lenient;
  BuildOptions options;
  options.ignore_unknown_fields = true;
  grpc::Status s = BuildRequest(body, {}, {}, options, &lenient);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(lenient.group_key(), "g");
  ASSERT_EQ(lenient.alerts_size(), 1);
  EXPECT_EQ(lenient.alerts(0).labels().at("alertname"), "A");
  EXPECT_EQ(lenient.alerts(0).starts_at(), "2026-11-22T10:00:00Z");
  // Ignoring unknown fields does not make a malformed body acceptable.
  EXPECT_FALSE(BuildRequest("{\"alerts\": 3}", {}, {}, options, &lenient).ok());
}

TEST(ErrorMapping, PagerDutyInvalidEventShape) {
  auto doc = nlohmann::json::parse(
      PagerDutyErrorJson("routing_key: unknown\npayload.summary: is \"required\"\n"));
  EXPECT_EQ(doc, nlohmann::json::parse(
                     R"({"status":"invalid event","message":"Event object is invalid",
                         "errors":["routing_key: unknown","payload.summary: is \"required\""]})"));
  EXPECT_EQ(nlohmann::json::parse(PagerDutyErrorJson("body: bad"))["errors"].size(), 1u);
}

TEST(Auth, SecretsAreHashedWithSha256) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  std::string a = NewTokenSecret();
  EXPECT_EQ(a.size(), 43u);
  EXPECT_NE(a, NewTokenSecret());
}

}  // namespace
}  // namespace flightdeck::gateway
