// Unit: detail documents and stored JSON objects read back as protobuf's own parser reads them.
#include <string>
#include <vector>

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/clock/timestamps.h"
#include "common/db/detail_json.h"
#include "flightdeck/v1/health.pb.h"
#include "flightdeck/v1/releases.pb.h"

namespace flightdeck::db {
namespace {

// A detail document comes back as the message that wrote it, and as protobuf's parser reads it.
TEST(DetailJson, ReadsBackTheMessageThatWroteIt) {
  v1::Release release;
  release.set_id("5918142c-e148-4b8e-955c-c65884e0c565");
  release.set_service("checkout");
  release.set_state(v1::Release::CANARY);
  release.set_current_weight(25);
  SetTimestamp(release.mutable_created_at(), 1764000000123456LL);
  SetTimestamp(release.mutable_updated_at(), -1000001LL);
  release.mutable_canary()->add_steps()->set_weight(10);
  release.mutable_canary()->mutable_steps(0)->mutable_duration()->set_seconds(600);
  release.mutable_canary()->mutable_analysis()->mutable_max_error_rate()->set_value(0.05);
  release.mutable_canary()->mutable_analysis()->mutable_min_requests()->set_value(1LL << 40);
  release.set_require_approval(true);
  v1::HealthTarget target;
  target.set_name("web");
  target.add_expect_status(200);
  target.add_expect_status(204);
  target.set_reuse_connections(false);
  target.mutable_period()->set_seconds(10);
  target.mutable_timeout()->set_nanos(-500000000);
  target.set_status(v1::DEGRADED);
  const std::vector<const google::protobuf::Message*> messages = {&release, &target};
  for (const google::protobuf::Message* written : messages) {
    const std::string text = DetailJson(*written);
    SCOPED_TRACE(text);
    std::unique_ptr<google::protobuf::Message> ours(written->New());
    std::unique_ptr<google::protobuf::Message> theirs(written->New());
    ASSERT_TRUE(FromDetailJson(text, ours.get()));
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(text, theirs.get()).ok());
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*ours, *written)) << ours->ShortDebugString();
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*ours, *theirs)) << theirs->ShortDebugString();
  }
  // A field a newer writer added is ignored; a time with an offset still reads (protobuf's parser).
  v1::Release newer;
  newer.set_version("stale");  // replaced, not merged into
  ASSERT_TRUE(FromDetailJson(R"({"service":"api","added_later":{"x":1},"created_at":"2026-11-22T11:00:00+01:00"})", &newer));
  EXPECT_EQ(newer.service(), "api");
  EXPECT_EQ(newer.version(), "");
  EXPECT_EQ(newer.created_at().seconds(), 1795341600);  // 2026-11-22T10:00:00Z
  EXPECT_FALSE(FromDetailJson("not json", &newer));

  // An element of an array already parsed reads the same, the fallback included.
  const nlohmann::json recent = nlohmann::json::parse(
      "[" + DetailJson(release) + R"(, {"service":"api","created_at":"2026-11-22T11:00:00+01:00"}, 7])");
  v1::Release element;
  ASSERT_TRUE(FromDetailDocument(recent[0], &element));
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(element, release)) << element.ShortDebugString();
  ASSERT_TRUE(FromDetailDocument(recent[1], &element));
  EXPECT_EQ(element.service(), "api");
  EXPECT_EQ(element.created_at().seconds(), 1795341600);
  EXPECT_FALSE(FromDetailDocument(recent[2], &element));
}

TEST(StructFromJson, ReadsWhatProtobufsParserReads) {
  const std::vector<std::string> documents = {
      "{}",
      R"({"from":"PENDING","to":"CANARY","weight":10,"ratio":0.25,"big":12345678901234567890,)"
      R"("huge":1e300,"negative":-7,"ok":true,"no":false,"none":null,"text":"é \"quoted\" \n\u0000",)"
      R"("list":[1,"two",null,[3],{"four":4}],"nested":{"a":{"b":{"c":[]}}},"":"empty key"})",
  };
  for (const std::string& text : documents) {
    SCOPED_TRACE(text);
    google::protobuf::Struct ours;
    google::protobuf::Struct theirs;
    ASSERT_TRUE(StructFromJson(text, &ours));
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(text, &theirs).ok());
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(ours, theirs))
        << "ours:   " << ours.ShortDebugString() << "\ntheirs: " << theirs.ShortDebugString();
  }
}

TEST(StructFromJson, RefusesWhatIsNotAnObject) {
  google::protobuf::Struct out;
  (*out.mutable_fields())["stale"].set_bool_value(true);
  EXPECT_FALSE(StructFromJson("[1,2]", &out));
  EXPECT_FALSE(StructFromJson("not json", &out));
  EXPECT_FALSE(StructFromJson("", &out));
  EXPECT_EQ(out.fields_size(), 0) << "nothing stale is left behind";
  // A key given twice (never in jsonb's text): the last value, where protobuf refuses.
  ASSERT_TRUE(StructFromJson(R"({"dup":1,"dup":2})", &out));
  EXPECT_EQ(out.fields().at("dup").number_value(), 2);
  // Beyond a double's range: protobuf's parser decides (it refuses).
  EXPECT_EQ(StructFromJson(R"({"n":1e400})", &out),
            google::protobuf::util::JsonStringToMessage(R"({"n":1e400})", &out).ok());
}

}  // namespace
}  // namespace flightdeck::db
