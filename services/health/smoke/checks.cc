#include "services/health/smoke/checks.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <optional>

namespace flightdeck::health::smoke {
namespace {

grpc::Status Invalid(const std::string& message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool HasScheme(const std::string& url) { return url.find("://") != std::string::npos; }

bool IsHttpUrl(const std::string& url) {
  const std::string lower = Lower(url.substr(0, 8));
  return lower.rfind("http://", 0) == 0 || lower.rfind("https://", 0) == 0;
}

// "" when url is an absolute http(s) URL with a host and no blanks, else why not.
std::string AbsoluteUrlProblem(const std::string& url) {
  if (!IsHttpUrl(url)) return "scheme must be http or https";
  for (char c : url) {
    if (std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c))) {
      return "must not contain blanks or control characters";
    }
  }
  const std::string rest = url.substr(url.find("://") + 3);
  const std::string authority = rest.substr(0, rest.find_first_of("/?#"));
  const size_t at = authority.rfind('@');
  const std::string host = authority.substr(at == std::string::npos ? 0 : at + 1);
  if (host.empty() || host.front() == ':') return "has no host";
  return "";
}

std::string DisplayPath(const std::string& path) {
  if (!path.empty() && path.front() == '$') return path;
  if (!path.empty() && path.front() == '[') return "$" + path;
  return "$." + path;
}

bool IsTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::string("!#$%&'*+-.^_`|~").find(c) != std::string::npos;
}

// Adds every problem of one check to `errors`; `field` is "checks[2]." and prefixes each.
void NormalizeCheck(const std::string& base_url, const std::string& field, v1::SmokeCheck* c,
                    FieldErrors* errors) {
  if (c->name().empty()) errors->Add(field + "name", "is required");
  if (c->name().size() > 200) errors->Add(field + "name", "must be at most 200 characters");
  if (c->url().empty()) {
    errors->Add(field + "url", "is required");
  } else if (HasScheme(c->url())) {
    if (std::string problem = AbsoluteUrlProblem(c->url()); !problem.empty()) errors->Add(field + "url", problem);
  } else if (base_url.empty()) {
    errors->Add(field + "url", "\"" + c->url() + "\" is relative and the run has no base_url");
  } else if (AbsoluteUrlProblem(base_url).empty()) {  // a bad base_url is reported on its own
    if (std::string problem = AbsoluteUrlProblem(JoinUrl(base_url, c->url())); !problem.empty()) {
      errors->Add(field + "url", problem);
    }
  }

  static const std::initializer_list<const char*> kMethods = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"};
  if (c->method().empty()) c->set_method("GET");
  if (std::optional<std::string> method = CanonicalEnum(c->method(), kMethods)) {
    c->set_method(*method);
  } else {
    errors->Add(field + "method", UnknownEnumValue(c->method(), kMethods));
  }
  if (c->expect_status() == 0) c->set_expect_status(200);
  if (c->expect_status() < 100 || c->expect_status() > 599) {
    errors->Add(field + "expect_status", "must be an HTTP status between 100 and 599");
  }
  if (c->max_latency_ms() < 0) errors->Add(field + "max_latency_ms", "must not be negative");
  if (c->timeout_ms() == 0) c->set_timeout_ms(kDefaultTimeoutMs);
  if (c->timeout_ms() < 0 || c->timeout_ms() > kMaxTimeoutMs) {
    errors->Add(field + "timeout_ms", "must be between 1 and " + std::to_string(kMaxTimeoutMs));
  }
  if (c->method() == "HEAD" && (!c->body_contains().empty() || !c->json_path_equals().empty())) {
    errors->Add(field + (c->body_contains().empty() ? "json_path_equals" : "body_contains"),
                "a HEAD answer has no body to check");
  }
  // Map order is unspecified: report the paths and headers sorted, so a message is stable.
  const std::map<std::string, std::string> paths(c->json_path_equals().begin(), c->json_path_equals().end());
  for (const auto& [path, expected] : paths) {
    std::vector<PathStep> steps;
    if (grpc::Status s = ParseJsonPath(path, &steps); !s.ok()) {
      errors->Add(field + "json_path_equals[\"" + path + "\"]", s.error_message());
    }
  }
  const std::map<std::string, std::string> headers(c->headers().begin(), c->headers().end());
  for (const auto& [name, value] : headers) {
    const std::string header_field = field + "headers[\"" + name + "\"]";
    if (name.empty() || !std::all_of(name.begin(), name.end(), IsTokenChar)) {
      errors->Add(header_field, "not a valid header name");
    }
    if (value.find_first_of("\r\n") != std::string::npos) {
      errors->Add(header_field, "the value must not contain line breaks");
    }
  }
}

}  // namespace

grpc::Status ParseJsonPath(const std::string& path, std::vector<PathStep>* steps) {
  steps->clear();
  if (path.empty()) return Invalid("a JSON path must not be empty");
  size_t i = 0;
  if (path[0] == '$') {
    i = 1;
    if (i < path.size() && path[i] == '.') {
      ++i;
      if (i == path.size()) return Invalid("\"" + path + "\" ends with '.'");
    } else if (i < path.size() && path[i] != '[') {
      return Invalid("expected '.' or '[' after '$' at position 1 in \"" + path + "\"");
    }
  }
  while (i < path.size()) {
    if (path[i] == '[') {
      size_t j = i + 1;
      while (j < path.size() && std::isdigit(static_cast<unsigned char>(path[j]))) ++j;
      if (j == i + 1 || j >= path.size() || path[j] != ']' || j - i - 1 > 9) {
        return Invalid("expected an array index like [0] at position " + std::to_string(i) + " in \"" +
                       path + "\"");
      }
      steps->emplace_back(static_cast<size_t>(std::stoul(path.substr(i + 1, j - i - 1))));
      i = j + 1;
      if (i < path.size() && path[i] != '[' && path[i] != '.') {
        return Invalid("expected '.' or '[' at position " + std::to_string(i) + " in \"" + path + "\"");
      }
    } else {
      const size_t end = path.find_first_of(".[]", i);
      const std::string name = path.substr(i, end == std::string::npos ? std::string::npos : end - i);
      if (name.empty()) {
        return Invalid("empty member name at position " + std::to_string(i) + " in \"" + path + "\"");
      }
      steps->emplace_back(name);
      i = end == std::string::npos ? path.size() : end;
      if (i < path.size() && path[i] == ']') {
        return Invalid("unexpected ']' at position " + std::to_string(i) + " in \"" + path + "\"");
      }
    }
    if (i < path.size() && path[i] == '.') {
      ++i;
      if (i == path.size()) return Invalid("\"" + path + "\" ends with '.'");
      if (path[i] == '.' || path[i] == '[') {
        return Invalid("empty member name at position " + std::to_string(i) + " in \"" + path + "\"");
      }
    }
  }
  return grpc::Status::OK;
}

std::string CheckJsonPath(const nlohmann::json& doc, const std::string& path, const std::string& expected) {
  const std::string shown = "json path " + DisplayPath(path) + ": ";
  std::vector<PathStep> steps;
  if (grpc::Status s = ParseJsonPath(path, &steps); !s.ok()) return shown + s.error_message();
  const nlohmann::json* at = &doc;
  for (const PathStep& step : steps) {
    if (const std::string* name = std::get_if<std::string>(&step)) {
      if (!at->is_object() || !at->contains(*name)) return shown + "not found";
      at = &(*at)[*name];
    } else {
      const size_t index = std::get<size_t>(step);
      if (!at->is_array() || index >= at->size()) return shown + "not found";
      at = &(*at)[index];
    }
  }
  if (at->is_string()) {
    if (at->get<std::string>() == expected) return "";
    return shown + "got " + at->dump() + ", want " + nlohmann::json(expected).dump();
  }
  const std::string actual = at->dump();
  if (actual == expected) return "";
  return shown + "got " + actual + ", want " + expected;
}

grpc::Status ValidateBaseUrl(const std::string& base_url) {
  if (base_url.empty()) return grpc::Status::OK;
  if (std::string problem = AbsoluteUrlProblem(base_url); !problem.empty()) {
    return Invalid("base_url: " + problem);
  }
  return grpc::Status::OK;
}

grpc::Status NormalizeChecks(const std::string& base_url,
                             google::protobuf::RepeatedPtrField<v1::SmokeCheck>* checks) {
  FieldErrors errors;
  errors.Add(ValidateBaseUrl(base_url));
  NormalizeChecks(base_url, checks, &errors);
  return errors.ToStatus();
}

void NormalizeChecks(const std::string& base_url, google::protobuf::RepeatedPtrField<v1::SmokeCheck>* checks,
                     FieldErrors* errors) {
  if (checks->empty()) errors->Add("checks", "at least one check is required");
  if (checks->size() > kMaxChecks) {
    errors->Add("checks", "at most " + std::to_string(kMaxChecks) + " checks, not " + std::to_string(checks->size()));
    return;
  }
  for (int i = 0; i < checks->size(); ++i) {
    NormalizeCheck(base_url, "checks[" + std::to_string(i) + "].", checks->Mutable(i), errors);
  }
}

std::string JoinUrl(const std::string& base_url, const std::string& url) {
  if (HasScheme(url) || base_url.empty()) return url;
  std::string base = base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  size_t start = 0;
  while (start < url.size() && url[start] == '/') ++start;
  return base + "/" + url.substr(start);
}

bool IsSecretHeader(const std::string& name) {
  const std::string lower = Lower(name);
  if (lower == "authorization" || lower == "proxy-authorization" || lower == "cookie") return true;
  for (const char* word : {"token", "secret", "key", "password"}) {
    if (lower.find(word) != std::string::npos) return true;
  }
  return false;
}

void RedactHeaders(google::protobuf::RepeatedPtrField<v1::SmokeCheck>* checks) {
  for (v1::SmokeCheck& c : *checks) {
    for (auto& [name, value] : *c.mutable_headers()) {
      if (IsSecretHeader(name)) value = "***";
    }
  }
}

std::vector<std::pair<int, int>> Groups(const google::protobuf::RepeatedPtrField<v1::SmokeCheck>& checks) {
  std::vector<std::pair<int, int>> groups;
  int i = 0;
  while (i < checks.size()) {
    int end = i + 1;
    if (checks.Get(i).concurrent()) {
      while (end < checks.size() && checks.Get(end).concurrent()) ++end;
    }
    groups.emplace_back(i, end);
    i = end;
  }
  return groups;
}

std::string FirstUnmetExpectation(const v1::SmokeCheck& check, const HttpOutcome& outcome) {
  if (!outcome.reached) return outcome.transport_error.empty() ? "no answer" : outcome.transport_error;
  if (outcome.status != check.expect_status()) {
    return "status " + std::to_string(outcome.status) + ", want " + std::to_string(check.expect_status());
  }
  if (check.max_latency_ms() > 0 && outcome.latency_ms > static_cast<double>(check.max_latency_ms())) {
    return "latency " + std::to_string(static_cast<long long>(std::lround(outcome.latency_ms))) +
           " ms over the limit of " + std::to_string(check.max_latency_ms()) + " ms";
  }
  if (!check.body_contains().empty() && outcome.body.find(check.body_contains()) == std::string::npos) {
    return "body does not contain \"" + check.body_contains() + "\"" +
           (outcome.body_truncated ? " (in its first 1 MiB)" : "");
  }
  if (!check.json_path_equals().empty()) {
    // Sorted, so that the same failing run always reports the same first expectation.
    const std::map<std::string, std::string> paths(check.json_path_equals().begin(),
                                                   check.json_path_equals().end());
    const nlohmann::json doc = nlohmann::json::parse(outcome.body, nullptr, false);
    for (const auto& [path, expected] : paths) {
      if (doc.is_discarded()) {
        return "json path " + DisplayPath(path) + ": the body is not JSON" +
               (outcome.body_truncated ? " (or is larger than 1 MiB)" : "");
      }
      if (std::string unmet = CheckJsonPath(doc, path, expected); !unmet.empty()) return unmet;
    }
  }
  return "";
}

}  // namespace flightdeck::health::smoke
