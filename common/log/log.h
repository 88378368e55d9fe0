#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

namespace flightdeck::log {

// One structured field; the value is kept JSON-encoded.
class Field {
 public:
  Field(std::string_view key, std::string_view value);
  Field(std::string_view key, const char* value) : Field(key, std::string_view(value)) {}
  Field(std::string_view key, const std::string& value) : Field(key, std::string_view(value)) {}
  Field(std::string_view key, long long value);
  Field(std::string_view key, int value) : Field(key, static_cast<long long>(value)) {}
  Field(std::string_view key, long value) : Field(key, static_cast<long long>(value)) {}
  Field(std::string_view key, unsigned long value) : Field(key, static_cast<long long>(value)) {}
  Field(std::string_view key, double value);
  Field(std::string_view key, bool value);

  const std::string& key() const { return key_; }
  const std::string& json_value() const { return json_value_; }

 private:
  std::string key_;
  std::string json_value_;
};

using Fields = std::initializer_list<Field>;

// Writes JSON lines to stderr: {"ts","level","msg","service","trace_id","span_id",...fields}.
// trace_id/span_id come from the span current on the calling thread; both keys are always present
// and are empty strings when there is none, so every line has the same shape. Fields follow in
// order; a field named like one of those six keys is written as "field_<key>".
// level: trace|debug|info|warn|error|critical|off (throws std::invalid_argument otherwise).
// Lines below the level are dropped before any formatting. Before Init the level is info and the
// service is the program name.
void Init(std::string_view service, std::string_view level);
void Shutdown();  // flushes

void Debug(std::string_view msg, Fields fields = {});
void Info(std::string_view msg, Fields fields = {});
void Warn(std::string_view msg, Fields fields = {});
void Error(std::string_view msg, Fields fields = {});

// Masks secrets: the password in scheme://user:password@host URLs ("user:***@"), "Bearer <token>"
// values ("Bearer [REDACTED]"), and the values of password=/token=/secret= (any key containing
// password, passwd, secret, token, api_key) in URL queries, libpq conninfo strings and JSON text
// ("***"). Applied to messages and string fields; fields whose key contains password, passwd,
// secret, token, authorization, api_key or is "key" (case-insensitive) are "[REDACTED]" whole.
std::string Redact(std::string_view text);

// The JSON line Info() would write, for tests.
std::string FormatLine(std::string_view level, std::string_view msg, Fields fields);

}  // namespace flightdeck::log
