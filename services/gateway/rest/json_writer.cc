#include "services/gateway/rest/json_writer.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>

#include "common/protojson/json_text.h"

namespace flightdeck::gateway {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// A field's name and the colon after it. protoc allows only letters, digits and '_' in field
// names, so nothing in them needs an escape.
void AppendKey(const FieldDescriptor* f, std::string* out) {
  out->push_back('"');
  out->append(f->name());
  out->append("\":");
}

// `value` as exactly `width` decimal digits (0 <= value < 10^width).
void AppendDigits(int64_t value, int width, std::string* out) {
  char buf[20];
  for (int i = width - 1; i >= 0; --i) {
    buf[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  out->append(buf, static_cast<size_t>(width));
}

template <typename T>
void AppendInteger(T v, std::string* out) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, end);
}

void AppendDouble(double v, std::string* out) {
  if (std::isnan(v)) return out->append("\"NaN\""), void();
  if (std::isinf(v)) return out->append(v > 0 ? "\"Infinity\"" : "\"-Infinity\""), void();
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, end);
}

// Fractions as protobuf prints them: none, or 3, 6 or 9 digits.
void AppendNanos(int32_t nanos, std::string* out) {
  if (nanos == 0) return;
  if (nanos < 0 || nanos > 999999999) {  // not a valid message: written as it is
    out->append("." + std::to_string(nanos));
    return;
  }
  out->push_back('.');
  if (nanos % 1000000 == 0) {
    AppendDigits(nanos / 1000000, 3, out);
  } else if (nanos % 1000 == 0) {
    AppendDigits(nanos / 1000, 6, out);
  } else {
    AppendDigits(nanos, 9, out);
  }
}

void AppendBase64(const std::string& bytes, std::string* out) {
  static const char kTable[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  out->push_back('"');
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t n = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    for (int shift = 18; shift >= 0; shift -= 6) out->push_back(kTable[(n >> shift) & 63]);
  }
  if (i < bytes.size()) {
    uint32_t n = uint8_t(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= uint8_t(bytes[i + 1]) << 8;
    out->push_back(kTable[(n >> 18) & 63]);
    out->push_back(kTable[(n >> 12) & 63]);
    out->push_back(i + 1 < bytes.size() ? kTable[(n >> 6) & 63] : '=');
    out->push_back('=');
  }
  out->push_back('"');
}

void AppendMessage(const Message& m, std::string* out);

// `r` is m's reflection, looked up once per message by the caller.
void AppendScalar(const Message& m, const Reflection* r, const FieldDescriptor* f, int index,
                  std::string* out) {
  const bool rep = index >= 0;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      AppendInteger(rep ? r->GetRepeatedInt32(m, f, index) : r->GetInt32(m, f), out);
      break;
    case FieldDescriptor::CPPTYPE_UINT32:
      AppendInteger(rep ? r->GetRepeatedUInt32(m, f, index) : r->GetUInt32(m, f), out);
      break;
    case FieldDescriptor::CPPTYPE_INT64:  // 64-bit integers are strings in proto3 JSON
      out->push_back('"');
      AppendInteger(rep ? r->GetRepeatedInt64(m, f, index) : r->GetInt64(m, f), out);
      out->push_back('"');
      break;
    case FieldDescriptor::CPPTYPE_UINT64:
      out->push_back('"');
      AppendInteger(rep ? r->GetRepeatedUInt64(m, f, index) : r->GetUInt64(m, f), out);
      out->push_back('"');
      break;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      AppendDouble(rep ? r->GetRepeatedDouble(m, f, index) : r->GetDouble(m, f), out);
      break;
    case FieldDescriptor::CPPTYPE_FLOAT: {
      float v = rep ? r->GetRepeatedFloat(m, f, index) : r->GetFloat(m, f);
      if (std::isnan(v) || std::isinf(v)) {
        AppendDouble(v, out);
      } else {
        char buf[32];
        auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
        out->append(buf, end);
      }
      break;
    }
    case FieldDescriptor::CPPTYPE_BOOL:
      out->append((rep ? r->GetRepeatedBool(m, f, index) : r->GetBool(m, f)) ? "true" : "false");
      break;
    case FieldDescriptor::CPPTYPE_ENUM: {
      int number = rep ? r->GetRepeatedEnumValue(m, f, index) : r->GetEnumValue(m, f);
      const auto* value = f->enum_type()->FindValueByNumber(number);
      if (value != nullptr) {
        protojson::AppendJsonString(value->name(), out);
      } else {
        AppendInteger(number, out);
      }
      break;
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string scratch;
      const std::string& v = rep ? r->GetRepeatedStringReference(m, f, index, &scratch)
                                 : r->GetStringReference(m, f, &scratch);
      if (f->type() == FieldDescriptor::TYPE_BYTES) {
        AppendBase64(v, out);
      } else {
        protojson::AppendJsonString(v, out);
      }
      break;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      AppendMessage(rep ? r->GetRepeatedMessage(m, f, index) : r->GetMessage(m, f), out);
      break;
  }
}

void AppendTimestamp(const Message& m, std::string* out) {
  const Descriptor* d = m.GetDescriptor();
  const Reflection* r = m.GetReflection();
  int64_t seconds = r->GetInt64(m, d->FindFieldByNumber(1));
  int32_t nanos = r->GetInt32(m, d->FindFieldByNumber(2));
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  const int year = tm.tm_year + 1900;
  if (year < 0 || year > 9999) {  // outside protobuf's range (0001-9999): written as it is
    char buf[64];
    std::snprintf(buf, sizeof buf, "\"%d-%02d-%02dT%02d:%02d:%02d", year, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec);
    out->append(buf);
    AppendNanos(nanos, out);
    out->append("Z\"");
    return;
  }
  out->push_back('"');
  AppendDigits(year, 4, out);
  out->push_back('-');
  AppendDigits(tm.tm_mon + 1, 2, out);
  out->push_back('-');
  AppendDigits(tm.tm_mday, 2, out);
  out->push_back('T');
  AppendDigits(tm.tm_hour, 2, out);
  out->push_back(':');
  AppendDigits(tm.tm_min, 2, out);
  out->push_back(':');
  AppendDigits(tm.tm_sec, 2, out);
  AppendNanos(nanos, out);
  out->append("Z\"");
}

void AppendDuration(const Message& m, std::string* out) {
  const Descriptor* d = m.GetDescriptor();
  const Reflection* r = m.GetReflection();
  int64_t seconds = r->GetInt64(m, d->FindFieldByNumber(1));
  int32_t nanos = r->GetInt32(m, d->FindFieldByNumber(2));
  out->push_back('"');
  if (seconds < 0 || nanos < 0) {
    out->push_back('-');
    seconds = -seconds;
    nanos = -nanos;
  }
  AppendInteger(seconds, out);
  AppendNanos(nanos, out);
  out->append("s\"");
}

void AppendValue(const Message& value, std::string* out);

void AppendStruct(const Message& s, std::string* out) {
  const FieldDescriptor* fields = s.GetDescriptor()->FindFieldByNumber(1);  // map<string, Value>
  const Reflection* r = s.GetReflection();
  out->push_back('{');
  const int n = r->FieldSize(s, fields);
  for (int i = 0; i < n; ++i) {
    const Message& entry = r->GetRepeatedMessage(s, fields, i);
    const Descriptor* ed = entry.GetDescriptor();
    if (i) out->push_back(',');
    protojson::AppendJsonString(entry.GetReflection()->GetString(entry, ed->FindFieldByNumber(1)), out);
    out->push_back(':');
    AppendValue(entry.GetReflection()->GetMessage(entry, ed->FindFieldByNumber(2)), out);
  }
  out->push_back('}');
}

void AppendList(const Message& list, std::string* out) {
  const FieldDescriptor* values = list.GetDescriptor()->FindFieldByNumber(1);
  const Reflection* r = list.GetReflection();
  out->push_back('[');
  for (int i = 0; i < r->FieldSize(list, values); ++i) {
    if (i) out->push_back(',');
    AppendValue(r->GetRepeatedMessage(list, values, i), out);
  }
  out->push_back(']');
}

void AppendValue(const Message& value, std::string* out) {
  const Reflection* r = value.GetReflection();
  const Descriptor* d = value.GetDescriptor();
  const FieldDescriptor* set = r->GetOneofFieldDescriptor(value, d->oneof_decl(0));
  if (set == nullptr || set->name() == "null_value") return out->append("null"), void();
  if (set->name() == "number_value") return AppendDouble(r->GetDouble(value, set), out);
  if (set->name() == "string_value") return protojson::AppendJsonString(r->GetString(value, set), out);
  if (set->name() == "bool_value") return out->append(r->GetBool(value, set) ? "true" : "false"), void();
  if (set->name() == "struct_value") return AppendStruct(r->GetMessage(value, set), out);
  AppendList(r->GetMessage(value, set), out);
}

// True when the message is a well-known type written in its special form.
bool AppendWellKnown(const Message& m, std::string* out) {
  const std::string& name = m.GetDescriptor()->full_name();
  if (name.rfind("google.protobuf.", 0) != 0) return false;
  if (name == "google.protobuf.Timestamp") return AppendTimestamp(m, out), true;
  if (name == "google.protobuf.Duration") return AppendDuration(m, out), true;
  if (name == "google.protobuf.Struct") return AppendStruct(m, out), true;
  if (name == "google.protobuf.Value") return AppendValue(m, out), true;
  if (name == "google.protobuf.ListValue") return AppendList(m, out), true;
  if (name.size() > 5 && name.compare(name.size() - 5, 5, "Value") == 0) {  // wrappers
    AppendScalar(m, m.GetReflection(), m.GetDescriptor()->FindFieldByNumber(1), -1, out);
    return true;
  }
  // Any, FieldMask, Empty...: rare here; protobuf's printer knows them.
  std::string text;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &text, options);
  out->append(text);
  return true;
}

void AppendMessage(const Message& m, std::string* out) {
  if (AppendWellKnown(m, out)) return;
  const Descriptor* d = m.GetDescriptor();
  const Reflection* r = m.GetReflection();
  out->push_back('{');
  bool first = true;
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    const bool is_message = f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE;
    // Every primitive and repeated field is printed; a message field only when set, and a
    // oneof member only when it is the one set.
    if (f->is_repeated()) {
      // printed even when empty
    } else if ((is_message || f->containing_oneof() != nullptr) && !r->HasField(m, f)) {
      continue;
    }
    if (!first) out->push_back(',');
    first = false;
    AppendKey(f, out);
    if (f->is_map()) {
      out->push_back('{');
      const int n = r->FieldSize(m, f);
      for (int k = 0; k < n; ++k) {
        const Message& entry = r->GetRepeatedMessage(m, f, k);
        const Reflection* er = entry.GetReflection();
        const FieldDescriptor* key = entry.GetDescriptor()->FindFieldByNumber(1);
        if (k) out->push_back(',');
        std::string key_json;
        AppendScalar(entry, er, key, -1, &key_json);
        if (key_json.front() != '"') key_json = "\"" + key_json + "\"";
        out->append(key_json);
        out->push_back(':');
        AppendScalar(entry, er, entry.GetDescriptor()->FindFieldByNumber(2), -1, out);
      }
      out->push_back('}');
    } else if (f->is_repeated()) {
      out->push_back('[');
      for (int k = 0; k < r->FieldSize(m, f); ++k) {
        if (k) out->push_back(',');
        AppendScalar(m, r, f, k, out);
      }
      out->push_back(']');
    } else {
      AppendScalar(m, r, f, -1, out);
    }
  }
  out->push_back('}');
}

}  // namespace

void AppendJson(const Message& message, std::string* out) { AppendMessage(message, out); }

}  // namespace flightdeck::gateway
