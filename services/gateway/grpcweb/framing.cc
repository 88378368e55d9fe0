#include "services/gateway/grpcweb/framing.h"

#include <cstdint>

namespace flightdeck::gateway::grpcweb {

std::string EncodeFrame(unsigned char flags, std::string_view payload) {
  std::string out;
  out.reserve(5 + payload.size());
  out.push_back(static_cast<char>(flags));
  uint32_t n = static_cast<uint32_t>(payload.size());
  out.push_back(static_cast<char>((n >> 24) & 0xff));
  out.push_back(static_cast<char>((n >> 16) & 0xff));
  out.push_back(static_cast<char>((n >> 8) & 0xff));
  out.push_back(static_cast<char>(n & 0xff));
  out.append(payload);
  return out;
}

std::optional<std::vector<Frame>> DecodeFrames(std::string_view body, std::string* error) {
  std::vector<Frame> frames;
  size_t pos = 0;
  while (pos < body.size()) {
    if (body.size() - pos < 5) {
      *error = "truncated frame header";
      return std::nullopt;
    }
    auto byte = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(body[pos + i])); };
    uint32_t length = (byte(1) << 24) | (byte(2) << 16) | (byte(3) << 8) | byte(4);
    if (body.size() - pos - 5 < length) {
      *error = "frame of " + std::to_string(length) + " bytes is longer than the body";
      return std::nullopt;
    }
    frames.push_back(Frame{static_cast<unsigned char>(byte(0)), std::string(body.substr(pos + 5, length))});
    pos += 5 + length;
  }
  return frames;
}

std::string TrailerBlock(int code, const std::string& message) {
  std::string out = "grpc-status: " + std::to_string(code) + "\r\n";
  if (!message.empty()) out += "grpc-message: " + PercentEncodeMessage(message) + "\r\n";
  return out;
}

std::string PercentEncodeMessage(std::string_view message) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(message.size());
  for (unsigned char c : message) {
    if (c >= 0x20 && c <= 0x7e && c != '%') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

namespace {
const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int Sextet(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}
}  // namespace

std::string Base64Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t v = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                 static_cast<unsigned char>(bytes[i + 2]);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  if (i < bytes.size()) {
    uint32_t v = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  std::string out;
  out.reserve(text.size() / 4 * 3);
  if (text.size() % 4 != 0) return std::nullopt;
  for (size_t i = 0; i < text.size(); i += 4) {
    int a = Sextet(text[i]), b = Sextet(text[i + 1]);
    if (a < 0 || b < 0) return std::nullopt;
    char c3 = text[i + 2], c4 = text[i + 3];
    int c = c3 == '=' ? -2 : Sextet(c3);
    int d = c4 == '=' ? -2 : Sextet(c4);
    if (c == -1 || d == -1 || (c == -2 && d != -2)) return std::nullopt;
    uint32_t v = (static_cast<uint32_t>(a) << 18) | (static_cast<uint32_t>(b) << 12);
    out.push_back(static_cast<char>((v >> 16) & 0xff));
    if (c >= 0) {
      v |= static_cast<uint32_t>(c) << 6;
      out.push_back(static_cast<char>((v >> 8) & 0xff));
    }
    if (d >= 0) {
      v |= static_cast<uint32_t>(d);
      out.push_back(static_cast<char>(v & 0xff));
    }
  }
  return out;
}

std::optional<std::chrono::milliseconds> ParseGrpcTimeout(std::string_view value) {
  if (value.size() < 2 || value.size() > 9) return std::nullopt;  // at most 8 digits
  long long n = 0;
  for (size_t i = 0; i + 1 < value.size(); ++i) {
    if (value[i] < '0' || value[i] > '9') return std::nullopt;
    n = n * 10 + (value[i] - '0');
  }
  switch (value.back()) {
    case 'H': return std::chrono::milliseconds(n * 3600 * 1000);
    case 'M': return std::chrono::milliseconds(n * 60 * 1000);
    case 'S': return std::chrono::milliseconds(n * 1000);
    case 'm': return std::chrono::milliseconds(n);
    case 'u': return std::chrono::milliseconds((n + 999) / 1000);
    case 'n': return std::chrono::milliseconds((n + 999999) / 1000000);
    default: return std::nullopt;
  }
}

}  // namespace flightdeck::gateway::grpcweb
