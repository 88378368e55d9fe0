// ProviderOptions from the standard OTEL_* environment variables
// (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/ and
// https://opentelemetry.io/docs/specs/otel/protocol/exporter/).

#include <algorithm>
#include <cctype>

#include "common/config/config.h"
#include "common/config/url.h"
#include "common/trace/trace.h"

namespace flightdeck::trace {
namespace {

using KeyValues = std::vector<std::pair<std::string, std::string>>;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// "k1=v1,k2=v2" with percent-encoded keys and values (the W3C baggage format the OTel spec uses
// for OTEL_RESOURCE_ATTRIBUTES and OTEL_EXPORTER_OTLP_HEADERS). Values are not quoted in errors:
// headers often carry API keys.
KeyValues ParseKeyValueList(const std::string& variable, const std::string& text) {
  KeyValues out;
  size_t start = 0;
  int index = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string_view item = Trim(std::string_view(text).substr(start, comma - start));
    start = comma + 1;
    ++index;
    if (item.empty()) continue;  // tolerate "a=1," and "a=1,,b=2"
    const std::string where = variable + ": entry " + std::to_string(index);
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      throw config::ConfigError(where + " is not key=value (expected k1=v1,k2=v2)");
    }
    auto key = config::PercentDecodeStrict(Trim(item.substr(0, eq)));
    auto value = config::PercentDecodeStrict(Trim(item.substr(eq + 1)));
    if (!key || !value) throw config::ConfigError(where + " has a malformed %-escape");
    if (key->empty()) throw config::ConfigError(where + " has an empty key");
    out.emplace_back(std::move(*key), std::move(*value));
  }
  return out;
}

bool IsHeaderName(const std::string& name) {
  // RFC 9110 token characters.
  return !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) !=
                                  std::string_view::npos;
  });
}

bool IsHeaderValue(const std::string& value) {
  // No control characters: a decoded CR/LF would inject headers into the export request.
  return std::none_of(value.begin(), value.end(), [](unsigned char c) {
    return (c < 0x20 && c != '\t') || c == 0x7f;
  });
}

KeyValues ParseHeaders(const config::Env& env, const std::string& variable) {
  auto raw = env.Raw(variable);
  if (!raw) return {};
  KeyValues headers = ParseKeyValueList(variable, *raw);
  for (const auto& [name, value] : headers) {
    if (!IsHeaderName(name)) {
      throw config::ConfigError(variable + ": \"" + name + "\" is not a valid header name");
    }
    if (!IsHeaderValue(value)) {
      throw config::ConfigError(variable + ": the value of " + name +
                                " contains control characters");
    }
  }
  return headers;
}

bool SameHeaderName(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

void CheckProtocol(const config::Env& env, const std::string& variable) {
  auto protocol = env.Raw(variable);
  if (protocol && *protocol != "http/json") {
    throw config::ConfigError(variable + ": \"" + *protocol +
                              "\" is not supported; only http/json is supported");
  }
}

std::string TracesUrlFromBase(std::string base) {
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/v1/traces";
}

}  // namespace

ProviderOptions OptionsFromEnv(const config::Env& env, const std::string& default_service_name) {
  ProviderOptions options;
  options.disabled = env.Bool("OTEL_SDK_DISABLED", false);

  std::optional<std::string> resource_service_name;
  if (auto raw = env.Raw("OTEL_RESOURCE_ATTRIBUTES")) {
    for (auto& [key, value] : ParseKeyValueList("OTEL_RESOURCE_ATTRIBUTES", *raw)) {
      if (key == "service.name") resource_service_name = value;
      options.resource_attributes.emplace_back(std::move(key), std::move(value));
    }
  }
  options.service_name = env.Raw("OTEL_SERVICE_NAME")
                             .value_or(resource_service_name.value_or(default_service_name));

  // The signal-specific variables win over the general ones (exporter spec).
  CheckProtocol(env, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL");
  if (!env.Raw("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")) CheckProtocol(env, "OTEL_EXPORTER_OTLP_PROTOCOL");

  if (auto url = env.HttpUrl("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")) {
    options.traces_url = *url;
  } else if (auto base = env.HttpUrl("OTEL_EXPORTER_OTLP_ENDPOINT")) {
    options.traces_url = TracesUrlFromBase(*base);
  }

  options.headers = ParseHeaders(env, "OTEL_EXPORTER_OTLP_HEADERS");
  for (auto& [name, value] : ParseHeaders(env, "OTEL_EXPORTER_OTLP_TRACES_HEADERS")) {
    auto same = [&name = name](const auto& h) { return SameHeaderName(h.first, name); };
    options.headers.erase(std::remove_if(options.headers.begin(), options.headers.end(), same),
                          options.headers.end());
    options.headers.emplace_back(std::move(name), std::move(value));
  }

  constexpr long long kMaxMillis = 3600LL * 1000;
  const long long timeout_ms = env.Int("OTEL_EXPORTER_OTLP_TIMEOUT", 10000, 1, kMaxMillis);
  options.export_timeout = std::chrono::milliseconds(
      env.Int("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", timeout_ms, 1, kMaxMillis));
  options.schedule_delay =
      std::chrono::milliseconds(env.Int("OTEL_BSP_SCHEDULE_DELAY", 5000, 1, kMaxMillis));
  options.max_queue_size =
      static_cast<size_t>(env.Int("OTEL_BSP_MAX_QUEUE_SIZE", 2048, 1, 1 << 20));
  const bool batch_given = env.Raw("OTEL_BSP_MAX_EXPORT_BATCH_SIZE").has_value();
  options.max_export_batch_size =
      static_cast<size_t>(env.Int("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512, 1, 1 << 20));
  if (options.max_export_batch_size > options.max_queue_size) {
    if (batch_given) {
      throw config::ConfigError(
          "OTEL_BSP_MAX_EXPORT_BATCH_SIZE: " + std::to_string(options.max_export_batch_size) +
          " exceeds OTEL_BSP_MAX_QUEUE_SIZE (" + std::to_string(options.max_queue_size) + ")");
    }
    options.max_export_batch_size = options.max_queue_size;
  }

  options.sampler = Sampler::FromEnv(env.String("OTEL_TRACES_SAMPLER", ""),
                                     env.String("OTEL_TRACES_SAMPLER_ARG", ""));
  return options;
}

}  // namespace flightdeck::trace
