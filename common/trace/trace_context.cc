// W3C Trace Context: traceparent and tracestate (https://www.w3.org/TR/trace-context/).

#include <algorithm>
#include <random>
#include <set>

#include "common/trace/internal.h"
#include "common/trace/trace.h"

namespace flightdeck::trace {
namespace {

constexpr size_t kTraceparentSize = 55;  // "vv-" 32 "-" 16 "-" "ff"
constexpr size_t kMaxTracestateMembers = 32;

int HexValue(char c) {
  // The spec allows lowercase hex only: "AB" is as invalid as "zz".
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

template <size_t N>
bool ParseHex(std::string_view text, std::array<uint8_t, N>& out) {
  if (text.size() != 2 * N) return false;
  for (size_t i = 0; i < N; ++i) {
    int hi = HexValue(text[2 * i]);
    int lo = HexValue(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return true;
}

template <size_t N>
bool AllZero(const std::array<uint8_t, N>& bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0; });
}

bool IsLcAlpha(char c) { return c >= 'a' && c <= 'z'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsKeyChar(char c) {
  return IsLcAlpha(c) || IsDigit(c) || c == '_' || c == '-' || c == '*' || c == '/';
}

// simple-key = lcalpha 0*255(keychar)
// multi-tenant-key = tenant-id "@" system-id
// tenant-id = (lcalpha / DIGIT) 0*240(keychar); system-id = lcalpha 0*13(keychar)
bool IsValidKey(std::string_view key) {
  auto all_key_chars = [](std::string_view s) { return std::all_of(s.begin(), s.end(), IsKeyChar); };
  size_t at = key.find('@');
  if (at == std::string_view::npos) {
    return !key.empty() && key.size() <= 256 && IsLcAlpha(key[0]) && all_key_chars(key);
  }
  std::string_view tenant = key.substr(0, at);
  std::string_view system = key.substr(at + 1);
  return !tenant.empty() && tenant.size() <= 241 && (IsLcAlpha(tenant[0]) || IsDigit(tenant[0])) &&
         all_key_chars(tenant) && !system.empty() && system.size() <= 14 &&
         IsLcAlpha(system[0]) && all_key_chars(system);
}

// value = 0*255(chr) nblk-chr; chr = %x20 / nblk-chr; nblk-chr = %x21-2B / %x2D-3C / %x3E-7E
bool IsValidValue(std::string_view value) {
  if (value.empty() || value.size() > 256 || value.back() == ' ') return false;
  return std::all_of(value.begin(), value.end(), [](char c) {
    return c >= 0x20 && c <= 0x7e && c != ',' && c != '=';
  });
}

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Empty list members are allowed and ignored; duplicate keys make the whole header invalid.
bool IsValidTracestate(std::string_view header) {
  std::set<std::string_view> keys;
  size_t start = 0;
  while (start <= header.size()) {
    size_t comma = header.find(',', start);
    if (comma == std::string_view::npos) comma = header.size();
    std::string_view member = TrimOws(header.substr(start, comma - start));
    start = comma + 1;
    if (member.empty()) continue;
    size_t eq = member.find('=');
    if (eq == std::string_view::npos) return false;
    std::string_view key = member.substr(0, eq);
    if (!IsValidKey(key) || !IsValidValue(member.substr(eq + 1))) return false;
    if (!keys.insert(key).second || keys.size() > kMaxTracestateMembers) return false;
  }
  return true;
}

}  // namespace

namespace internal {

std::string Hex(const uint8_t* data, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(size * 2, '0');
  for (size_t i = 0; i < size; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 0x0f];
  }
  return out;
}

namespace {
std::mt19937_64& Generator() {
  thread_local std::mt19937_64 generator = [] {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device()};
    return std::mt19937_64(seed);
  }();
  return generator;
}

template <size_t N>
std::array<uint8_t, N> RandomNonZero() {
  std::array<uint8_t, N> id{};
  do {
    for (size_t i = 0; i < N; i += 8) {
      uint64_t word = Generator()();
      for (size_t j = 0; j < 8 && i + j < N; ++j) id[i + j] = static_cast<uint8_t>(word >> (8 * j));
    }
  } while (AllZero(id));
  return id;
}
}  // namespace

std::array<uint8_t, 16> NewTraceId() { return RandomNonZero<16>(); }
std::array<uint8_t, 8> NewSpanId() { return RandomNonZero<8>(); }

}  // namespace internal

bool SpanContext::IsValid() const { return !AllZero(trace_id) && !AllZero(span_id); }

std::string SpanContext::TraceIdHex() const {
  return internal::Hex(trace_id.data(), trace_id.size());
}

std::string SpanContext::SpanIdHex() const { return internal::Hex(span_id.data(), span_id.size()); }

std::optional<SpanContext> ParseTraceparent(std::string_view traceparent,
                                            std::string_view tracestate) {
  if (traceparent.size() < kTraceparentSize) return std::nullopt;
  std::array<uint8_t, 1> version{};
  if (!ParseHex(traceparent.substr(0, 2), version) || version[0] == 0xff) return std::nullopt;
  if (version[0] == 0x00) {
    if (traceparent.size() != kTraceparentSize) return std::nullopt;
  } else if (traceparent.size() > kTraceparentSize && traceparent[kTraceparentSize] != '-') {
    // A later version may append fields, always after a '-'; parse what version 00 defines.
    return std::nullopt;
  }
  if (traceparent[2] != '-' || traceparent[35] != '-' || traceparent[52] != '-') return std::nullopt;

  SpanContext context;
  std::array<uint8_t, 1> flags{};
  if (!ParseHex(traceparent.substr(3, 32), context.trace_id) ||
      !ParseHex(traceparent.substr(36, 16), context.span_id) ||
      !ParseHex(traceparent.substr(53, 2), flags) || !context.IsValid()) {
    return std::nullopt;
  }
  context.flags = flags[0];
  context.remote = true;
  std::string_view state = TrimOws(tracestate);
  if (IsValidTracestate(state)) context.tracestate = std::string(state);
  return context;
}

std::string FormatTraceparent(const SpanContext& context) {
  std::string out = "00-";
  out += context.TraceIdHex();
  out += '-';
  out += context.SpanIdHex();
  out += '-';
  out += internal::Hex(&context.flags, 1);
  return out;
}

}  // namespace flightdeck::trace
