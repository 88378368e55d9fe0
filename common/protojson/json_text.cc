#include "common/protojson/json_text.h"

namespace flightdeck::protojson {

void AppendJsonString(std::string_view s, std::string* out) {
  static const char kHex[] = "0123456789abcdef";
  out->push_back('"');
  const char* run = s.data();
  const char* const end = run + s.size();
  for (const char* p = run; p != end; ++p) {
    const unsigned char c = static_cast<unsigned char>(*p);
    if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f) continue;
    out->append(run, static_cast<size_t>(p - run));
    run = p + 1;
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      default:
        out->append("\\u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 0xf]);
    }
  }
  out->append(run, static_cast<size_t>(end - run));
  out->push_back('"');
}

void JsonRows::Row() {
  text_ += text_.size() > 1 ? ",{" : "{";
  first_ = true;
}

void JsonRows::Add(const char* name, std::string_view value) { AppendJsonString(value, Key(name)); }

void JsonRows::Add(const char* name, long long value) { *Key(name) += std::to_string(value); }

void JsonRows::AddBool(const char* name, bool value) { *Key(name) += value ? "true" : "false"; }

void JsonRows::Add(const char* name, const std::optional<long long>& value) {
  if (value) return Add(name, *value);
  *Key(name) += "null";
}

void JsonRows::Add(const char* name, const std::map<std::string, std::string>& object) {
  std::string* out = Key(name);
  out->push_back('{');
  for (const auto& [key, value] : object) {
    if (out->back() != '{') out->push_back(',');
    AppendJsonString(key, out);
    out->push_back(':');
    AppendJsonString(value, out);
  }
  out->push_back('}');
}

std::string* JsonRows::Key(const char* name) {
  if (!first_) text_ += ',';
  first_ = false;
  text_ += '"';
  text_ += name;
  text_ += "\":";
  return &text_;
}

}  // namespace flightdeck::protojson
