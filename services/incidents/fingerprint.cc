#include "services/incidents/fingerprint.h"

#include <cstdio>

namespace flightdeck::incidents {
namespace {

constexpr uint64_t kFnvOffset = 14695981039346656037ULL;
constexpr uint64_t kFnvPrime = 1099511628211ULL;
constexpr unsigned char kSeparator = 0xFF;

uint64_t AddBytes(uint64_t h, const std::string& s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= kFnvPrime;
  }
  return h;
}

uint64_t AddByte(uint64_t h, unsigned char c) {
  h ^= c;
  h *= kFnvPrime;
  return h;
}

}  // namespace

uint64_t Fingerprint(const Labels& labels) {
  // std::map iterates in byte-wise name order, which is Go's sort.Strings order.
  uint64_t h = kFnvOffset;
  for (const auto& [name, value] : labels) {
    h = AddBytes(h, name);
    h = AddByte(h, kSeparator);
    h = AddBytes(h, value);
    h = AddByte(h, kSeparator);
  }
  return h;
}

std::string FingerprintHex(const Labels& labels) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(Fingerprint(labels)));
  return buf;
}

}  // namespace flightdeck::incidents
