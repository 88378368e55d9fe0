#include "services/health/target_secrets.h"

#include <optional>

#include "common/config/url.h"

namespace flightdeck::health {
namespace {

bool HoldsCredentials(const v1::HealthTarget& t) { return t.kind() == "POSTGRES" || t.kind() == "REDIS"; }

}  // namespace

bool UrlHasPassword(const std::string& url) {
  std::optional<config::UrlParts> parts = config::ParseUrl(url);
  if (!parts) return url.find('@') != std::string::npos;  // unparsable: assume the worst
  size_t colon = parts->userinfo.find(':');
  if (colon != std::string::npos && colon + 1 < parts->userinfo.size()) return true;
  // redis://secret@host: Redis takes a lone userinfo as the password.
  if (parts->scheme == "redis" && colon == std::string::npos && !parts->userinfo.empty()) return true;
  const std::string query = "&" + parts->query;
  return query.find("&password=") != std::string::npos;
}

namespace {

// A target's url is bound to the target (its name is its key).
secrets::Binding UrlBinding(const v1::HealthTarget& spec) { return {"health.targets.spec.url", spec.name()}; }

}  // namespace

grpc::Status SealTargetSecrets(const secrets::KeyRing& keys, v1::HealthTarget* spec) {
  if (!HoldsCredentials(*spec) || spec->url().empty() || secrets::IsSealedValue(spec->url())) {
    return grpc::Status::OK;
  }
  if (keys.empty()) {
    return UrlHasPassword(spec->url()) ? secrets::NeedsMasterKey("url") : grpc::Status::OK;
  }
  std::string sealed;
  if (grpc::Status s = secrets::SealValue(keys, spec->url(), UrlBinding(*spec), &sealed); !s.ok()) return s;
  spec->set_url(sealed);
  return grpc::Status::OK;
}

grpc::Status OpenTargetSecrets(const secrets::KeyRing& keys, v1::HealthTarget* spec) {
  if (!secrets::IsSealedValue(spec->url())) return grpc::Status::OK;
  std::string url;
  grpc::Status s = secrets::OpenValue(keys, spec->url(), UrlBinding(*spec), &url);
  spec->set_url(s.ok() ? url : "");
  if (!s.ok()) return grpc::Status(s.error_code(), "url: " + s.error_message());
  return grpc::Status::OK;
}

}  // namespace flightdeck::health
