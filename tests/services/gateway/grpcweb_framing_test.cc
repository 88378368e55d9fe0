// Unit: gRPC-web framing, base64 text mode, trailers, grpc-message encoding and grpc-timeout.
#include "services/gateway/grpcweb/framing.h"

#include <gtest/gtest.h>

namespace flightdeck::gateway::grpcweb {
namespace {

TEST(GrpcWebFraming, FramesRoundTripWithBigEndianLengths) {
  std::string payload(300, 'x');
  std::string frame = EncodeFrame(kDataFrame, payload);
  ASSERT_EQ(frame.size(), 305u);
  EXPECT_EQ(static_cast<unsigned char>(frame[0]), 0x00);
  EXPECT_EQ(static_cast<unsigned char>(frame[3]), 0x01);  // 300 = 0x012c
  EXPECT_EQ(static_cast<unsigned char>(frame[4]), 0x2c);
  std::string both = frame + EncodeFrame(kTrailerFrame, "grpc-status: 0\r\n");
  std::string error;
  auto frames = DecodeFrames(both, &error);
  ASSERT_TRUE(frames) << error;
  ASSERT_EQ(frames->size(), 2u);
  EXPECT_EQ((*frames)[0].payload, payload);
  EXPECT_EQ((*frames)[1].flags, kTrailerFrame);
  EXPECT_TRUE(DecodeFrames("", &error)->empty());
}

TEST(GrpcWebFraming, RefusesTruncatedFrames) {
  std::string error;
  EXPECT_FALSE(DecodeFrames(std::string("\0\0\0", 3), &error));
  EXPECT_EQ(error, "truncated frame header");
  EXPECT_FALSE(DecodeFrames(std::string("\0\0\0\0\x05" "abc", 8), &error));
  EXPECT_NE(error.find("longer than the body"), std::string::npos);
}

TEST(GrpcWebFraming, TrailersCarryStatusAndAPercentEncodedMessage) {
  EXPECT_EQ(TrailerBlock(0, ""), "grpc-status: 0\r\n");
  EXPECT_EQ(TrailerBlock(5, "release 3f2a: not found"),
            "grpc-status: 5\r\ngrpc-message: release 3f2a: not found\r\n");
  EXPECT_EQ(PercentEncodeMessage("100% sure\r\nnext"), "100%25 sure%0D%0Anext");
  EXPECT_EQ(PercentEncodeMessage("caf\xc3\xa9"), "caf%C3%A9");
}

TEST(GrpcWebFraming, Base64BothWaysIncludingConcatenatedChunks) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode(std::string("\0\xff\x10", 3)), "AP8Q");
  EXPECT_EQ(*Base64Decode("Zm9vYmFy"), "foobar");
  EXPECT_EQ(*Base64Decode("Zg==Zm8="), "ffo");  // two padded chunks, as text-mode clients send
  EXPECT_FALSE(Base64Decode("Zm9"));
  EXPECT_FALSE(Base64Decode("Zm9*"));
  EXPECT_FALSE(Base64Decode("Z=9v"));
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  EXPECT_EQ(*Base64Decode(Base64Encode(all)), all);
}

TEST(GrpcWebFraming, GrpcTimeoutUnits) {
  EXPECT_EQ(ParseGrpcTimeout("1H")->count(), 3600000);
  EXPECT_EQ(ParseGrpcTimeout("2M")->count(), 120000);
  EXPECT_EQ(ParseGrpcTimeout("10S")->count(), 10000);
  EXPECT_EQ(ParseGrpcTimeout("250m")->count(), 250);
  EXPECT_EQ(ParseGrpcTimeout("1500u")->count(), 2);
  EXPECT_EQ(ParseGrpcTimeout("1n")->count(), 1);
  EXPECT_FALSE(ParseGrpcTimeout("10"));
  EXPECT_FALSE(ParseGrpcTimeout("S"));
  EXPECT_FALSE(ParseGrpcTimeout("123456789S"));  // at most 8 digits
  EXPECT_FALSE(ParseGrpcTimeout("-1S"));
  EXPECT_FALSE(ParseGrpcTimeout("10s"));
}

}  // namespace
}  // namespace flightdeck::gateway::grpcweb
