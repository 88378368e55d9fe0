#include "common/text/utf8.h"

#include <gtest/gtest.h>

namespace flightdeck::text {
namespace {

TEST(Utf8Test, KeepsWellFormedSequencesOfEveryLength) {
  const std::string text = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x9A\x80";  // a é € 🚀
  EXPECT_TRUE(IsUtf8(text));
  EXPECT_EQ(ToUtf8(text), text);
  EXPECT_EQ(Utf8SequenceLength(text, 0), 1u);
  EXPECT_EQ(Utf8SequenceLength(text, 1), 2u);
  EXPECT_EQ(Utf8SequenceLength(text, 3), 3u);
  EXPECT_EQ(Utf8SequenceLength(text, 6), 4u);
  EXPECT_TRUE(IsUtf8(""));
  EXPECT_TRUE(IsUtf8(std::string("nul\0inside", 10)));  // NUL is UTF-8; PostgreSQL text is another matter
}

TEST(Utf8Test, RefusesWhatUnicodeTable3_7Refuses) {
  for (const std::string bad : {"\x80", "\xBF", "\xC0\xAF", "\xC1\xBF", "\xE0\x80\xAF", "\xED\xA0\x80",
                                "\xF0\x80\x80\xAF", "\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xFF",
                                "\xE2\x82", "\xF0\x9F\x9A"}) {
    EXPECT_FALSE(IsUtf8(bad)) << testing::PrintToString(bad);
    EXPECT_EQ(Utf8SequenceLength(bad, 0), 0u) << testing::PrintToString(bad);
  }
  // The edges that are allowed.
  for (const std::string good : {"\xC2\x80", "\xE0\xA0\x80", "\xED\x9F\xBF", "\xEE\x80\x80",
                                 "\xF0\x90\x80\x80", "\xF4\x8F\xBF\xBF"}) {
    EXPECT_TRUE(IsUtf8(good)) << testing::PrintToString(good);
  }
}

TEST(Utf8Test, ReplacesEachByteOutsideAWellFormedSequence) {
  const std::string r(kReplacementCharacter);
  // A truncated three-byte sequence is two bad bytes, then the text goes on.
  EXPECT_EQ(ToUtf8("b\xE2\x82" "c"), "b" + r + r + "c");
  EXPECT_EQ(ToUtf8("\xED\xA0\x80ok"), r + r + r + "ok");
  EXPECT_EQ(ToUtf8("x\xFFy", "?"), "x?y");
  EXPECT_TRUE(IsUtf8(ToUtf8("\xC0\xAF\xF4\x90\x80\x80\xE2\x82")));
}

TEST(Utf8Test, StorableTextHasNeitherBadBytesNorNul) {
  const std::string r(kReplacementCharacter);
  EXPECT_EQ(ToUtf8(std::string("a\0b", 3)), std::string("a\0b", 3)) << "a NUL is well-formed UTF-8";
  EXPECT_EQ(ToStorableText(std::string("a\0b\xFF", 4)), "a" + r + "b" + r);
  EXPECT_EQ(ToStorableText("caf\xC3"), "caf" + r) << "a character cut at its first byte";
  EXPECT_EQ(ToStorableText("caf\xC3\xA9"), "caf\xC3\xA9");
}

TEST(Utf8Test, CountsAndCutsCharactersNotBytes) {
  const std::string e = "\xC3\xA9";            // é, two bytes
  const std::string rocket = "\xF0\x9F\x9A\x80";  // four bytes
  EXPECT_EQ(CharacterCount(""), 0u);
  EXPECT_EQ(CharacterCount("abc"), 3u);
  EXPECT_EQ(CharacterCount("a" + e + rocket), 3u);
  EXPECT_EQ(CharacterPrefix("a" + e + rocket, 0), "");
  EXPECT_EQ(CharacterPrefix("a" + e + rocket, 2), "a" + e);  // never inside the rocket
  EXPECT_EQ(CharacterPrefix("a" + e + rocket, 3), "a" + e + rocket);
  EXPECT_EQ(CharacterPrefix("a" + e + rocket, 9), "a" + e + rocket);
}

}  // namespace
}  // namespace flightdeck::text
