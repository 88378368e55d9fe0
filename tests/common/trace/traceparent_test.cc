#include <gtest/gtest.h>

#include <string>

#include "common/trace/trace.h"

namespace flightdeck::trace {
namespace {

constexpr char kValid[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(ParseTraceparent, ReadsTheSpecExample) {
  auto context = ParseTraceparent(kValid);
  ASSERT_TRUE(context.has_value());
  EXPECT_EQ(context->TraceIdHex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(context->SpanIdHex(), "00f067aa0ba902b7");
  EXPECT_TRUE(context->sampled());
  EXPECT_TRUE(context->remote);
  EXPECT_TRUE(context->IsValid());
}

TEST(ParseTraceparent, ReadsUnsampledFlag) {
  auto context = ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  ASSERT_TRUE(context.has_value());
  EXPECT_FALSE(context->sampled());
}

TEST(ParseTraceparent, RejectsWrongLength) {
  std::string s = kValid;
  EXPECT_FALSE(ParseTraceparent(s.substr(0, 54)));
  EXPECT_FALSE(ParseTraceparent(""));
  EXPECT_FALSE(ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01"));
  EXPECT_FALSE(ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01"));
}

TEST(ParseTraceparent, RejectsUppercaseHex) {
  EXPECT_FALSE(ParseTraceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"));
  EXPECT_FALSE(ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01"));
  EXPECT_FALSE(ParseTraceparent("0A-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
}

TEST(ParseTraceparent, RejectsNonHexAndMisplacedDashes) {
  EXPECT_FALSE(ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01"));
  EXPECT_FALSE(ParseTraceparent("00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  EXPECT_FALSE(ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01"));
  EXPECT_FALSE(ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01"));
  EXPECT_FALSE(ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x"));
}

TEST(ParseTraceparent, RejectsVersionFf) {
  EXPECT_FALSE(ParseTraceparent("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
}

TEST(ParseTraceparent, RejectsAllZeroIds) {
  EXPECT_FALSE(ParseTraceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01"));
  EXPECT_FALSE(ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"));
}

TEST(ParseTraceparent, RejectsVersion00WithTrailingData) {
  EXPECT_FALSE(ParseTraceparent(std::string(kValid) + "-extra"));
  EXPECT_FALSE(ParseTraceparent(std::string(kValid) + " "));
}

TEST(ParseTraceparent, AcceptsFutureVersionWithMoreFields) {
  auto longer = ParseTraceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-ever");
  ASSERT_TRUE(longer.has_value());
  EXPECT_EQ(longer->TraceIdHex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_TRUE(longer->sampled());
  EXPECT_TRUE(ParseTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"));
}

TEST(ParseTraceparent, RejectsFutureVersionWithoutDashBeforeMoreFields) {
  EXPECT_FALSE(ParseTraceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x"));
  EXPECT_FALSE(ParseTraceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0"));
}

TEST(ParseTraceparent, KeepsValidTracestate) {
  auto context = ParseTraceparent(kValid, "rojo=00f067aa0ba902b7, congo=t61rcWkgMzE,t@vendor=a b");
  ASSERT_TRUE(context.has_value());
  EXPECT_EQ(context->tracestate, "rojo=00f067aa0ba902b7, congo=t61rcWkgMzE,t@vendor=a b");
}

TEST(ParseTraceparent, ToleratesEmptyTracestateMembers) {
  auto context = ParseTraceparent(kValid, "rojo=1,, ,congo=2");
  ASSERT_TRUE(context.has_value());
  EXPECT_EQ(context->tracestate, "rojo=1,, ,congo=2");
}

TEST(ParseTraceparent, DropsInvalidTracestateButKeepsTraceparent) {
  const char* invalid[] = {
      "Rojo=1",             // uppercase key
      "rojo",               // no '='
      "rojo=1,rojo=2",      // duplicate key
      "rojo=a,b",           // member without '='
      "1abc=x",             // simple key must start with a letter
      "rojo=a\tb",          // tab is not a value character
      "rojo=caf\xc3\xa9",   // non-ASCII value
      "rojo=has=equals",    // '=' not allowed in a value
      "t@Vendor=x",         // uppercase system id
      "t@vendorvendorvend=x",  // system id longer than 14
      "rojo=",              // empty value
  };
  for (const char* state : invalid) {
    auto context = ParseTraceparent(kValid, std::string(state) + ",ok=1");
    ASSERT_TRUE(context.has_value()) << state;
    EXPECT_EQ(context->tracestate, "") << state;
  }
}

TEST(ParseTraceparent, LimitsTracestateTo32Members) {
  std::string state;
  for (int i = 0; i < 32; ++i) state += (i ? "," : "") + std::string("k") + std::to_string(i) + "=v";
  auto at_limit = ParseTraceparent(kValid, state);
  ASSERT_TRUE(at_limit.has_value());
  EXPECT_EQ(at_limit->tracestate, state);
  auto over = ParseTraceparent(kValid, state + ",k32=v");
  ASSERT_TRUE(over.has_value());
  EXPECT_EQ(over->tracestate, "");
}

TEST(ParseTraceparent, LimitsKeyAndValueLength) {
  const std::string key256 = "a" + std::string(255, 'b');
  const std::string value256(256, 'v');
  EXPECT_EQ(ParseTraceparent(kValid, key256 + "=" + value256)->tracestate, key256 + "=" + value256);
  EXPECT_EQ(ParseTraceparent(kValid, key256 + "b=v")->tracestate, "");
  EXPECT_EQ(ParseTraceparent(kValid, "k=" + value256 + "v")->tracestate, "");
}

TEST(FormatTraceparent, RoundTrips) {
  auto context = ParseTraceparent(kValid);
  ASSERT_TRUE(context.has_value());
  EXPECT_EQ(FormatTraceparent(*context), kValid);

  SpanContext made;
  for (size_t i = 0; i < made.trace_id.size(); ++i) made.trace_id[i] = static_cast<uint8_t>(0xf0 + i);
  made.span_id = {0, 1, 2, 3, 4, 5, 6, 0xab};
  made.flags = 0;
  const std::string text = FormatTraceparent(made);
  EXPECT_EQ(text, "00-f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff-00010203040506ab-00");
  auto back = ParseTraceparent(text);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->trace_id, made.trace_id);
  EXPECT_EQ(back->span_id, made.span_id);
  EXPECT_FALSE(back->sampled());
}

TEST(SpanContext, DefaultIsInvalid) {
  SpanContext context;
  EXPECT_FALSE(context.IsValid());
  EXPECT_EQ(context.TraceIdHex(), std::string(32, '0'));
}

}  // namespace
}  // namespace flightdeck::trace
