#include "services/releases/metric_source.h"

#include <curl/curl.h>

#include "common/net/curl_egress.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <memory>
#include <tuple>
#include <mutex>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "common/clock/timestamps.h"
#include "common/text/utf8.h"

namespace flightdeck::releases {
namespace {

// A Prometheus answer bigger than this is not an instant vector about one canary.
constexpr size_t kMaxResponseBytes = 4 * 1024 * 1024;
constexpr long long kDefaultRequests = 100;

std::string PromDuration(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + "s";
  return std::to_string(d.count()) + "ms";
}

// Values land inside PromQL double-quoted label matchers: a quote or backslash in a label value
// must not end the string early and change the query.
std::string EscapeForPromQLString(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    out += c;
  }
  return out;
}

// http://user:pass@host:9090 -> http://***@host:9090: details go into the release timeline.
std::string RedactUserInfo(const std::string& url) {
  size_t scheme = url.find("://");
  size_t host_start = scheme == std::string::npos ? 0 : scheme + 3;
  size_t at = url.find('@', host_start);
  size_t slash = url.find('/', host_start);
  if (at == std::string::npos || (slash != std::string::npos && at > slash)) return url;
  return url.substr(0, host_start) + "***" + url.substr(at);
}

std::string FormatNumber(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

void EnsureCurlInitialised() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t AppendBody(char* data, size_t size, size_t nmemb, void* user) {
  auto* body = static_cast<std::string*>(user);
  size_t n = size * nmemb;
  if (body->size() + n > kMaxResponseBytes) return 0;  // curl reports a write error
  body->append(data, n);
  return n;
}

struct HttpReply {
  bool reached = false;
  long status = 0;
  std::string body;
  std::string error;  // why the server could not be reached
};

HttpReply HttpGet(const std::string& url, std::chrono::milliseconds timeout,
                  const net::EgressPolicy* egress) {
  HttpReply reply;
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
  if (!curl) {
    reply.error = "curl_easy_init failed";
    return reply;
  }
  char errbuf[CURL_ERROR_SIZE] = {0};
  CURL* h = curl.get();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  // Signals must not be used for timeouts in a multi-threaded process.
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout.count()));
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &AppendBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &reply.body);
  net::CurlEgressGuard guard{egress, {}};
  net::CheckEgressOnConnect(h, &guard);
  CURLcode rc = curl_easy_perform(h);
  if (rc != CURLE_OK) {
    reply.error = !guard.refusal.empty() ? guard.refusal
                  : errbuf[0] != '\0'     ? errbuf
                                          : curl_easy_strerror(rc);
    return reply;
  }
  reply.reached = true;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &reply.status);
  return reply;
}

bool ParseSampleValue(const nlohmann::json& value, double& out) {
  // Prometheus renders sample values as strings: "0.08", "NaN", "+Inf".
  if (!value.is_string()) return false;
  std::string s = value.get<std::string>();
  const char* begin = s.c_str();
  if (*begin == '+') ++begin;
  const char* end = s.c_str() + s.size();
  auto [ptr, ec] = std::from_chars(begin, end, out);
  return ec == std::errc() && ptr == end;
}

enum class Aggregate { kSum, kMax };

// One query's outcome: a number, or why there is none.
struct QueryResult {
  std::optional<double> value;
  std::string problem;  // set when value is empty
};

// Several series (one per pod, per route, ...) fold into one number: counts add up, rates and
// latencies take the worst series. Series whose value is NaN (no traffic there) are left out.
QueryResult ParseQueryResponse(const HttpReply& reply, Aggregate aggregate) {
  QueryResult result;
  nlohmann::json doc = nlohmann::json::parse(reply.body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    // The body's start goes into the timeline: whatever bytes it holds (a proxy's page, a
    // compressed answer, a character cut at byte 200) must become text the store takes.
    result.problem = "prometheus answered HTTP " + std::to_string(reply.status) +
                     " with a body that is not JSON: " + text::ToStorableText(reply.body.substr(0, 200));
    return result;
  }
  if (doc.value("status", "") != "success") {
    std::string type = doc.value("errorType", "");
    std::string error = text::ToStorableText(doc.value("error", ""));  // JSON can spell a NUL
    result.problem = "prometheus error" + (type.empty() ? "" : " (" + text::ToStorableText(type) + ")") + ": " +
                     (error.empty() ? "HTTP " + std::to_string(reply.status) : error);
    return result;
  }
  const nlohmann::json* data = doc.contains("data") ? &doc["data"] : nullptr;
  if (data == nullptr || !data->is_object() || !data->contains("result")) {
    result.problem = "prometheus answer has no data.result";
    return result;
  }
  std::string type = data->value("resultType", "");
  const nlohmann::json& res = (*data)["result"];
  std::vector<double> samples;
  if (type == "scalar") {
    double v;
    if (!res.is_array() || res.size() != 2 || !ParseSampleValue(res[1], v)) {
      result.problem = "prometheus answered a malformed scalar";
      return result;
    }
    samples.push_back(v);
  } else if (type == "vector") {
    if (!res.is_array()) {
      result.problem = "prometheus answered a malformed vector";
      return result;
    }
    for (const auto& series : res) {
      double v;
      if (!series.is_object() || !series.contains("value") || !series["value"].is_array() ||
          series["value"].size() != 2 || !ParseSampleValue(series["value"][1], v)) {
        result.problem = "prometheus answered a malformed vector sample";
        return result;
      }
      samples.push_back(v);
    }
  } else {
    result.problem = "query returned a " + (type.empty() ? std::string("?") : type) +
                     " result; an instant vector or scalar is needed";
    return result;
  }

  std::optional<double> folded;
  for (double v : samples) {
    if (std::isnan(v)) continue;
    if (!folded) {
      folded = v;
    } else if (aggregate == Aggregate::kSum) {
      *folded += v;
    } else {
      *folded = std::max(*folded, v);
    }
  }
  if (samples.empty()) {
    result.problem = "no data (empty result: no series match)";
  } else if (!folded) {
    result.problem = "no data (NaN: no traffic in the window?)";
  } else if (std::isinf(*folded)) {
    result.problem = "no data (value is infinite)";
  } else {
    result.value = folded;
  }
  return result;
}

std::string UnixSecondsWithFraction(Clock::TimePoint t) {
  long long ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  char buf[64];
  std::snprintf(buf, sizeof buf, "%lld.%03lld", ms / 1000, ms % 1000);
  return buf;
}

std::chrono::milliseconds WindowLength(const Window& window, const v1::AnalysisConfig& analysis) {
  auto length = std::chrono::duration_cast<std::chrono::milliseconds>(window.to - window.from);
  if (length.count() > 0) return length;
  if (analysis.has_interval()) {
    auto interval = std::chrono::seconds(analysis.interval().seconds()) +
                    std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::nanoseconds(analysis.interval().nanos()));
    if (interval.count() > 0) return interval;
  }
  return std::chrono::seconds(60);
}

// Every finite point of a range query's matrix, or why there are none.
std::string ParseMatrixSamples(const HttpReply& reply, std::vector<double>* out) {
  nlohmann::json doc = nlohmann::json::parse(reply.body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return "prometheus answered HTTP " + std::to_string(reply.status) + " with a body that is not JSON";
  }
  if (doc.value("status", "") != "success") {
    return "prometheus error: " + text::ToStorableText(doc.value("error", "HTTP " + std::to_string(reply.status)));
  }
  const nlohmann::json& data = doc["data"];
  if (!data.is_object() || data.value("resultType", "") != "matrix" || !data.contains("result") ||
      !data["result"].is_array()) {
    return "query_range did not return a matrix";
  }
  for (const auto& series : data["result"]) {
    if (!series.is_object() || !series.contains("values") || !series["values"].is_array()) {
      return "prometheus answered a malformed matrix";
    }
    for (const auto& point : series["values"]) {
      double v;
      if (!point.is_array() || point.size() != 2 || !ParseSampleValue(point[1], v)) {
        return "prometheus answered a malformed matrix point";
      }
      if (std::isfinite(v)) out->push_back(v);
    }
  }
  return "";
}

}  // namespace

std::string SubstituteQuery(const std::string& query, const v1::Release& release,
                            std::chrono::milliseconds window) {
  const std::pair<std::string, std::string> values[] = {
      {"${service}", EscapeForPromQLString(release.service())},
      {"${environment}", EscapeForPromQLString(release.environment())},
      {"${version}", EscapeForPromQLString(release.version())},
      {"${commit_sha}", EscapeForPromQLString(release.commit_sha())},
      {"${window}", PromDuration(window)},
  };
  std::string out;
  out.reserve(query.size());
  size_t i = 0;
  while (i < query.size()) {
    bool replaced = false;
    if (query.compare(i, 2, "${") == 0) {
      for (const auto& [name, value] : values) {
        if (query.compare(i, name.size(), name) == 0) {
          out += value;
          i += name.size();
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) out += query[i++];
  }
  return out;
}

PrometheusSource::PrometheusSource(std::chrono::milliseconds timeout,
                                   const net::EgressPolicy* egress)
    : timeout_(timeout), egress_(egress) {
  EnsureCurlInitialised();
}

std::string PrometheusSource::DestinationRefusal(const v1::AnalysisConfig& analysis) const {
  if (egress_ == nullptr || analysis.prometheus().url().empty()) return "";
  std::string refusal = net::HttpUrlRefusal(*egress_, analysis.prometheus().url());
  return refusal.empty() ? "" : "canary.analysis.prometheus.url: " + refusal;
}

SourceResult PrometheusSource::Fetch(const v1::Release& release, const v1::AnalysisConfig& analysis,
                                     const Window& window) {
  SourceResult result;
  const v1::PrometheusQuery& config = analysis.prometheus();
  if (config.url().empty()) {
    result.detail = "prometheus source: no url configured";
    return result;
  }
  if (config.error_rate_query().empty()) {
    result.detail = "prometheus source: no error_rate_query configured";
    return result;
  }
  std::string base = config.url();
  while (!base.empty() && base.back() == '/') base.pop_back();
  std::chrono::milliseconds length = WindowLength(window, analysis);
  std::string time_param = UnixSecondsWithFraction(window.to);

  std::string detail;
  // Runs one query; on failure fills result.detail with everything run so far.
  auto run = [&](const char* label, const std::string& configured,
                 Aggregate aggregate) -> std::optional<double> {
    std::string promql = SubstituteQuery(configured, release, length);
    if (!detail.empty()) detail += "; ";
    detail += std::string(label) + ": " + promql;
    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> esc(curl_easy_init(), &curl_easy_cleanup);
    char* encoded =
        esc ? curl_easy_escape(esc.get(), promql.c_str(), static_cast<int>(promql.size()))
            : nullptr;
    if (encoded == nullptr) {
      detail += " -> cannot encode the query";
      result.detail = detail;
      return std::nullopt;
    }
    std::string url = base + "/api/v1/query?query=" + encoded + "&time=" + time_param;
    curl_free(encoded);
    HttpReply reply = HttpGet(url, timeout_, egress_);
    if (!reply.reached) {
      detail += " -> cannot reach prometheus at " + RedactUserInfo(base) + ": " + reply.error;
      result.detail = detail;
      return std::nullopt;
    }
    QueryResult parsed = ParseQueryResponse(reply, aggregate);
    if (!parsed.value) {
      detail += " -> " + parsed.problem;
      result.detail = detail;
      return std::nullopt;
    }
    detail += " = " + FormatNumber(*parsed.value);
    return parsed.value;
  };

  std::optional<double> ratio = run("error_rate", config.error_rate_query(), Aggregate::kMax);
  if (!ratio) return result;

  long long requests =
      analysis.has_min_requests() ? analysis.min_requests().value() : kDefaultRequests;
  if (!config.requests_query().empty()) {
    std::optional<double> count = run("requests", config.requests_query(), Aggregate::kSum);
    if (!count) return result;
    requests = std::max(0LL, std::llround(*count));
  } else {
    detail += "; requests: not queried, reported as min_requests " + std::to_string(requests);
  }

  // A ratio outside 0..1 means the query is wrong, not that more than every request failed.
  double r = std::clamp(*ratio, 0.0, 1.0);
  if (r != *ratio) detail += " (error rate clamped to " + FormatNumber(r) + ")";

  Observation observation;
  observation.requests = requests;
  observation.errors = std::llround(r * static_cast<double>(requests));
  if (!config.p99_latency_ms_query().empty()) {
    // A configured latency limit that cannot be checked must not let the window PASS.
    std::optional<double> p99 =
        run("p99_latency_ms", config.p99_latency_ms_query(), Aggregate::kMax);
    if (!p99) return result;
    observation.p99_latency_ms = p99;
  }
  result.observation = observation;
  result.detail = detail;
  return result;
}

void PrometheusSource::FetchSamples(const v1::Release& release, const v1::AnalysisConfig& analysis,
                                    const Window& window, VersionSamples* out, std::string* detail) {
  *out = VersionSamples{};
  const v1::PrometheusQuery& config = analysis.prometheus();
  if (config.url().empty() || config.latency_samples_query().empty()) {
    *detail = "prometheus source: no url or latency_samples_query configured";
    return;
  }
  if (release.baseline_version().empty()) {
    *detail = "no baseline version: nothing ran in " + release.environment() + " before this release";
    return;
  }
  std::string base = config.url();
  while (!base.empty() && base.back() == '/') base.pop_back();
  const std::chrono::milliseconds length = WindowLength(window, analysis);
  std::chrono::milliseconds step = std::chrono::seconds(15);
  if (config.has_latency_samples_step() && MillisOf(config.latency_samples_step()).count() > 0) {
    step = MillisOf(config.latency_samples_step());
  }
  const std::string start = UnixSecondsWithFraction(window.to - length);
  const std::string end = UnixSecondsWithFraction(window.to);
  detail->clear();
  for (const auto& [label, version, samples] :
       {std::tuple<const char*, std::string, std::vector<double>*>{"canary", release.version(), &out->canary},
        {"baseline", release.baseline_version(), &out->baseline}}) {
    v1::Release as_version = release;
    as_version.set_version(version);
    const std::string promql = SubstituteQuery(config.latency_samples_query(), as_version, length);
    if (!detail->empty()) *detail += "; ";
    *detail += std::string(label) + ": " + promql;
    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> esc(curl_easy_init(), &curl_easy_cleanup);
    char* encoded = esc ? curl_easy_escape(esc.get(), promql.c_str(), static_cast<int>(promql.size()))
                        : nullptr;
    if (encoded == nullptr) {
      *detail += " -> cannot encode the query";
      *out = VersionSamples{};
      return;
    }
    const std::string url = base + "/api/v1/query_range?query=" + encoded + "&start=" + start +
                            "&end=" + end + "&step=" + PromDuration(step);
    curl_free(encoded);
    HttpReply reply = HttpGet(url, timeout_, egress_);
    std::string problem = reply.reached ? ParseMatrixSamples(reply, samples)
                                        : "cannot reach prometheus at " + RedactUserInfo(base) + ": " + reply.error;
    if (!problem.empty()) {
      *detail += " -> " + problem;
      *out = VersionSamples{};
      return;
    }
    *detail += " -> " + std::to_string(samples->size()) + " samples";
  }
}

HealthSource::HealthSource(std::shared_ptr<grpc::Channel> channel, std::chrono::milliseconds timeout)
    : stub_(v1::HealthService::NewStub(std::move(channel))), timeout_(timeout) {}

SourceResult HealthSource::Fetch(const v1::Release& release, const v1::AnalysisConfig& analysis,
                                 const Window& window) {
  SourceResult result;
  const std::string& target = analysis.health().target();
  if (target.empty()) {
    result.detail = "analysis.health.target is not set";
    return result;
  }
  auto length = std::chrono::duration_cast<std::chrono::seconds>(window.to - window.from);
  v1::GetTargetStatsRequest request;
  request.set_name(target);
  request.set_window_seconds(std::max<long long>(1, length.count()));
  SetTimestamp(request.mutable_end(), window.to);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + timeout_);
  v1::TargetWindowStats stats;
  grpc::Status s = stub_->GetTargetStats(&context, request, &stats);
  result.detail = "health target " + target + " over " + std::to_string(length.count()) + "s";
  if (!s.ok()) {
    result.detail += ": " + s.error_message();
    return result;
  }
  if (stats.probes() == 0) {
    result.detail += ": no probe results in the window";
    return result;
  }
  Observation o;
  o.requests = stats.probes();
  o.errors = stats.probes() - stats.successes();
  o.p99_latency_ms = stats.latency_p99_ms();
  result.observation = o;
  result.detail += ": " + std::to_string(stats.successes()) + "/" + std::to_string(stats.probes()) +
                   " probes passed";
  (void)release;
  return result;
}

}  // namespace flightdeck::releases
