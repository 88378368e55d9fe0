#include "services/releases/validation.h"

#include <cctype>

namespace flightdeck::releases {

bool IsPrintableToken(std::string_view s) {
  for (unsigned char c : s) {
    if (c <= 0x20 || c == 0x7f) return false;
  }
  return true;
}

bool IsDnsLabel(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(name.front()) || !alnum(name.back())) return false;
  for (char c : name) {
    if (!alnum(c) && c != '-') return false;
  }
  return true;
}

bool IsCommitSha(std::string_view sha) {
  if (sha.size() < 7 || sha.size() > 40) return false;
  for (unsigned char c : sha) {
    if (!std::isxdigit(c)) return false;
  }
  return true;
}

bool IsUuid(std::string_view id) {
  if (id.size() != 36) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? id[i] != '-' : !std::isxdigit(static_cast<unsigned char>(id[i]))) return false;
  }
  return true;
}

bool IdPrefixBounds(std::string_view given, std::string* lowest, std::string* highest) {
  static constexpr char kTemplate[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
  constexpr size_t kLength = sizeof(kTemplate) - 1;
  if (given.size() > kLength) return false;
  size_t hex = 0;
  std::string low, high;
  for (size_t i = 0; i < kLength; ++i) {
    if (kTemplate[i] == '-') {
      if (i < given.size() && given[i] != '-') return false;
      low.push_back('-');
      high.push_back('-');
      continue;
    }
    if (i < given.size()) {
      const unsigned char c = static_cast<unsigned char>(given[i]);
      if (!std::isxdigit(c)) return false;
      const char lower = static_cast<char>(std::tolower(c));
      low.push_back(lower);
      high.push_back(lower);
      ++hex;
    } else {
      low.push_back('0');
      high.push_back('f');
    }
  }
  if (hex < kMinIdPrefix) return false;
  *lowest = low;
  *highest = high;
  return true;
}

const std::vector<std::string> kDriverKinds = {"external", "command"};
const std::vector<std::string> kAnalysisSources = {"pushed", "prometheus", "health"};
const std::vector<std::string> kAnalysisJudges = {"threshold", "mann_whitney"};

std::string CanonicalChoice(std::string_view given, const std::vector<std::string>& valid) {
  std::string lower;
  for (unsigned char c : given) lower.push_back(static_cast<char>(std::tolower(c)));
  for (const std::string& v : valid) {
    if (v == lower) return v;
  }
  return "";
}

std::string UnknownChoice(const std::string& given, const std::vector<std::string>& valid) {
  std::string list;
  for (const std::string& v : valid) list += (list.empty() ? "" : ", ") + v;
  return "unknown value \"" + given + "\" (one of " + list + ")";
}

grpc::Status ValidateCreate(v1::CreateReleaseRequest& request) {
  const char* dns_rule = "must be a lower-case DNS label (a-z, 0-9, '-', 1-63 characters, "
                         "starting and ending with a letter or digit)";
  FieldErrors errors;
  if (request.service().empty()) {
    errors.Add("service", "is required");
  } else if (!IsDnsLabel(request.service())) {
    errors.Add("service", "\"" + request.service() + "\" " + dns_rule);
  }
  if (request.environment().empty()) {
    errors.Add("environment", "is required");
  } else if (!IsDnsLabel(request.environment())) {
    errors.Add("environment", "\"" + request.environment() + "\" " + dns_rule);
  }
  if (request.version().empty()) {
    errors.Add("version", "is required");
  } else if (request.version().size() > 128 || !IsPrintableToken(request.version())) {
    errors.Add("version", "must be 1-128 characters without spaces");
  }
  if (request.commit_sha().empty()) {
    errors.Add("commit_sha", "is required");
  } else if (!IsCommitSha(request.commit_sha())) {
    errors.Add("commit_sha", "\"" + request.commit_sha() +
                                 "\" must be 7-40 hexadecimal characters (a git commit SHA)");
  }
  if (request.image().size() > 512 || !IsPrintableToken(request.image())) {
    errors.Add("image", "must be at most 512 characters without spaces");
  }
  if (request.smoke_suite().size() > 128 || !IsPrintableToken(request.smoke_suite())) {
    errors.Add("smoke_suite", "must be a saved smoke suite's name (1-128 characters)");
  }
  if (!request.driver().kind().empty()) {
    const std::string kind = CanonicalChoice(request.driver().kind(), kDriverKinds);
    if (kind.empty()) {
      errors.Add("driver.kind", UnknownChoice(request.driver().kind(), kDriverKinds));
    } else {
      request.mutable_driver()->set_kind(kind);
    }
  }
  std::string sha = request.commit_sha();
  for (char& c : sha) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  request.set_commit_sha(sha);
  return errors.ToStatus();
}

}  // namespace flightdeck::releases
