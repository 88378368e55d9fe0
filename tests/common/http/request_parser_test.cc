// Unit: the HTTP/1.1 request parser: framing, limits, and the inputs used to smuggle requests.
#include "common/http/request_parser.h"

#include <gtest/gtest.h>

namespace flightdeck::http {
namespace {

ParseLimits Limits() { return ParseLimits{1024, 64}; }

TEST(RequestParser, AWholeRequestAndWhatFollowsIt) {
  std::string two = "POST /v1/x?a=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\n\r\n";
  ParseOutcome first = ParseRequest(two, Limits());
  ASSERT_EQ(first.kind, ParseOutcome::kRequest);
  EXPECT_EQ(first.request.method, "POST");
  EXPECT_EQ(first.request.path, "/v1/x");
  EXPECT_EQ(first.request.query, "a=1");
  EXPECT_EQ(first.request.body, "abc");
  EXPECT_EQ(first.request.Header("host"), "h");
  EXPECT_TRUE(first.keep_alive);
  ParseOutcome second = ParseRequest(std::string_view(two).substr(first.consumed), Limits());
  ASSERT_EQ(second.kind, ParseOutcome::kRequest);
  EXPECT_EQ(second.request.method, "GET");
}

TEST(RequestParser, WaitsForMoreBytesAndAsksForContinueOnlyWhenTold) {
  EXPECT_EQ(ParseRequest("GET / HTTP/1.1\r\nHost", Limits()).kind, ParseOutcome::kIncomplete);
  ParseOutcome waiting = ParseRequest("POST / HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nab", Limits());
  EXPECT_EQ(waiting.kind, ParseOutcome::kIncomplete);
  EXPECT_TRUE(waiting.expects_continue);
  EXPECT_FALSE(ParseRequest("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n", Limits()).expects_continue);
}

TEST(RequestParser, ChunkedBodiesAreDecoded) {
  ParseOutcome r = ParseRequest(
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n1\r\nd\r\n0\r\nTrailer: t\r\n\r\n", Limits());
  ASSERT_EQ(r.kind, ParseOutcome::kRequest);
  EXPECT_EQ(r.request.body, "abcd");
  EXPECT_EQ(ParseRequest("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab", Limits()).kind,
            ParseOutcome::kIncomplete);
}

TEST(RequestParser, RefusesSmugglingShapesAndOversizes) {
  struct Case {
    const char* bytes;
    int status;
  } cases[] = {
      {"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nContent-Length: +3\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n", 400},
      {"GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nA b\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nA: b\x01\r\n\r\n", 400},
      {"GET /a\x01 HTTP/1.1\r\n\r\n", 400},
      {"GET / HTTP/2.0\r\n\r\n", 400},
      {"GET\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nContent-Length: 65\r\n\r\n", 413},
      {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n41\r\n", 413},
  };
  for (const Case& c : cases) {
    ParseOutcome r = ParseRequest(c.bytes, Limits());
    EXPECT_EQ(r.kind, ParseOutcome::kError) << c.bytes;
    EXPECT_EQ(r.status, c.status) << c.bytes;
  }
  EXPECT_EQ(ParseRequest(std::string(2000, 'a'), Limits()).status, 431);
}

TEST(RequestParser, KeepAliveFollowsTheVersionAndConnectionHeader) {
  EXPECT_TRUE(ParseRequest("GET / HTTP/1.1\r\n\r\n", Limits()).keep_alive);
  EXPECT_FALSE(ParseRequest("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", Limits()).keep_alive);
  EXPECT_FALSE(ParseRequest("GET / HTTP/1.0\r\n\r\n", Limits()).keep_alive);
  EXPECT_TRUE(ParseRequest("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", Limits()).keep_alive);
}

}  // namespace
}  // namespace flightdeck::http
