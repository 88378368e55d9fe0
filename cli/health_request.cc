#include "cli/health_request.h"

#include <algorithm>
#include <cctype>
#include <sstream>
#include <utility>
#include <vector>

#include "cli/release_request.h"

namespace flightdeck::cli {
namespace {

std::nullopt_t Fail(std::string* error, const std::string& message) {
  *error = message;
  return std::nullopt;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string Upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

// Every problem of the command line, so that one run of fdctl lists them all.
class Problems {
 public:
  void Add(std::string problem) { problems_.push_back(std::move(problem)); }
  bool empty() const { return problems_.empty(); }
  std::string Joined() const {
    std::string out;
    for (const std::string& p : problems_) out += (out.empty() ? "" : "; ") + p;
    return out;
  }

 private:
  std::vector<std::string> problems_;
};

void SetDuration(const ParsedArgs& args, const char* flag, const char* field, Json* body, Problems* problems) {
  const std::optional<std::string> text = args.Get(flag);
  if (!text) return;
  const std::optional<std::string> duration = ParseDuration(*text);
  if (!duration) {
    problems->Add(std::string("--") + flag + " '" + *text + "' must be a duration like 10s, 500ms or 1m");
    return;
  }
  (*body)[field] = *duration;
}

void SetThreshold(const ParsedArgs& args, const char* flag, const char* field, Json* body, Problems* problems) {
  const std::optional<std::string> text = args.Get(flag);
  if (!text) return;
  const std::optional<int64_t> n = ParseCount(*text, 1000);
  if (!n || *n < 1) {
    problems->Add(std::string("--") + flag + " '" + *text + "' must be a whole number from 1 to 1000");
    return;
  }
  (*body)[field] = *n;
}

}  // namespace

std::string EnvironmentFlag(const ParsedArgs& args) {
  if (std::optional<std::string> environment = args.Get("environment"); environment && !environment->empty()) {
    return *environment;
  }
  return args.Get("env").value_or("");
}

std::optional<Json> CreateHealthTargetBody(const std::string& name, const ParsedArgs& args, std::string* error) {
  Problems problems;
  Json body = Json::object();
  body["name"] = name;
  const std::string service = args.Get("service").value_or("");
  if (service.empty()) problems.Add("--service is required");
  body["service"] = service;
  const std::string environment = EnvironmentFlag(args);
  if (environment.empty()) problems.Add("--environment (or --env) is required");
  body["environment"] = environment;

  const std::string role = Lower(args.Get("role").value_or(""));
  if (role != "liveness" && role != "readiness" && role != "canary") {
    problems.Add("--role must be liveness, readiness or canary");
  }
  body["role"] = role;
  const std::string kind = Upper(args.Get("kind").value_or(""));
  const bool known_kind = kind == "HTTP" || kind == "GRPC" || kind == "TCP" || kind == "POSTGRES" || kind == "REDIS";
  if (!known_kind) problems.Add("--kind must be HTTP, GRPC, TCP, POSTGRES or REDIS");
  body["kind"] = kind;

  const std::optional<std::string> url = args.Get("probe-url");
  const std::optional<std::string> address = args.Get("address");
  const bool wants_address = kind == "GRPC" || kind == "TCP";
  if (url && address) {
    problems.Add("give either --probe-url or --address, not both");
  } else if (known_kind && wants_address && !address) {
    problems.Add("--address HOST:PORT is required for a " + kind + " target");
  } else if (known_kind && !wants_address && !url) {
    problems.Add("--probe-url is required for a " + kind + " target" +
                 (kind == "HTTP" ? " (the http(s) URL to probe)" : " (its connection URL)"));
  }
  if (url) body["url"] = *url;
  if (address) body["address"] = *address;

  if (const std::optional<std::string> statuses = args.Get("expect-status")) {
    Json list = Json::array();
    std::stringstream in(*statuses);
    std::string item;
    bool valid = true;
    while (std::getline(in, item, ',')) {
      const std::optional<int64_t> code = ParseCount(item, 599);
      if (!code || *code < 100) {
        valid = false;
        break;
      }
      list.push_back(*code);
    }
    if (!valid) {
      problems.Add("--expect-status '" + *statuses + "' must be HTTP statuses separated by commas, e.g. 200,204");
    } else if (list.empty()) {
      problems.Add("--expect-status must name at least one status");
    }
    body["expect_status"] = list;
  }
  if (const std::optional<std::string> text = args.Get("body-contains")) body["body_contains"] = *text;
  if (const std::optional<std::string> method = args.Get("method")) {
    const std::string m = Upper(*method);
    if (m != "GET" && m != "HEAD") problems.Add("--method must be GET or HEAD");
    body["method"] = m;
  }
  if (args.Has("new-connection-per-probe")) {
    if (known_kind && kind != "HTTP") problems.Add("--new-connection-per-probe is only for an HTTP target");
    body["reuse_connections"] = false;
  }
  if (const std::optional<std::string> grpc_service = args.Get("grpc-service")) body["grpc_service"] = *grpc_service;
  SetDuration(args, "period", "period", &body, &problems);
  SetDuration(args, "timeout", "timeout", &body, &problems);
  SetDuration(args, "initial-delay", "initial_delay", &body, &problems);
  SetThreshold(args, "success-threshold", "success_threshold", &body, &problems);
  SetThreshold(args, "failure-threshold", "failure_threshold", &body, &problems);
  if (!problems.empty()) return Fail(error, problems.Joined());
  return body;
}

std::optional<Json> SmokeRunBodyFromFile(const std::string& file_text, const std::string& base_url_override,
                                         std::string* error) {
  const Json suite = Json::parse(file_text, nullptr, /*allow_exceptions=*/false);
  if (suite.is_discarded() || !suite.is_object()) {
    return Fail(error, "--file must hold a JSON object like {\"base_url\":\"https://...\",\"checks\":[...]}");
  }
  const Json* checks = FindField(suite, "checks");
  if (checks == nullptr || !checks->is_array() || checks->empty()) {
    return Fail(error, "--file has no \"checks\": a suite is {\"base_url\":..., \"checks\":[{\"name\":..., \"url\":...}]}");
  }
  Json body = Json::object();
  const std::string base_url = base_url_override.empty() ? FieldText(suite, "base_url") : base_url_override;
  if (!base_url.empty()) body["base_url"] = base_url;
  body["checks"] = *checks;
  return body;
}

}  // namespace flightdeck::cli
