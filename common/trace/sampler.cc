// OTEL_TRACES_SAMPLER semantics, as the OpenTelemetry SDK specification defines them.

#include <cmath>
#include <cstdlib>

#include "common/config/config.h"
#include "common/trace/trace.h"

namespace flightdeck::trace {
namespace {

constexpr char kSamplerVar[] = "OTEL_TRACES_SAMPLER";
constexpr char kSamplerArgVar[] = "OTEL_TRACES_SAMPLER_ARG";

// The low 8 bytes of the trace id are the random part (W3C level 2 asks for randomness in the
// right-most bytes), so comparing them with ratio * 2^64 keeps the same decision for a trace in
// every process that uses the same ratio.
bool RatioAccepts(double ratio, const std::array<uint8_t, 16>& trace_id) {
  if (ratio <= 0.0) return false;
  if (ratio >= 1.0) return true;
  uint64_t low = 0;
  for (size_t i = 8; i < 16; ++i) low = (low << 8) | trace_id[i];
  const auto bound = static_cast<uint64_t>(std::ldexp(ratio, 64));
  return low < bound;
}

double ParseRatio(const std::string& arg) {
  if (arg.empty()) return 1.0;
  const char* begin = arg.c_str();
  char* end = nullptr;
  double ratio = std::strtod(begin, &end);
  if (end == begin || *end != '\0' || !(ratio >= 0.0 && ratio <= 1.0)) {
    throw config::ConfigError(std::string(kSamplerArgVar) + ": expected a ratio between 0 and 1, got '" +
                              arg + "'");
  }
  return ratio;
}

}  // namespace

Sampler::Sampler(Kind kind, double ratio) : kind_(kind), ratio_(ratio) {}

Sampler Sampler::FromEnv(const std::string& name, const std::string& arg) {
  // The argument only matters to the ratio samplers; the others ignore it, as the spec says.
  if (name.empty() || name == "parentbased_always_on") return Sampler(Kind::kParentBasedAlwaysOn);
  if (name == "always_on") return Sampler(Kind::kAlwaysOn);
  if (name == "always_off") return Sampler(Kind::kAlwaysOff);
  if (name == "parentbased_always_off") return Sampler(Kind::kParentBasedAlwaysOff);
  if (name == "traceidratio") return Sampler(Kind::kTraceIdRatio, ParseRatio(arg));
  if (name == "parentbased_traceidratio") {
    return Sampler(Kind::kParentBasedTraceIdRatio, ParseRatio(arg));
  }
  throw config::ConfigError(std::string(kSamplerVar) + ": unknown sampler '" + name +
                            "' (expected always_on, always_off, traceidratio, "
                            "parentbased_always_on, parentbased_always_off or "
                            "parentbased_traceidratio)");
}

bool Sampler::ShouldSample(const SpanContext* parent,
                           const std::array<uint8_t, 16>& trace_id) const {
  const bool has_parent = parent != nullptr && parent->IsValid();
  switch (kind_) {
    case Kind::kAlwaysOn:
      return true;
    case Kind::kAlwaysOff:
      return false;
    case Kind::kTraceIdRatio:
      return RatioAccepts(ratio_, trace_id);
    case Kind::kParentBasedAlwaysOn:
      return has_parent ? parent->sampled() : true;
    case Kind::kParentBasedAlwaysOff:
      return has_parent ? parent->sampled() : false;
    case Kind::kParentBasedTraceIdRatio:
      return has_parent ? parent->sampled() : RatioAccepts(ratio_, trace_id);
  }
  return false;
}

}  // namespace flightdeck::trace
