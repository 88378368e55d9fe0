// Unit: JSON text written by hand reads back, through a real parser, as what was written.
#include <map>
#include <optional>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/protojson/json_text.h"

namespace flightdeck::protojson {
namespace {

std::string Quoted(std::string_view s) {
  std::string out;
  AppendJsonString(s, &out);
  return out;
}

TEST(AppendJsonString, EscapesWhatJsonRequiresAndReadsBackAsWritten) {
  EXPECT_EQ(Quoted(""), R"("")");
  EXPECT_EQ(Quoted("plain text, é ✓"), R"("plain text, é ✓")");
  EXPECT_EQ(Quoted("a\"b\\c\nd\te\rf\bg\fh"), R"("a\"b\\c\nd\te\rf\bg\fh")");
  EXPECT_EQ(Quoted(std::string("\x01\x1f\x7f", 3)), R"("\u0001\u001f\u007f")");
  EXPECT_EQ(Quoted(std::string("nul\0byte", 8)), R"("nul\u0000byte")");
  // Every byte below 0x80, and multi-byte UTF-8, round-trips through nlohmann's parser.
  std::string all;
  for (int c = 0; c < 0x80; ++c) all.push_back(static_cast<char>(c));
  all += "é ✓ 🚀";
  EXPECT_EQ(nlohmann::json::parse(Quoted(all)).get<std::string>(), all);
}

TEST(JsonRows, WritesAnArrayOfFlatObjects) {
  JsonRows rows;
  rows.Row();
  rows.Add("fingerprint", "a\"b");
  rows.Add("n", 3LL);
  rows.Add("ends_us", std::optional<long long>());
  rows.Add("starts_us", std::optional<long long>(-1700000000000000LL));
  rows.Add("labels", std::map<std::string, std::string>{{"service", "checkout"}, {"k\\", "v\n"}});
  rows.EndRow();
  rows.Row();
  rows.Add("labels", std::map<std::string, std::string>{});
  rows.AddBool("yes", true);
  rows.AddBool("no", false);
  rows.EndRow();
  const std::string text = rows.Done();
  EXPECT_EQ(text,
            R"([{"fingerprint":"a\"b","n":3,"ends_us":null,"starts_us":-1700000000000000,)"
            R"("labels":{"k\\":"v\n","service":"checkout"}},{"labels":{},"yes":true,"no":false}])");
  const nlohmann::json parsed = nlohmann::json::parse(text);
  EXPECT_EQ(parsed[0]["fingerprint"], "a\"b");
  EXPECT_TRUE(parsed[0]["ends_us"].is_null());
  EXPECT_EQ(parsed[0]["labels"]["k\\"], "v\n");
  EXPECT_EQ(parsed[1]["yes"], true);
  EXPECT_EQ(parsed[1]["no"], false);
}

TEST(JsonRows, NoRowsIsAnEmptyArray) {
  JsonRows rows;
  EXPECT_EQ(rows.Done(), "[]");
}

}  // namespace
}  // namespace flightdeck::protojson
