#include "common/log/log.h"

#include <errno.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <memory>
#include <mutex>
#include <stdexcept>

#include "common/text/utf8.h"
#include "common/trace/trace.h"

namespace flightdeck::log {
namespace {

constexpr char kRedactedJson[] = "\"[REDACTED]\"";

// The process-wide logger (one of the two allowed globals, STYLE.md). Never destroyed, so that
// logging from other objects' static destructors stays safe.
struct State {
  std::atomic<int> level{spdlog::level::info};
  std::mutex mu;
  std::string service = program_invocation_short_name;
  std::shared_ptr<spdlog::logger> logger;

  State() {
    // spdlog only carries our finished line to stderr; the level check happens before formatting.
    logger = std::make_shared<spdlog::logger>("flightdeck",
                                              std::make_shared<spdlog::sinks::stderr_sink_mt>());
    logger->set_pattern("%v");
    logger->set_level(spdlog::level::trace);
  }
};

State& Global() {
  static State* state = new State();
  return *state;
}

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool KeyIsSecret(std::string_view key) {
  const std::string lower = Lower(key);
  if (lower == "key") return true;
  for (const char* word :
       {"password", "passwd", "secret", "token", "authorization", "api_key", "apikey", "api-key"}) {
    if (lower.find(word) != std::string::npos) return true;
  }
  return false;
}

// A JSON string literal. Invalid UTF-8 becomes U+FFFD so that every line stays parseable.
void AppendJsonString(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
          if (c < 0x20) {
            out += "\\u00";
            out += kHex[c >> 4];
            out += kHex[c & 0x0F];
          } else {
            out += static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    const size_t length = flightdeck::text::Utf8SequenceLength(text, i);
    if (length == 0) {
      out += "\\ufffd";
      ++i;
    } else {
      out.append(text.data() + i, length);
      i += length;
    }
  }
  out += '"';
}

std::string JsonString(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  AppendJsonString(out, text);
  return out;
}

// RFC 3339 UTC with milliseconds: 2026-11-22T10:00:00.123Z.
std::string Timestamp() {
  const auto now = std::chrono::system_clock::now();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
  const std::time_t seconds = static_cast<std::time_t>(ms.count() / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[96];  // sized for any int fields, which keeps -Wformat-truncation quiet
  std::snprintf(buffer, sizeof(buffer), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min,
                utc.tm_sec, static_cast<int>(ms.count() % 1000));
  return buffer;
}

bool IsReservedKey(std::string_view key) {
  for (const char* reserved : {"ts", "level", "msg", "service", "trace_id", "span_id"}) {
    if (key == reserved) return true;
  }
  return false;
}

void Write(spdlog::level::level_enum level, std::string_view name, std::string_view msg,
           Fields fields) {
  State& state = Global();
  if (level < state.level.load(std::memory_order_relaxed)) return;
  const std::string line = FormatLine(name, msg, fields);
  state.logger->log(level, spdlog::string_view_t(line.data(), line.size()));
}

}  // namespace

Field::Field(std::string_view key, std::string_view value)
    : key_(key), json_value_(KeyIsSecret(key) ? kRedactedJson : JsonString(Redact(value))) {}

Field::Field(std::string_view key, long long value)
    : key_(key), json_value_(KeyIsSecret(key) ? kRedactedJson : std::to_string(value)) {}

Field::Field(std::string_view key, double value) : key_(key) {
  if (KeyIsSecret(key)) {
    json_value_ = kRedactedJson;
  } else if (std::isnan(value)) {
    json_value_ = "\"NaN\"";  // JSON has no NaN or infinity literals
  } else if (std::isinf(value)) {
    json_value_ = value > 0 ? "\"+Inf\"" : "\"-Inf\"";
  } else {
    char buffer[64];
    auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
    json_value_.assign(buffer, result.ptr);
  }
}

Field::Field(std::string_view key, bool value)
    : key_(key), json_value_(KeyIsSecret(key) ? kRedactedJson : (value ? "true" : "false")) {}

void Init(std::string_view service, std::string_view level) {
  static const std::pair<const char*, spdlog::level::level_enum> kLevels[] = {
      {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug},
      {"info", spdlog::level::info},   {"warn", spdlog::level::warn},
      {"warning", spdlog::level::warn}, {"error", spdlog::level::err},
      {"critical", spdlog::level::critical}, {"off", spdlog::level::off}};
  const std::string lower = Lower(level);
  const auto* found = std::find_if(std::begin(kLevels), std::end(kLevels),
                                   [&](const auto& entry) { return lower == entry.first; });
  if (found == std::end(kLevels)) {
    throw std::invalid_argument("log level \"" + std::string(level) +
                                "\" is not one of trace|debug|info|warn|error|critical|off");
  }
  State& state = Global();
  {
    std::lock_guard<std::mutex> lock(state.mu);
    state.service = std::string(service);
  }
  state.level.store(found->second, std::memory_order_relaxed);
}

void Shutdown() { Global().logger->flush(); }

void Debug(std::string_view msg, Fields fields) { Write(spdlog::level::debug, "debug", msg, fields); }
void Info(std::string_view msg, Fields fields) { Write(spdlog::level::info, "info", msg, fields); }
void Warn(std::string_view msg, Fields fields) { Write(spdlog::level::warn, "warn", msg, fields); }
void Error(std::string_view msg, Fields fields) { Write(spdlog::level::err, "error", msg, fields); }

std::string FormatLine(std::string_view level, std::string_view msg, Fields fields) {
  std::string service;
  {
    State& state = Global();
    std::lock_guard<std::mutex> lock(state.mu);
    service = state.service;
  }
  const trace::SpanContext context = trace::CurrentContext();
  const bool traced = context.IsValid();

  std::string out;
  out.reserve(160 + msg.size());
  out += "{\"ts\":\"" + Timestamp() + "\",\"level\":";
  AppendJsonString(out, level);
  out += ",\"msg\":";
  AppendJsonString(out, Redact(msg));
  out += ",\"service\":";
  AppendJsonString(out, service);
  out += ",\"trace_id\":";
  AppendJsonString(out, traced ? context.TraceIdHex() : "");
  out += ",\"span_id\":";
  AppendJsonString(out, traced ? context.SpanIdHex() : "");
  for (const Field& field : fields) {
    out += ',';
    AppendJsonString(out, IsReservedKey(field.key()) ? "field_" + field.key() : field.key());
    out += ':';
    out += field.json_value();
  }
  out += '}';
  return out;
}

}  // namespace flightdeck::log
