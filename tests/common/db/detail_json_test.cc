// Unit: StructFromJson reads a stored JSON object as protobuf's own parser does.
#include <string>
#include <vector>

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "common/db/detail_json.h"

namespace flightdeck::db {
namespace {

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
