#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace flightdeck::gateway::grpcweb {

// gRPC-web's length-prefixed frames (grpc/grpc PROTOCOL-WEB.md): one flag byte (0x00 a message,
// 0x80 the trailers), a 4-byte big-endian length, the payload.
inline constexpr unsigned char kDataFrame = 0x00;
inline constexpr unsigned char kTrailerFrame = 0x80;
inline constexpr unsigned char kCompressedFlag = 0x01;

struct Frame {
  unsigned char flags = kDataFrame;
  std::string payload;
};

std::string EncodeFrame(unsigned char flags, std::string_view payload);
// Splits a whole body into frames; nullopt (with `error` set) when it is not a sequence of
// complete frames.
std::optional<std::vector<Frame>> DecodeFrames(std::string_view body, std::string* error);

// The trailer frame's payload: "grpc-status: 3\r\ngrpc-message: ...\r\n".
std::string TrailerBlock(int code, const std::string& message);

// grpc-message is percent-encoded: bytes outside printable ASCII, and '%', become %XX.
std::string PercentEncodeMessage(std::string_view message);

// Standard base64 with padding. Decoding accepts concatenated padded chunks (a text-mode
// client may send several), and refuses anything else.
std::string Base64Encode(std::string_view bytes);
std::optional<std::string> Base64Decode(std::string_view text);

// "200m", "10S", "1H" (gRPC's Timeout header): nullopt when malformed.
std::optional<std::chrono::milliseconds> ParseGrpcTimeout(std::string_view value);

}  // namespace flightdeck::gateway::grpcweb
