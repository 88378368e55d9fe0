#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "common/clock/clock.h"
#include "common/net/egress.h"
#include <memory>

#include <grpcpp/grpcpp.h>

#include "flightdeck/v1/health.grpc.pb.h"
#include "flightdeck/v1/releases.pb.h"
#include "services/releases/canary_analysis.h"
#include "services/releases/statistical_judge.h"

namespace flightdeck::releases {

// The analysis window being judged.
struct Window {
  Clock::TimePoint from;
  Clock::TimePoint to;
};

// What a source found: an observation, or none with the reason (INCONCLUSIVE).
struct SourceResult {
  std::optional<Observation> observation;
  std::string detail;  // the query made / the reason there is no data
};

// Where the canary analysis gets its numbers (issue 3 "Sources").
class MetricSource {
 public:
  virtual ~MetricSource() = default;
  virtual SourceResult Fetch(const v1::Release& release, const v1::AnalysisConfig& analysis,
                             const Window& window) = 0;
  // Latency samples of the canary's version and the baseline's over the window, for the
  // mann_whitney judge. A source that has none leaves *out empty (INCONCLUSIVE) and says why
  // in *detail.
  virtual void FetchSamples(const v1::Release& release, const v1::AnalysisConfig& analysis,
                            const Window& window, VersionSamples* out, std::string* detail) {
    (void)release, (void)analysis, (void)window;
    *out = VersionSamples{};
    *detail = "this source gives no latency samples per version";
  }
  // For a release's creation: why the egress policy refuses where this source would connect
  // for `analysis` ("field: reason"), or "" (also when the source connects nowhere).
  virtual std::string DestinationRefusal(const v1::AnalysisConfig& analysis) const {
    (void)analysis;
    return "";
  }
};

// Prometheus HTTP API (GET <url>/api/v1/query?query=...&time=<window.to>): runs the configured
// PromQL with ${service}, ${environment}, ${version}, ${commit_sha} and ${window} (the window
// length as a PromQL duration, e.g. "60s") substituted. error_rate_query must yield one sample
// (a ratio); requests_query (optional) a count — when absent, min_requests cannot be checked
// and the request count is reported as min_requests; p99_latency_ms_query (optional)
// milliseconds. An empty result vector or NaN is "no data"; an HTTP or query error is no data
// with the error as detail. Requests time out after `timeout`. The address connected to is
// checked against `egress` (null: none): a refused one is no data with the policy's reason.
class PrometheusSource final : public MetricSource {
 public:
  explicit PrometheusSource(std::chrono::milliseconds timeout = std::chrono::seconds(10),
                            const net::EgressPolicy* egress = nullptr);
  std::string DestinationRefusal(const v1::AnalysisConfig& analysis) const override;
  SourceResult Fetch(const v1::Release& release, const v1::AnalysisConfig& analysis,
                     const Window& window) override;
  // Runs latency_samples_query as a range query over the window (GET
  // <url>/api/v1/query_range, step latency_samples_step or 15s) twice: with ${version} the
  // release's version, then the baseline's (release.baseline_version). Every finite point of
  // every series is one sample. No baseline version (the first release of the environment),
  // an HTTP or query error: no samples, with the reason.
  void FetchSamples(const v1::Release& release, const v1::AnalysisConfig& analysis,
                    const Window& window, VersionSamples* out, std::string* detail) override;

 private:
  std::chrono::milliseconds timeout_;
  const net::EgressPolicy* egress_;
};

// Replaces ${name} placeholders (exposed for tests).
std::string SubstituteQuery(const std::string& query, const v1::Release& release,
                            std::chrono::milliseconds window);

// The health service's probe results for the canary target (analysis.health.target): its
// probes in the window are the "requests", failed probes the "errors", and the probes' p99
// latency the p99. The window is widened to whole minutes (the health service's resolution);
// min_requests counts probes, so set it to what the target's period gives in a window.
class HealthSource final : public MetricSource {
 public:
  explicit HealthSource(std::shared_ptr<grpc::Channel> channel,
                        std::chrono::milliseconds timeout = std::chrono::seconds(10));
  SourceResult Fetch(const v1::Release& release, const v1::AnalysisConfig& analysis,
                     const Window& window) override;

 private:
  std::unique_ptr<v1::HealthService::Stub> stub_;
  std::chrono::milliseconds timeout_;
};

}  // namespace flightdeck::releases
