// Unit: what a client sees of a Release (JSON mapping) and what the service accepts.
#include <gtest/gtest.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <nlohmann/json.hpp>

#include "services/gateway/rest/transcode.h"
#include "services/releases/service.h"
#include "services/releases/validation.h"

namespace flightdeck::releases {
namespace {

v1::Release Sample() {
  v1::Release r;
  r.set_id("0b5c7c1e-2f7e-4a7c-9d3a-6c1f9a1e2b3c");
  r.set_service("checkout");
  r.set_environment("production");
  r.set_version("v2.4.0");
  r.set_commit_sha("9fceb02d");
  r.set_image("registry.example/checkout:9fceb02d");
  r.set_state(v1::Release::CANARY);
  r.set_created_by("ci");
  r.mutable_created_at()->set_seconds(1795000000);
  r.mutable_created_at()->set_nanos(123000000);
  r.mutable_updated_at()->set_seconds(1795000060);
  r.set_trace_id("4bf92f3577b34da6a3ce929d0e0e4736");
  return r;
}

TEST(ReleaseJson, RoundTripsWithSnakeCaseNamesAndEnumNames) {
  v1::Release original = Sample();
  std::string text = gateway::ToJson(original);
  nlohmann::json doc = nlohmann::json::parse(text);
  EXPECT_EQ(doc["state"], "CANARY");
  EXPECT_EQ(doc["commit_sha"], "9fceb02d");
  EXPECT_EQ(doc["created_at"], "2026-11-18T11:06:40.123Z");
  EXPECT_FALSE(doc.contains("commitSha"));

  v1::Release parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(text, &parsed).ok());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(original, parsed));
}

TEST(ReleaseJson, InputAcceptsBothNameStyles) {
  v1::CreateReleaseRequest a;
  v1::CreateReleaseRequest b;
  ASSERT_TRUE(gateway::BuildRequest(R"({"commit_sha":"abcdef1"})", {}, {}, &a).ok());
  ASSERT_TRUE(gateway::BuildRequest(R"({"commitSha":"abcdef1"})", {}, {}, &b).ok());
  EXPECT_EQ(a.commit_sha(), "abcdef1");
  EXPECT_EQ(b.commit_sha(), "abcdef1");
}

v1::CreateReleaseRequest Valid() {
  v1::CreateReleaseRequest r;
  r.set_service("checkout");
  r.set_environment("staging");
  r.set_version("v1.2.3");
  r.set_commit_sha("ABCDEF1");
  return r;
}

std::string ErrorOf(v1::CreateReleaseRequest r) { return ValidateCreate(r).error_message(); }

TEST(ReleaseValidation, AcceptsAndNormalisesAValidRequest) {
  v1::CreateReleaseRequest r = Valid();
  ASSERT_TRUE(ValidateCreate(r).ok());
  EXPECT_EQ(r.commit_sha(), "abcdef1");
}

TEST(ReleaseValidation, NamesTheBadField) {
  auto with = [](auto mutate) {
    v1::CreateReleaseRequest r = Valid();
    mutate(r);
    return ErrorOf(r);
  };
  EXPECT_EQ(with([](auto& r) { r.set_service(""); }).rfind("service:", 0), 0u);
  EXPECT_EQ(with([](auto& r) { r.set_service("Checkout"); }).rfind("service:", 0), 0u);
  EXPECT_EQ(with([](auto& r) { r.set_service("-checkout"); }).rfind("service:", 0), 0u);
  EXPECT_EQ(with([](auto& r) { r.set_service(std::string(64, 'a')); }).rfind("service:", 0), 0u);
  EXPECT_EQ(with([](auto& r) { r.set_environment("prod_eu"); }).rfind("environment:", 0), 0u);
  EXPECT_EQ(with([](auto& r) { r.set_version(""); }).rfind("version:", 0), 0u);
  EXPECT_EQ(with([](auto& r) { r.set_version("v 1"); }).rfind("version:", 0), 0u);
  EXPECT_EQ(with([](auto& r) { r.set_commit_sha("abcdef"); }).rfind("commit_sha:", 0), 0u);
  EXPECT_EQ(with([](auto& r) { r.set_commit_sha(std::string(41, 'a')); }).rfind("commit_sha:", 0), 0u);
  EXPECT_EQ(with([](auto& r) { r.set_commit_sha("abcdefg"); }).rfind("commit_sha:", 0), 0u);
  EXPECT_EQ(with([](auto& r) { r.set_image("a b"); }).rfind("image:", 0), 0u);
  EXPECT_TRUE(with([](auto& r) { r.set_commit_sha(std::string(40, 'f')); }).empty());
  EXPECT_TRUE(with([](auto& r) { r.set_service(std::string(63, 'a')); }).empty());
}

TEST(PageToken, RoundTripsAndRejectsForgeries) {
  ListCursor cursor{1795000000123456, "0b5c7c1e-2f7e-4a7c-9d3a-6c1f9a1e2b3c"};
  ListCursor decoded;
  ASSERT_TRUE(DecodePageToken(EncodePageToken(cursor), &decoded));
  EXPECT_EQ(decoded.created_at_us, cursor.created_at_us);
  EXPECT_EQ(decoded.id, cursor.id);
  EXPECT_FALSE(DecodePageToken("zz", &decoded));
  EXPECT_FALSE(DecodePageToken("abc", &decoded));
  EXPECT_FALSE(DecodePageToken(EncodePageToken({12, "not-a-uuid"}), &decoded));
}

}  // namespace
}  // namespace flightdeck::releases
