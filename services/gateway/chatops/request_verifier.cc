#include "services/gateway/chatops/request_verifier.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <charconv>
#include <fstream>
#include <sstream>

namespace flightdeck::gateway::chatops {
namespace {

std::string Hex(const unsigned char* data, size_t n) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kHex[data[i] >> 4]);
    out.push_back(kHex[data[i] & 0xf]);
  }
  return out;
}

// Equal length and equal bytes, in time that depends only on the lengths.
bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string Trim(std::string_view text) {
  size_t start = text.find_first_not_of(" \t\r");
  if (start == std::string_view::npos) return "";
  size_t end = text.find_last_not_of(" \t\r");
  return std::string(text.substr(start, end - start + 1));
}

}  // namespace

std::string SlackSignature(const std::string& secret, std::string_view timestamp, std::string_view body) {
  std::string base = "v0:";
  base.append(timestamp);
  base.push_back(':');
  base.append(body);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(base.data()), base.size(), digest, &length);
  return "v0=" + Hex(digest, length);
}

Verdict VerifySlackRequest(const std::vector<std::string>& secrets, std::string_view timestamp,
                           std::string_view signature, std::string_view body, long long now_unix) {
  if (secrets.empty()) return {false, "Slack is not configured here (FLIGHTDECK_SLACK_SIGNING_SECRET)"};
  if (timestamp.empty()) return {false, "X-Slack-Request-Timestamp: missing"};
  if (signature.empty()) return {false, "X-Slack-Signature: missing"};
  long long ts = 0;
  auto [end, ec] = std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), ts);
  if (ec != std::errc() || end != timestamp.data() + timestamp.size() || ts <= 0) {
    return {false, "X-Slack-Request-Timestamp: not a Unix time in seconds"};
  }
  long long skew = now_unix > ts ? now_unix - ts : ts - now_unix;
  if (skew > kSlackMaxSkew.count()) {
    return {false, "X-Slack-Request-Timestamp: more than 5 minutes from the gateway's clock"};
  }
  if (signature.substr(0, 3) != "v0=") return {false, "X-Slack-Signature: not a v0 signature"};
  bool matched = false;
  // Every secret is tried (no early exit), so the time taken does not say which one matched.
  for (const std::string& secret : secrets) {
    matched = ConstantTimeEquals(SlackSignature(secret, timestamp, body), signature) || matched;
  }
  if (!matched) return {false, "X-Slack-Signature: does not match the request"};
  return {true, ""};
}

bool MattermostTokenMatches(const std::vector<std::string>& tokens, std::string_view token) {
  if (token.empty()) return false;
  bool matched = false;
  for (const std::string& t : tokens) matched = ConstantTimeEquals(t, token) || matched;
  return matched;
}

std::vector<std::string> SplitSecrets(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find_first_of(",\n", start);
    if (end == std::string_view::npos) end = text.size();
    std::string entry = Trim(text.substr(start, end - start));
    if (!entry.empty() && entry.front() != '#') out.push_back(std::move(entry));
    start = end + 1;
  }
  return out;
}

std::vector<std::string> LoadSecrets(const config::Env& env, const std::string& name, size_t min_length) {
  std::string source = name;
  std::vector<std::string> secrets;
  if (auto value = env.Raw(name)) {
    secrets = SplitSecrets(*value);
  } else if (auto path = env.Raw(name + "_FILE")) {
    source = name + "_FILE";
    std::ifstream file(*path);
    if (!file) throw config::ConfigError(source + ": cannot read " + *path);
    std::stringstream text;
    text << file.rdbuf();
    secrets = SplitSecrets(text.str());
    if (secrets.empty()) throw config::ConfigError(source + ": " + *path + " holds no secret");
  }
  for (size_t i = 0; i < secrets.size(); ++i) {
    if (secrets[i].size() < min_length) {
      throw config::ConfigError(source + ": entry " + std::to_string(i + 1) + " is shorter than " +
                                std::to_string(min_length) + " characters");
    }
  }
  return secrets;
}

}  // namespace flightdeck::gateway::chatops
