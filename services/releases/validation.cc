#include "services/releases/validation.h"

#include <cctype>

namespace flightdeck::releases {
namespace {

grpc::Status Invalid(const std::string& field, const std::string& why) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, field + ": " + why);
}

bool IsPrintableToken(std::string_view s) {
  for (unsigned char c : s) {
    if (c <= 0x20 || c == 0x7f) return false;
  }
  return true;
}

}  // namespace

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

grpc::Status ValidateCreate(v1::CreateReleaseRequest& request) {
  const char* dns_rule = "must be a lower-case DNS label (a-z, 0-9, '-', 1-63 characters, "
                         "starting and ending with a letter or digit)";
  if (request.service().empty()) return Invalid("service", "is required");
  if (!IsDnsLabel(request.service())) {
    return Invalid("service", "\"" + request.service() + "\" " + dns_rule);
  }
  if (request.environment().empty()) return Invalid("environment", "is required");
  if (!IsDnsLabel(request.environment())) {
    return Invalid("environment", "\"" + request.environment() + "\" " + dns_rule);
  }
  if (request.version().empty()) return Invalid("version", "is required");
  if (request.version().size() > 128 || !IsPrintableToken(request.version())) {
    return Invalid("version", "must be 1-128 characters without spaces");
  }
  if (request.commit_sha().empty()) return Invalid("commit_sha", "is required");
  if (!IsCommitSha(request.commit_sha())) {
    return Invalid("commit_sha", "\"" + request.commit_sha() +
                                     "\" must be 7-40 hexadecimal characters (a git commit SHA)");
  }
  if (request.image().size() > 512 || !IsPrintableToken(request.image())) {
    return Invalid("image", "must be at most 512 characters without spaces");
  }
  if (request.smoke_suite().size() > 128 || !IsPrintableToken(request.smoke_suite())) {
    return Invalid("smoke_suite", "must be a saved smoke suite's name (1-128 characters)");
  }
  std::string sha = request.commit_sha();
  for (char& c : sha) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  request.set_commit_sha(sha);
  return grpc::Status::OK;
}

}  // namespace flightdeck::releases
