#include "cli/format.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace flightdeck::cli {
namespace {

// The gRPC code names, by number, for gateways that send a numeric code.
constexpr std::array<const char*, 17> kCodeNames = {
    "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};

std::string FieldViolations(const Json& details) {
  std::string out;
  if (!details.is_array()) return out;
  for (const Json& detail : details) {
    const Json* violations = FindField(detail, "field_violations");
    if (violations == nullptr || !violations->is_array()) continue;
    for (const Json& v : *violations) {
      out += "  " + FieldText(v, "field") + ": " + FieldText(v, "description") + "\n";
    }
  }
  return out;
}

thread_local bool color_enabled = false;

constexpr const char* kReset = "\033[0m";

const char* ToneCode(Tone tone) {
  switch (tone) {
    case Tone::kGood:
      return "\033[32m";
    case Tone::kBad:
      return "\033[31m";
    case Tone::kWarn:
      return "\033[33m";
  }
  return "";
}

struct WordTone {
  std::string_view word;
  Tone tone;
};

// Release states, incident states and severities, health statuses, smoke and verification
// results. Words that mean "nothing to see" (PENDING, SEV4, UNKNOWN, CLOSED) stay plain.
constexpr std::array<WordTone, 24> kWordTones = {{
    {"SUCCEEDED", Tone::kGood},     {"HEALTHY", Tone::kGood},
    {"PASSED", Tone::kGood},        {"PASS", Tone::kGood},
    {"RESOLVED", Tone::kGood},      {"FAILED", Tone::kBad},
    {"FAIL", Tone::kBad},           {"ROLLED_BACK", Tone::kBad},
    {"ROLLING_BACK", Tone::kBad},   {"ABORTED", Tone::kBad},
    {"UNHEALTHY", Tone::kBad},      {"SEV1", Tone::kBad},
    {"SEV2", Tone::kBad},           {"TRIGGERED", Tone::kBad},
    {"CANARY", Tone::kWarn},        {"PROMOTING", Tone::kWarn},
    {"VERIFYING", Tone::kWarn},     {"AWAITING_APPROVAL", Tone::kWarn},
    {"DEGRADED", Tone::kWarn},      {"SEV3", Tone::kWarn},
    {"ACKNOWLEDGED", Tone::kWarn},  {"RUNNING", Tone::kWarn},
    {"INCONCLUSIVE", Tone::kWarn},  {"QUEUED", Tone::kWarn},
}};

}  // namespace

ColorScope::ColorScope(bool enabled) : previous_(color_enabled) { color_enabled = enabled; }
ColorScope::~ColorScope() { color_enabled = previous_; }
bool ColorEnabled() { return color_enabled; }

std::string Tint(std::string_view text, Tone tone) {
  if (!color_enabled || text.empty()) return std::string(text);
  return ToneCode(tone) + std::string(text) + kReset;
}

std::string Paint(std::string_view word) {
  for (const WordTone& entry : kWordTones) {
    if (entry.word == word) return Tint(word, entry.tone);
  }
  return std::string(word);
}

size_t VisibleWidth(std::string_view text) {
  size_t width = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const auto ch = static_cast<unsigned char>(text[i]);
    if (ch == 0x1b && i + 1 < text.size() && text[i + 1] == '[') {
      // CSI: ESC [ parameters, then one final byte in @..~.
      i += 2;
      while (i < text.size() && (text[i] < '@' || text[i] > '~')) ++i;
      continue;
    }
    if ((ch & 0xC0) != 0x80) ++width;  // not a UTF-8 continuation byte
  }
  return width;
}

std::string CamelCase(std::string_view snake) {
  std::string out;
  bool upper = false;
  for (char ch : snake) {
    if (ch == '_') {
      upper = true;
      continue;
    }
    out.push_back(upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(ch))) : ch);
    upper = false;
  }
  return out;
}

const Json* FindField(const Json& object, std::string_view proto_name) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(std::string(proto_name));
  if (it == object.end()) it = object.find(CamelCase(proto_name));
  return it == object.end() ? nullptr : &*it;
}

std::string OneLine(std::string text, size_t limit) {
  for (char& ch : text) {
    if (ch == '\n' || ch == '\r' || ch == '\t') ch = ' ';
  }
  const auto not_space = [](unsigned char ch) { return !std::isspace(ch); };
  text.erase(text.begin(), std::find_if(text.begin(), text.end(), not_space));
  text.erase(std::find_if(text.rbegin(), text.rend(), not_space).base(), text.end());
  if (text.size() > limit) text = text.substr(0, limit) + "...";
  return text;
}

std::string DumpJson(const Json& value, int indent) {
  return value.dump(indent, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace);
}

std::string FormatTable(const std::vector<std::string>& headers,
                        const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths(headers.size(), 0);
  auto measure = [&widths](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], VisibleWidth(row[i]));
    }
  };
  measure(headers);
  for (const auto& row : rows) measure(row);

  auto line = [&widths](const std::vector<std::string>& row) {
    std::string out;
    for (size_t i = 0; i < widths.size(); ++i) {
      const std::string cell = i < row.size() ? row[i] : "";
      out += cell;
      if (i + 1 < widths.size()) out += std::string(widths[i] - VisibleWidth(cell) + 2, ' ');
    }
    out.erase(out.find_last_not_of(' ') + 1);
    return out + "\n";
  };
  std::string out = line(headers);
  for (const auto& row : rows) out += line(row);
  return out;
}

std::string FieldText(const Json& object, std::string_view proto_name) {
  const Json* field = FindField(object, proto_name);
  if (field == nullptr || field->is_null()) return "";
  if (field->is_string()) return field->get<std::string>();
  return DumpJson(*field);
}

std::string CellOrDash(std::string text) { return text.empty() ? std::string("-") : text; }

std::string ShortCommit(std::string_view sha) { return std::string(sha.substr(0, 12)); }

std::string ShortTime(std::string_view rfc3339) {
  // 2026-03-01T12:00:00.123456Z -> 2026-03-01T12:00:00Z
  const size_t dot = rfc3339.find('.');
  if (dot == std::string_view::npos || rfc3339.find('T') == std::string_view::npos) {
    return std::string(rfc3339);
  }
  size_t end = dot + 1;
  while (end < rfc3339.size() && std::isdigit(static_cast<unsigned char>(rfc3339[end]))) ++end;
  return std::string(rfc3339.substr(0, dot)) + std::string(rfc3339.substr(end));
}

std::string FormatError(long http_status, const std::string& body) {
  const Json parsed = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  const Json* error = parsed.is_discarded() ? nullptr : FindField(parsed, "error");
  if (error != nullptr && error->is_object()) {
    std::string code = FieldText(*error, "code");
    const Json* code_field = FindField(*error, "code");
    if (code_field != nullptr && code_field->is_number_integer()) {
      const auto n = code_field->get<long long>();
      if (n >= 0 && n < static_cast<long long>(kCodeNames.size())) code = kCodeNames[n];
    }
    if (code.empty()) code = "HTTP " + std::to_string(http_status);
    std::string out = "error: " + code + ": " + OneLine(FieldText(*error, "message"), 1000) + "\n";
    if (const Json* details = FindField(*error, "details")) out += FieldViolations(*details);
    return out;
  }
  std::string snippet = OneLine(body, 200);
  return "error: HTTP " + std::to_string(http_status) +
         (snippet.empty() ? std::string(" with an empty body") : ": " + snippet) + "\n";
}

}  // namespace flightdeck::cli
