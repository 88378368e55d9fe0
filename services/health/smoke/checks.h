#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <grpcpp/support/status.h>
#include <nlohmann/json.hpp>

#include "flightdeck/v1/health.pb.h"
#include "services/health/request_checks.h"

// The pure half of smoke suites: what a valid check is, JSON paths, URL joining, grouping of
// concurrent checks, and the verdict on one HTTP answer. No I/O here, so unit tests cover it.
namespace flightdeck::health::smoke {

inline constexpr int kMaxChecks = 100;
inline constexpr long long kDefaultTimeoutMs = 10000;
// A check's job runs within the worker's lease; see README note in smoke.h.
inline constexpr long long kMaxTimeoutMs = 60000;
inline constexpr size_t kBodyExcerptBytes = 512;

// One step of a JSON path: an object member or an array index.
using PathStep = std::variant<std::string, size_t>;

// "$.a.b[0].c", "a.b[0].c", "$" (the whole document), "$[2].id". On bad syntax, INVALID_ARGUMENT
// whose message says what is wrong (the caller prefixes the field name).
grpc::Status ParseJsonPath(const std::string& path, std::vector<PathStep>* steps);

// "" when `doc` at `path` equals `expected` (a string value compared as a string, anything else
// as compact JSON text), otherwise the unmet expectation: "json path $.a.b: not found",
// "json path $.state: got \"down\", want \"up\"".
std::string CheckJsonPath(const nlohmann::json& doc, const std::string& path,
                          const std::string& expected);

// Validates a run's or a suite's checks and fills the defaults (method GET, expect_status 200,
// timeout 10000 ms), method in any case answered upper case. One INVALID_ARGUMENT lists every
// problem of base_url and the checks, each naming its field: "checks[2].url: ...; checks[3]...".
grpc::Status NormalizeChecks(const std::string& base_url,
                             google::protobuf::RepeatedPtrField<v1::SmokeCheck>* checks);
// The same, adding the checks' problems to those a caller already collected (base_url is not
// checked here).
void NormalizeChecks(const std::string& base_url, google::protobuf::RepeatedPtrField<v1::SmokeCheck>* checks,
                     FieldErrors* errors);
// "" or an absolute http(s) URL.
grpc::Status ValidateBaseUrl(const std::string& base_url);

// An absolute URL as is; a relative one joined to base_url with exactly one '/' between.
std::string JoinUrl(const std::string& base_url, const std::string& url);

// Authorization, Cookie, and any name containing token, secret, key or password: such header
// values are stored (the checks need them) but never logged nor shown back.
bool IsSecretHeader(const std::string& name);
// The checks with secret header values as "***", for answers.
void RedactHeaders(google::protobuf::RepeatedPtrField<v1::SmokeCheck>* checks);

// [begin, end) index ranges run together: a check alone, or a maximal run of adjacent checks
// marked concurrent.
std::vector<std::pair<int, int>> Groups(const google::protobuf::RepeatedPtrField<v1::SmokeCheck>& checks);

// What one HTTP exchange gave.
struct HttpOutcome {
  bool reached = false;         // false: no HTTP answer (refused, timeout, DNS)
  std::string transport_error;  // when !reached
  int status = 0;
  double latency_ms = 0;
  std::string body;             // possibly cut at kMaxBodyBytes
  bool body_truncated = false;
};
inline constexpr size_t kMaxBodyBytes = 1 << 20;

// The first unmet expectation of `check` by `outcome`, in this order: an answer at all, the
// status, the latency limit, the body substring, the JSON paths (by path name); "" if all hold.
std::string FirstUnmetExpectation(const v1::SmokeCheck& check, const HttpOutcome& outcome);

}  // namespace flightdeck::health::smoke
