#include "services/incidents/intake_parse.h"

#include <cctype>
#include <cstdio>

#include <google/protobuf/util/json_util.h>
#include <openssl/rand.h>

#include "common/clock/civil.h"
#include "common/clock/timestamps.h"
#include "common/text/utf8.h"
#include "services/incidents/fingerprint.h"
#include "services/incidents/severity.h"
#include "services/incidents/validation.h"

namespace flightdeck::incidents {
namespace {

constexpr size_t kMaxSummary = 1024;   // PagerDuty's limit on payload.summary
constexpr size_t kMaxDedupKey = 255;   // PagerDuty's limit on dedup_key
// Go's time.Time{} as Alertmanager serialises an unset endsAt: 0001-01-01T00:00:00Z.
constexpr long long kGoZeroTimeSeconds = -62135596800LL;

grpc::Status Invalid(const std::string& message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

bool IsBlank(const std::string& s) {
  for (unsigned char c : s) {
    if (!std::isspace(c)) return false;
  }
  return true;
}

bool Digits(const std::string& s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

// RFC 3339 to seconds and nanoseconds since the epoch without the range limit of
// system_clock (nanoseconds in libstdc++), so that Go's zero time can be recognised.
bool ParseRfc3339Parts(const std::string& s, long long* seconds, int* nanos) {
  int year, month, day, hour, minute, second;
  if (!Digits(s, 0, 4, &year) || s.size() < 20 || s[4] != '-' || !Digits(s, 5, 2, &month) ||
      s[7] != '-' || !Digits(s, 8, 2, &day) || (s[10] != 'T' && s[10] != 't') ||
      !Digits(s, 11, 2, &hour) || s[13] != ':' || !Digits(s, 14, 2, &minute) || s[16] != ':' ||
      !Digits(s, 17, 2, &second)) {
    return false;
  }
  if (month < 1 || month > 12 || day < 1 || day > static_cast<int>(DaysInMonth(year, static_cast<unsigned>(month))) || hour > 23 ||
      minute > 59 || second > 59) {
    return false;
  }
  size_t pos = 19;
  int frac = 0;
  if (s[pos] == '.') {
    ++pos;
    size_t digits = 0;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
      if (digits >= 9) return false;
      frac = frac * 10 + (s[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return false;
    for (size_t i = digits; i < 9; ++i) frac *= 10;
  }
  long long offset = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!Digits(s, pos + 1, 2, &oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !Digits(s, pos + 4, 2, &om) || oh > 23 || om > 59) {
      return false;
    }
    offset = (oh * 3600LL + om * 60LL) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return false;
  }
  if (pos != s.size()) return false;
  *seconds = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 +
             hour * 3600LL + minute * 60LL + second - offset;
  *nanos = frac;
  return true;
}

// Alertmanager's optional times: empty or Go's zero time mean "not set".
grpc::Status ParseOptionalTime(const std::string& text, const std::string& field,
                               std::optional<Clock::TimePoint>* out) {
  out->reset();
  if (text.empty()) return grpc::Status::OK;
  long long seconds;
  int nanos;
  if (!ParseRfc3339Parts(text, &seconds, &nanos)) {
    return Invalid(field + " is not an RFC 3339 time: \"" + text + "\"");
  }
  if (seconds <= kGoZeroTimeSeconds) return grpc::Status::OK;
  Clock::TimePoint t;
  if (!ParseRfc3339(text, &t)) return Invalid(field + " is out of range: \"" + text + "\"");
  *out = t;
  return grpc::Status::OK;
}

// A native alert's protobuf time. Timestamps reach year 9999 (and a gRPC caller may send any
// seconds), but system_clock counts int64 nanoseconds: beyond ParseRfc3339's range the
// conversion would overflow, so such a time is refused, naming the field.
void CheckedTime(const google::protobuf::Timestamp& ts, const std::string& field, FieldErrors* errors,
                 std::optional<Clock::TimePoint>* out) {
  constexpr long long kLimit = 9'000'000'000LL;  // as ParseRfc3339
  if (ts.seconds() < -kLimit || ts.seconds() > kLimit || ts.nanos() < 0 || ts.nanos() > 999'999'999) {
    errors->Add(field, "must be between the years 1685 and 2255");
    return;
  }
  *out = TimeOf(ts);
}

bool IsAlertmanagerFingerprint(const std::string& s) {
  if (s.size() != 16) return false;
  for (unsigned char c : s) {
    if (!std::isxdigit(c)) return false;
  }
  return true;
}

// A fingerprint given by the sender is its alert's identity, kept as sent (Alertmanager's 16
// hex digits in lower case): it must fit the column's index and read in logs and URLs.
void CheckGivenFingerprint(const std::string& fingerprint, const std::string& field, FieldErrors* errors) {
  if (fingerprint.size() > kMaxDedupKey) {
    errors->Add(field, "must be at most 255 characters (got " + std::to_string(fingerprint.size()) + ")");
    return;
  }
  for (unsigned char c : fingerprint) {
    if (c < 0x21 || c > 0x7E) {
      errors->Add(field, "must be printable ASCII without spaces (an opaque id such as a hash)");
      return;
    }
  }
}

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string SummaryOf(const Labels& labels, const Labels& annotations) {
  auto it = annotations.find("summary");
  if (it != annotations.end() && !it->second.empty()) return it->second;
  return labels.at("alertname");
}

std::string RandomDedupKey() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    // RAND_bytes fails only without entropy; a time-based key still deduplicates nothing wrongly.
    auto n = std::chrono::system_clock::now().time_since_epoch().count();
    for (size_t i = 0; i < sizeof(bytes); ++i) bytes[i] = static_cast<unsigned char>(n >> (i % 8 * 8));
  }
  std::string out;
  char buf[3];
  for (unsigned char b : bytes) {
    std::snprintf(buf, sizeof(buf), "%02x", b);
    out += buf;
  }
  return out;
}

}  // namespace

bool ParseRfc3339(const std::string& text, Clock::TimePoint* out) {
  long long seconds;
  int nanos;
  if (!ParseRfc3339Parts(text, &seconds, &nanos)) return false;
  // system_clock counts nanoseconds in an int64: roughly years 1678..2261.
  constexpr long long kLimit = 9'000'000'000LL;
  if (seconds < -kLimit || seconds > kLimit) return false;
  *out = Clock::TimePoint(std::chrono::duration_cast<Clock::TimePoint::duration>(
      std::chrono::seconds(seconds) + std::chrono::nanoseconds(nanos)));
  return true;
}

grpc::Status ParseAlertmanager(const v1::AlertmanagerWebhook& in, std::vector<AlertInput>* out) {
  if (!in.version().empty() && in.version() != "4") {
    return Invalid("version must be \"4\" (got \"" + in.version() + "\")");
  }
  FieldErrors errors;
  std::vector<AlertInput> result;
  result.reserve(in.alerts_size());
  for (int i = 0; i < in.alerts_size(); ++i) {
    const v1::AlertmanagerAlert& a = in.alerts(i);
    const std::string field = "alerts[" + std::to_string(i) + "]";
    AlertInput alert;
    alert.labels = Labels(a.labels().begin(), a.labels().end());
    alert.annotations = Labels(a.annotations().begin(), a.annotations().end());
    auto name = alert.labels.find("alertname");
    const bool named = name != alert.labels.end() && !name->second.empty();
    if (!named) errors.Add(field + ".labels.alertname", "required");
    if (Lower(a.status()) == "firing") {
      alert.firing = true;
    } else if (Lower(a.status()) == "resolved") {
      alert.firing = false;
    } else {
      errors.Add(field + ".status", "must be \"firing\" or \"resolved\"");
    }
    errors.Add(ParseOptionalTime(a.starts_at(), field + ".startsAt", &alert.starts_at));
    errors.Add(ParseOptionalTime(a.ends_at(), field + ".endsAt", &alert.ends_at));
    CheckGivenFingerprint(a.fingerprint(), field + ".fingerprint", &errors);
    if (!errors.empty()) continue;
    if (a.fingerprint().empty()) {
      alert.fingerprint = FingerprintHex(alert.labels);
    } else {
      alert.fingerprint = IsAlertmanagerFingerprint(a.fingerprint()) ? Lower(a.fingerprint()) : a.fingerprint();
    }
    alert.generator_url = a.generator_url();
    alert.source = "alertmanager";
    alert.summary = SummaryOf(alert.labels, alert.annotations);
    result.push_back(std::move(alert));
  }
  if (!errors.empty()) return errors.ToStatus();
  *out = std::move(result);
  return grpc::Status::OK;
}

grpc::Status ParsePagerDuty(const v1::PagerDutyEvent& in, const IntegrationView& integration,
                            AlertInput* out, std::vector<std::string>* errors) {
  errors->clear();
  // PagerDuty spells its enums in lower case; other cases are taken and stored that way.
  const std::string action = Lower(in.event_action());
  const bool trigger = action == "trigger";
  if (IsBlank(action)) {
    errors->push_back("'event_action' is missing or blank");
  } else if (!trigger && action != "acknowledge" && action != "resolve") {
    errors->push_back("'event_action' is invalid");
  }
  if (in.dedup_key().size() > kMaxDedupKey) {
    errors->push_back("'dedup_key' must be at most 255 characters");
  } else if (!trigger && !IsBlank(action) && IsBlank(in.dedup_key())) {
    errors->push_back("'dedup_key' is missing or blank");
  }
  const v1::PagerDutyPayload& p = in.payload();
  const std::string severity = Lower(p.severity());
  Clock::TimePoint timestamp;
  bool has_timestamp = false;
  if (trigger) {
    if (IsBlank(p.summary())) {
      errors->push_back("'payload.summary' is missing or blank");
    } else if (text::CharacterCount(p.summary()) > kMaxSummary) {
      errors->push_back("'payload.summary' must be at most 1024 characters");
    }
    if (IsBlank(p.source())) errors->push_back("'payload.source' is missing or blank");
    if (IsBlank(severity)) {
      errors->push_back("'payload.severity' is missing or blank");
    } else if (severity != "critical" && severity != "error" && severity != "warning" &&
               severity != "info") {
      errors->push_back("'payload.severity' is invalid");
    }
    if (!p.timestamp().empty()) {
      has_timestamp = ParseRfc3339(p.timestamp(), &timestamp);
      if (!has_timestamp) errors->push_back("'payload.timestamp' is invalid");
    }
  }
  if (!errors->empty()) {
    std::string message = "Event object is invalid: ";
    for (size_t i = 0; i < errors->size(); ++i) message += (i ? "; " : "") + (*errors)[i];
    return Invalid(message);
  }

  AlertInput alert;
  alert.fingerprint = IsBlank(in.dedup_key()) ? RandomDedupKey() : in.dedup_key();
  alert.firing = action != "resolve";
  alert.acknowledge = action == "acknowledge";
  alert.source = "pagerduty";
  alert.integration = integration.name;
  alert.severity_override = integration.severity_override;
  alert.default_severity = integration.default_severity;
  if (trigger) {
    alert.labels["alertname"] = p.class_().empty() ? "PagerDutyEvent" : p.class_();
    alert.labels["severity"] = severity;
    alert.labels["source"] = p.source();
    if (!p.component().empty()) alert.labels["component"] = p.component();
    if (!p.group().empty()) alert.labels["group"] = p.group();
    alert.summary = p.summary();
    alert.annotations["summary"] = p.summary();
    if (p.has_custom_details()) {
      std::string details;
      if (google::protobuf::util::MessageToJsonString(p.custom_details(), &details).ok()) {
        alert.annotations["custom_details"] = details;
      }
    }
    if (!in.links().empty()) alert.generator_url = in.links(0).href();
    if (has_timestamp) alert.starts_at = timestamp;
  } else {
    alert.labels["alertname"] = "PagerDutyEvent";
    alert.summary = action + " " + alert.fingerprint;
  }
  if (!integration.service.empty()) alert.labels["service"] = integration.service;
  if (!integration.environment.empty()) alert.labels["environment"] = integration.environment;
  *out = std::move(alert);
  return grpc::Status::OK;
}

grpc::Status ParseNative(const v1::PostAlertsRequest& in, std::vector<AlertInput>* out) {
  if (in.alerts().empty()) return Invalid("alerts must contain at least one alert");
  FieldErrors errors;
  std::vector<AlertInput> result;
  result.reserve(in.alerts_size());
  for (int i = 0; i < in.alerts_size(); ++i) {
    const v1::NativeAlert& a = in.alerts(i);
    const std::string field = "alerts[" + std::to_string(i) + "]";
    AlertInput alert;
    alert.labels = Labels(a.labels().begin(), a.labels().end());
    alert.annotations = Labels(a.annotations().begin(), a.annotations().end());
    auto name = alert.labels.find("alertname");
    if (name == alert.labels.end() || name->second.empty()) errors.Add(field + ".labels.alertname", "required");
    if (a.status().empty() || Lower(a.status()) == "firing") {
      alert.firing = true;
    } else if (Lower(a.status()) == "resolved") {
      alert.firing = false;
    } else {
      errors.Add(field + ".status", "must be \"firing\" or \"resolved\"");
    }
    CheckGivenFingerprint(a.fingerprint(), field + ".fingerprint", &errors);
    if (a.has_starts_at()) CheckedTime(a.starts_at(), field + ".startsAt", &errors, &alert.starts_at);
    if (a.has_ends_at()) CheckedTime(a.ends_at(), field + ".endsAt", &errors, &alert.ends_at);
    if (!errors.empty()) continue;
    if (a.fingerprint().empty()) {
      alert.fingerprint = FingerprintHex(alert.labels);
    } else {
      alert.fingerprint = IsAlertmanagerFingerprint(a.fingerprint()) ? Lower(a.fingerprint())
                                                                     : a.fingerprint();
    }
    alert.generator_url = a.generator_url();
    alert.source = in.source().empty() ? "native" : in.source();
    alert.summary = SummaryOf(alert.labels, alert.annotations);
    result.push_back(std::move(alert));
  }
  if (!errors.empty()) return errors.ToStatus();
  *out = std::move(result);
  return grpc::Status::OK;
}

}  // namespace flightdeck::incidents
