#include "services/health/smoke/access.h"

#include "services/health/smoke/checks.h"

namespace flightdeck::health::smoke {

bool MayReadBodyExcerpts(const std::string& role) {
  return role.empty() || role == "OPERATOR" || role == "ADMIN";
}

bool MayOverrideBaseUrl(const v1::SmokeSuite& suite, const std::string& requested_base_url,
                        const std::string& role) {
  if (requested_base_url.empty() || requested_base_url == suite.base_url()) return true;
  if (role == "ADMIN") return true;
  for (const v1::SmokeCheck& check : suite.checks()) {
    for (const auto& [name, value] : check.headers()) {
      if (IsSecretHeader(name)) return false;
    }
  }
  return true;
}

}  // namespace flightdeck::health::smoke
