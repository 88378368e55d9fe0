// Unit: the gateway's error mapping, error shape and transcoding of REST parameters.
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <google/protobuf/util/field_comparator.h>
#include <google/protobuf/util/message_differencer.h>
#include <google/protobuf/wrappers.pb.h>

#include "flightdeck/v1/backups.pb.h"
#include "flightdeck/v1/gateway.pb.h"
#include "flightdeck/v1/health.pb.h"
#include "flightdeck/v1/incidents.pb.h"
#include "flightdeck/v1/releases.pb.h"
#include "common/protojson/reader.h"
#include "common/text/utf8.h"
#include "services/gateway/core/auth.h"
#include "services/gateway/core/call.h"
#include "services/gateway/core/errors.h"
#include "services/gateway/core/storable.h"
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

// Percent-decoding can spell bytes that are not UTF-8 (`?service=%ff`); a protobuf string
// holding them cannot be read by the service, which answered INTERNAL.
TEST(Transcode, ParametersThatAreNotUtf8AreRefusedByName) {
  v1::ListReleasesRequest request;
  grpc::Status s = BuildRequest("", {}, {{"service", "api\xff"}}, &request);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message().rfind("service:", 0), 0u) << s.error_message();
  EXPECT_TRUE(text::IsUtf8(s.error_message())) << "the message quotes the value repaired";
  v1::GetReleaseRequest get;
  s = BuildRequest("", {{"id", "\xc0\xaf"}}, {}, &get);  // an overlong '/'
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message().rfind("id:", 0), 0u) << s.error_message();
  s = BuildRequest("", {}, {{"page_size", "\xff"}}, &request);
  EXPECT_EQ(s.error_message().rfind("page_size:", 0), 0u) << s.error_message();
  EXPECT_TRUE(text::IsUtf8(s.error_message()));
  s = BuildRequest("", {}, {{"col\xffour", "red"}}, &request);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(text::IsUtf8(s.error_message())) << "an unknown parameter's name is quoted repaired too";
  ASSERT_TRUE(BuildRequest("", {}, {{"service", "caf\xc3\xa9"}}, &request).ok()) << "UTF-8 passes";
  EXPECT_EQ(request.service(), "caf\xc3\xa9");
}

std::string NulField(const google::protobuf::Message& m) {
  return FieldWithNul(m.GetDescriptor(), m.SerializeAsString());
}

TEST(FieldWithNul, NamesTheFirstStringThatHoldsOne) {
  v1::DeclareIncidentRequest declare;
  declare.set_title("fine");
  EXPECT_EQ(NulField(declare), "");
  declare.set_summary(std::string("x\0y", 3));
  EXPECT_EQ(NulField(declare), "summary");

  v1::AlertmanagerWebhook webhook;
  (*webhook.mutable_common_labels())["team"] = "sre";
  webhook.set_truncated_alerts(0x100);  // a varint whose bytes hold a zero is not a string
  webhook.add_alerts()->set_status("firing");
  auto* alert = webhook.add_alerts();
  (*alert->mutable_labels())["alertname"] = "Up";
  EXPECT_EQ(NulField(webhook), "");
  (*alert->mutable_labels())["note"] = std::string("a\0b", 3);
  EXPECT_EQ(NulField(webhook), "alerts[1].labels[\"note\"]");
  alert->mutable_labels()->erase("note");
  (*alert->mutable_annotations())[std::string("k\0", 2)] = "v";
  EXPECT_EQ(NulField(webhook), "alerts[1].annotations (a key)");
  alert->mutable_annotations()->clear();
  webhook.add_alerts()->set_fingerprint(std::string("\0", 1));
  EXPECT_EQ(NulField(webhook), "alerts[2].fingerprint");

  google::protobuf::BytesValue bytes;  // bytes may hold anything
  bytes.set_value(std::string("\0\0", 2));
  EXPECT_EQ(NulField(bytes), "");
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

// A request made by NewCallMessage lives on its own arena and is built, in full, from a body as a heap
// message is (the fallback to protobuf's parser included); a heap message still converts.
TEST(Transcode, RequestsOnTheirOwnArenaReadAsHeapMessagesDo) {
  const std::string body =
      R"({"version":"4","alerts":[{"status":"firing","labels":{"alertname":"A","service":"checkout"},)"
      R"("annotations":{"summary":"s"},"startsAt":"2026-11-22T10:00:00Z"}]})";
  MessagePtr on_arena = NewCallMessage(v1::AlertmanagerWebhook::descriptor());
  ASSERT_NE(on_arena->GetArena(), nullptr);
  v1::AlertmanagerWebhook on_heap;
  ASSERT_TRUE(BuildRequest(body, {}, {}, on_arena.get()).ok());
  ASSERT_TRUE(BuildRequest(body, {}, {}, &on_heap).ok());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*on_arena, on_heap));
  MessagePtr fallback = NewCallMessage(v1::Silence::descriptor());  // a time with an offset: protobuf's parser
  ASSERT_TRUE(BuildRequest(R"({"comment":"deploy","ends_at":"2026-11-22T11:00:00+01:00"})", {}, {}, fallback.get()).ok());
  EXPECT_EQ(static_cast<v1::Silence&>(*fallback).comment(), "deploy");
  EXPECT_EQ(static_cast<v1::Silence&>(*fallback).ends_at().seconds(), 1795341600);
  MessagePtr converted = std::make_unique<v1::PagerDutyEvent>();
  EXPECT_EQ(converted->GetArena(), nullptr);
}

// What protobuf's own parser makes of `body` (the reference protojson::ReadPlain must match).
grpc::Status ProtobufParse(const std::string& body, bool ignore_unknown, google::protobuf::Message* out) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = ignore_unknown;
  auto status = google::protobuf::util::JsonStringToMessage(body, out, options);
  return status.ok() ? grpc::Status::OK : grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::string(status.message()));
}

// Equal field by field, a NaN equal to a NaN.
bool SameMessage(const google::protobuf::Message& a, const google::protobuf::Message& b) {
  google::protobuf::util::DefaultFieldComparator comparator;
  comparator.set_treat_nan_as_equal(true);
  google::protobuf::util::MessageDifferencer differencer;
  differencer.set_field_comparator(&comparator);
  return differencer.Compare(a, b);
}

struct JsonCase {
  const google::protobuf::Message* type;
  std::string body;
  bool ignore_unknown = false;
};

// The bodies the gateway's own reader takes: each must come out exactly as protobuf reads it.
TEST(JsonReader, ReadsPlainBodiesExactlyAsProtobufDoes) {
  const std::vector<JsonCase> cases = {
      {&v1::AlertmanagerWebhook::default_instance(),
       R"({"version":"4","groupKey":"{}:{alertname=\"A\"}","truncatedAlerts":2,"status":"firing",
           "receiver":"fd","groupLabels":{"alertname":"A"},"commonLabels":{},"externalURL":"http://am",
           "newField":[1,{"x":null}],
           "alerts":[{"status":"firing","labels":{"alertname":"A","instance":"i:1","é":"ü\n\u0000"},
                      "annotations":{"summary":"s"},"startsAt":"2026-11-22T10:00:00Z",
                      "endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://p","fingerprint":"0a"},
                     {"status":"resolved","labels":{},"fingerprint":"0b","extra":true}]})",
       true},
      {&v1::CreateReleaseRequest::default_instance(),
       R"({"service":"api","environment":"prod","version":"1.2.3","commitSha":"abc","image":"r/api:1",
           "require_approval":false,"driver":{"kind":"command"},"queue":true,
           "canary":{"steps":[{"weight":10,"duration":"600s"},{"weight":"50","duration":"1.5s"},
                              {"weight":100,"duration":"0.000000001s"}],
                     "analysis":{"interval":"-0.250s","max_error_rate":0.05,"max_p99_latency_ms":250,
                                 "min_requests":"100","failure_limit":2,"inconclusive_limit":null}}})"},
      {&v1::ListReleasesRequest::default_instance(), R"({"service":"api","page_size":"20","page_token":""})"},
      {&v1::HealthTarget::default_instance(),
       R"({"name":"web","kind":"HTTP","url":"http://x/healthz","expect_status":[200,"204"],
           "reuse_connections":false,"max_latency":"2s","period":"10s","failure_threshold":3,
           "status":"DEGRADED"})"},
      {&v1::BackupTarget::default_instance(),
       R"({"name":"db","retention":{"keep_last":7,"keep_days":"30"},"rpo_target":"86400s",
           "verify_after_backup":true})"},
      {&v1::CreateTokenRequest::default_instance(), R"({"name":"ci","role":"DEPLOYER"})"},
      {&v1::ReleaseEvent::default_instance(), R"({"id":"7","at":"2024-02-29T12:34:56.123456Z","type":"X"})"},
      {&v1::ReleaseEvent::default_instance(), R"({"at":"1970-01-01T00:00:00Z"})"},
      {&v1::ReleaseEvent::default_instance(), R"({"at":"0001-01-01T00:00:00.5Z"})"},
      {&v1::ReleaseEvent::default_instance(), R"({"at":"9999-12-31T23:59:59.999999999Z"})"},
      {&v1::ReleaseEvent::default_instance(), R"({"at":"1969-12-31T23:59:59.000000001Z"})"},
  };
  for (const JsonCase& c : cases) {
    SCOPED_TRACE(c.body);
    std::unique_ptr<google::protobuf::Message> ours(c.type->New());
    std::unique_ptr<google::protobuf::Message> theirs(c.type->New());
    nlohmann::json doc = nlohmann::json::parse(c.body);
    ASSERT_TRUE(protojson::ReadPlain(doc, c.ignore_unknown, ours.get())) << "left to protobuf's parser";
    grpc::Status s = ProtobufParse(c.body, c.ignore_unknown, theirs.get());
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_TRUE(SameMessage(*ours, *theirs))
        << "ours:   " << ours->ShortDebugString() << "\ntheirs: " << theirs->ShortDebugString();
    EXPECT_EQ(ours->SerializeAsString().size(), theirs->SerializeAsString().size());
  }
}

// Whatever the reader leaves alone goes to protobuf's parser, so BuildRequest answers as it did
// before the reader existed: the same message, or the same refusal. (Then, as now, protobuf
// reads the document as nlohmann wrote it again, keys sorted: of two spellings of one field,
// the later in that order wins.)
TEST(JsonReader, LeavesTheUnusualToProtobufsParser) {
  const std::vector<JsonCase> cases = {
      {&v1::ReleaseEvent::default_instance(), R"({"id":"7","at":"2026-11-22T10:00:00.5+01:00"})"},
      {&v1::ReleaseEvent::default_instance(), R"({"data":{"a":[1,"x",null,{"b":false}]}})"},
      {&v1::ReleaseEvent::default_instance(), R"({"at":"2026-02-29T00:00:00Z"})"},
      {&v1::ReleaseEvent::default_instance(), R"({"at":"2026-11-22t10:00:00z"})"},
      {&v1::ReleaseEvent::default_instance(), R"({"at":"2026-06-30T23:59:60Z"})"},
      {&v1::ReleaseEvent::default_instance(), R"({"at":"2026-11-22T10:00:00.Z"})"},
      {&v1::ReleaseEvent::default_instance(), R"({"at":"2026-11-22T10:00:00.1234567890Z"})"},
      {&v1::ReleaseEvent::default_instance(), R"({"at":"0000-01-01T00:00:00Z"})"},
      {&v1::PagerDutyPayload::default_instance(), R"({"summary":"s","custom_details":null})"},
      {&v1::ListReleasesRequest::default_instance(), R"({"service":12})"},
      {&v1::ListReleasesRequest::default_instance(), R"({"page_size":1.0})"},
      {&v1::ListReleasesRequest::default_instance(), R"({"page_size":1e1})"},
      {&v1::ListReleasesRequest::default_instance(), R"({"page_size":2147483648})"},
      {&v1::ListReleasesRequest::default_instance(), R"({"page_size":" 5"})"},
      {&v1::CreateReleaseRequest::default_instance(), R"({"queue":"true"})"},
      {&v1::CreateReleaseRequest::default_instance(), R"({"commit_sha":"a","commitSha":"b"})"},
      {&v1::CreateReleaseRequest::default_instance(), R"({"canary":{"steps":[null]}})"},
      {&v1::CreateReleaseRequest::default_instance(), R"({"canary":{"steps":[{"duration":"1.0000000001s"}]}})"},
      {&v1::CreateReleaseRequest::default_instance(), R"({"canary":{"steps":[{"duration":"315576000001s"}]}})"},
      {&v1::CreateReleaseRequest::default_instance(), R"({"canary":{"analysis":{"max_error_rate":-0}}})"},
      {&v1::CreateReleaseRequest::default_instance(), R"({"canary":{"analysis":{"max_error_rate":"NaN"}}})"},
      {&v1::HealthTarget::default_instance(), R"({"expect_status":[200,-1.5]})"},
      {&v1::HealthTarget::default_instance(), R"({"status":1})"},
      {&v1::AlertmanagerWebhook::default_instance(), R"({"alerts":[{"labels":{"a":null}}]})"},
      {&v1::AlertmanagerWebhook::default_instance(), R"({"alerts":[{"labels":{"a":1}}]})"},
      {&v1::AlertmanagerWebhook::default_instance(), R"({"version":"4","":1})", true},  // found by fuzz_transcode
  };
  for (const JsonCase& c : cases) {
    SCOPED_TRACE(c.body);
    std::unique_ptr<google::protobuf::Message> scratch(c.type->New());
    EXPECT_FALSE(protojson::ReadPlain(nlohmann::json::parse(c.body), c.ignore_unknown, scratch.get()));
    std::unique_ptr<google::protobuf::Message> built(c.type->New());
    std::unique_ptr<google::protobuf::Message> theirs(c.type->New());
    BuildOptions options;
    options.ignore_unknown_fields = c.ignore_unknown;
    grpc::Status b = BuildRequest(c.body, {}, {}, options, built.get());
    grpc::Status t = ProtobufParse(nlohmann::json::parse(c.body).dump(), c.ignore_unknown, theirs.get());
    ASSERT_EQ(b.ok(), t.ok()) << b.error_message() << " / " << t.error_message();
    if (b.ok()) {
      EXPECT_TRUE(SameMessage(*built, *theirs))
          << "built:  " << built->ShortDebugString() << "\ntheirs: " << theirs->ShortDebugString();
    } else {
      EXPECT_EQ(b.error_message(), "body: " + t.error_message());
    }
  }
  // A body that is not UTF-8 never reaches either reader as text protobuf would accept.
  v1::CreateReleaseRequest request;
  EXPECT_EQ(BuildRequest("{\"service\":\"\xff\"}", {}, {}, &request).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
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
