#include "common/notify/signature.h"

#include <vector>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace flightdeck::notify {

std::string HmacSha256Hex(const std::string& secret, const std::string& data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len) == nullptr) {
    return {};
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * len);
  for (unsigned int i = 0; i < len; ++i) {
    hex.push_back(kHex[mac[i] >> 4]);
    hex.push_back(kHex[mac[i] & 0xf]);
  }
  return hex;
}

std::string SignatureHeader(const std::string& secret, const std::string& body, long long unix_seconds) {
  const std::string t = std::to_string(unix_seconds);
  return "t=" + t + ",v1=" + HmacSha256Hex(secret, t + "." + body);
}

bool VerifySignature(const std::string& secret, const std::string& body, const std::string& header) {
  std::string t;
  std::vector<std::string> signatures;
  size_t pos = 0;
  while (pos <= header.size()) {
    size_t comma = header.find(',', pos);
    if (comma == std::string::npos) comma = header.size();
    const std::string part = header.substr(pos, comma - pos);
    if (part.rfind("t=", 0) == 0) t = part.substr(2);
    if (part.rfind("v1=", 0) == 0) signatures.push_back(part.substr(3));
    pos = comma + 1;
  }
  if (t.empty() || signatures.empty()) return false;
  for (char c : t) {
    if (c < '0' || c > '9') return false;
  }
  const std::string expected = HmacSha256Hex(secret, t + "." + body);
  if (expected.empty()) return false;
  for (const std::string& s : signatures) {
    if (s.size() == expected.size() && CRYPTO_memcmp(s.data(), expected.data(), s.size()) == 0) {
      return true;
    }
  }
  return false;
}

}  // namespace flightdeck::notify
