#include "common/protojson/reader.h"

#include <charconv>
#include <cstdint>
#include <limits>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/clock/civil.h"

namespace flightdeck::protojson {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;
using nlohmann::json;

// An integer given as a JSON integer, or as a string of digits (proto3 JSON writes 64-bit
// integers as strings). 1.0, 1e3 and " 1" are left to protobuf.
template <typename T>
bool IntegerOf(const json& v, T* out) {
  if (v.is_number_unsigned()) {
    uint64_t n = v.get<uint64_t>();
    if (n > static_cast<uint64_t>(std::numeric_limits<T>::max())) return false;
    *out = static_cast<T>(n);
    return true;
  }
  if (v.is_number_integer()) {
    int64_t n = v.get<int64_t>();
    if constexpr (std::is_unsigned_v<T>) {
      if (n < 0 || static_cast<uint64_t>(n) > std::numeric_limits<T>::max()) return false;
    } else {
      if (n < std::numeric_limits<T>::min() || n > std::numeric_limits<T>::max()) return false;
    }
    *out = static_cast<T>(n);
    return true;
  }
  if (!v.is_string()) return false;
  const std::string& s = v.get_ref<const std::string&>();
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

// A double given as a JSON number. A zero written as an integer may have been "-0", whose sign
// the parsed document no longer knows; "NaN" and "Infinity" are protobuf's to read.
bool DoubleOf(const json& v, double* out) {
  if (!v.is_number()) return false;
  if (!v.is_number_float() && v.get<int64_t>() == 0) return false;
  *out = v.get<double>();
  return true;
}

// protobuf's JSON form of a Duration ("600s", "-1.5s", "0.000000001s"), within its range.
bool ReadDuration(const json& v, Message* out) {
  if (!v.is_string()) return false;
  std::string_view s = v.get_ref<const std::string&>();
  if (s.size() < 2 || s.back() != 's') return false;
  s.remove_suffix(1);
  const bool negative = s.front() == '-';
  if (negative) s.remove_prefix(1);
  std::string_view whole = s.substr(0, s.find('.'));
  std::string_view fraction = whole.size() < s.size() ? s.substr(whole.size() + 1) : std::string_view();
  if (whole.empty() || whole.size() > 12 || fraction.size() > 9 || (whole.size() < s.size() && fraction.empty())) {
    return false;
  }
  int64_t seconds = 0;
  int32_t nanos = 0;
  for (char c : whole) {
    if (c < '0' || c > '9') return false;
    seconds = seconds * 10 + (c - '0');
  }
  for (size_t i = 0; i < 9; ++i) {
    char c = i < fraction.size() ? fraction[i] : '0';
    if (c < '0' || c > '9') return false;
    nanos = nanos * 10 + (c - '0');
  }
  if (seconds > 315576000000LL) return false;
  const Descriptor* d = out->GetDescriptor();
  const Reflection* r = out->GetReflection();
  r->SetInt64(out, d->FindFieldByNumber(1), negative ? -seconds : seconds);
  r->SetInt32(out, d->FindFieldByNumber(2), negative ? -nanos : nanos);
  return true;
}

// `n` decimal digits of `s` at `at`.
bool Digits(std::string_view s, size_t at, size_t n, int* out) {
  if (at + n > s.size()) return false;
  int v = 0;
  for (size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

// A Timestamp in the form protobuf writes ("2026-11-22T10:00:00Z", 0 to 9 fraction digits, UTC,
// years 0001-9999). An offset, a lower-case 't' or 'z', a leap second: protobuf's to read.
bool ReadTimestamp(const json& v, Message* out) {
  if (!v.is_string()) return false;
  std::string_view s = v.get_ref<const std::string&>();
  int year, month, day, hour, minute, second;
  if (!Digits(s, 0, 4, &year) || s.size() < 20 || s[4] != '-' || !Digits(s, 5, 2, &month) || s[7] != '-' ||
      !Digits(s, 8, 2, &day) || s[10] != 'T' || !Digits(s, 11, 2, &hour) || s[13] != ':' ||
      !Digits(s, 14, 2, &minute) || s[16] != ':' || !Digits(s, 17, 2, &second)) {
    return false;
  }
  size_t at = 19;
  int nanos = 0;
  if (s[at] == '.') {
    size_t digits = 0;
    for (++at; at < s.size() && s[at] >= '0' && s[at] <= '9'; ++at, ++digits) {
      if (digits == 9) return false;
      nanos = nanos * 10 + (s[at] - '0');
    }
    if (digits == 0) return false;
    for (; digits < 9; ++digits) nanos *= 10;
  }
  if (at + 1 != s.size() || s[at] != 'Z') return false;
  if (year < 1 || month < 1 || month > 12 || day < 1 ||
      day > static_cast<int>(DaysInMonth(year, static_cast<unsigned>(month))) || hour > 23 || minute > 59 ||
      second > 59) {
    return false;
  }
  const long long days = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const Descriptor* d = out->GetDescriptor();
  const Reflection* r = out->GetReflection();
  r->SetInt64(out, d->FindFieldByNumber(1), days * 86400 + hour * 3600 + minute * 60 + second);
  r->SetInt32(out, d->FindFieldByNumber(2), nanos);
  return true;
}

// The wrappers read here; FloatValue and BytesValue are protobuf's.
bool IsWrapper(Descriptor::WellKnownType type) {
  switch (type) {
    case Descriptor::WELLKNOWNTYPE_STRINGVALUE:
    case Descriptor::WELLKNOWNTYPE_BOOLVALUE:
    case Descriptor::WELLKNOWNTYPE_INT32VALUE:
    case Descriptor::WELLKNOWNTYPE_INT64VALUE:
    case Descriptor::WELLKNOWNTYPE_UINT32VALUE:
    case Descriptor::WELLKNOWNTYPE_UINT64VALUE:
    case Descriptor::WELLKNOWNTYPE_DOUBLEVALUE:
      return true;
    default:
      return false;
  }
}

bool ReadObject(const json& object, bool ignore_unknown, Message* out);

// One value of field `f` of `m`: set, or added when the field is repeated.
bool ReadValue(const json& v, const FieldDescriptor* f, bool ignore_unknown, Message* m, const Reflection* r) {
  const bool add = f->is_repeated();
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING: {
      if (f->type() == FieldDescriptor::TYPE_BYTES || !v.is_string()) return false;
      const std::string& s = v.get_ref<const std::string&>();
      add ? r->AddString(m, f, s) : r->SetString(m, f, s);
      return true;
    }
    case FieldDescriptor::CPPTYPE_INT32: {
      int32_t n;
      if (!IntegerOf(v, &n)) return false;
      add ? r->AddInt32(m, f, n) : r->SetInt32(m, f, n);
      return true;
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      int64_t n;
      if (!IntegerOf(v, &n)) return false;
      add ? r->AddInt64(m, f, n) : r->SetInt64(m, f, n);
      return true;
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      uint32_t n;
      if (!IntegerOf(v, &n)) return false;
      add ? r->AddUInt32(m, f, n) : r->SetUInt32(m, f, n);
      return true;
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t n;
      if (!IntegerOf(v, &n)) return false;
      add ? r->AddUInt64(m, f, n) : r->SetUInt64(m, f, n);
      return true;
    }
    case FieldDescriptor::CPPTYPE_DOUBLE: {
      double d;
      if (!DoubleOf(v, &d)) return false;
      add ? r->AddDouble(m, f, d) : r->SetDouble(m, f, d);
      return true;
    }
    case FieldDescriptor::CPPTYPE_BOOL:
      if (!v.is_boolean()) return false;
      add ? r->AddBool(m, f, v.get<bool>()) : r->SetBool(m, f, v.get<bool>());
      return true;
    case FieldDescriptor::CPPTYPE_ENUM: {
      if (!v.is_string()) return false;
      const auto* e = f->enum_type()->FindValueByName(v.get_ref<const std::string&>());
      if (e == nullptr) return false;
      add ? r->AddEnum(m, f, e) : r->SetEnum(m, f, e);
      return true;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      // Every google.protobuf message this reads has a well-known type; the others are
      // protobuf's (Empty has none, and is refused by its name).
      const Descriptor* type = f->message_type();
      const Descriptor::WellKnownType kind = type->well_known_type();
      const bool well_known = kind != Descriptor::WELLKNOWNTYPE_UNSPECIFIED || type->file()->package() == "google.protobuf";
      const bool duration = kind == Descriptor::WELLKNOWNTYPE_DURATION;
      const bool timestamp = kind == Descriptor::WELLKNOWNTYPE_TIMESTAMP;
      if (well_known && !IsWrapper(kind) && !duration && !timestamp) return false;
      Message* sub = add ? r->AddMessage(m, f) : r->MutableMessage(m, f);
      if (duration) return ReadDuration(v, sub);
      if (timestamp) return ReadTimestamp(v, sub);
      if (well_known) {
        const FieldDescriptor* value = sub->GetDescriptor()->FindFieldByNumber(1);
        return ReadValue(v, value, ignore_unknown, sub, sub->GetReflection());
      }
      return v.is_object() && ReadObject(v, ignore_unknown, sub);
    }
    default:  // float: protobuf's range and precision rules
      return false;
  }
}

bool ReadMap(const json& object, const FieldDescriptor* f, bool ignore_unknown, Message* m, const Reflection* r) {
  if (!object.is_object()) return false;
  const Descriptor* entry_type = f->message_type();
  const FieldDescriptor* key = entry_type->map_key();
  const FieldDescriptor* value = entry_type->map_value();
  if (key->cpp_type() != FieldDescriptor::CPPTYPE_STRING) return false;
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (it.value().is_null()) return false;
    Message* entry = r->AddMessage(m, f);
    const Reflection* er = entry->GetReflection();
    er->SetString(entry, key, it.key());
    if (!ReadValue(it.value(), value, ignore_unknown, entry, er)) return false;
  }
  return true;
}

bool ReadObject(const json& object, bool ignore_unknown, Message* out) {
  const Descriptor* type = out->GetDescriptor();
  const Reflection* r = out->GetReflection();
  // Fields given so far: a second spelling of one, or a second member of a oneof, is protobuf's
  // to judge. Messages have few fields, so a short list beats a set.
  const FieldDescriptor* given[32];
  size_t given_count = 0;
  for (auto it = object.begin(); it != object.end(); ++it) {
    const FieldDescriptor* f = FieldNamed(type, it.key());
    if (f == nullptr) {
      if (ignore_unknown && !it.key().empty()) continue;  // protobuf refuses an empty name
      return false;
    }
    const json& v = it.value();
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
        f->message_type()->well_known_type() == Descriptor::WELLKNOWNTYPE_VALUE) {
      return false;  // null means a null value there, not an absent field
    }
    if (v.is_null()) continue;  // an absent field, as protobuf reads it
    if (given_count == std::size(given)) return false;
    for (size_t i = 0; i < given_count; ++i) {
      if (given[i] == f) return false;
      if (f->containing_oneof() != nullptr && given[i]->containing_oneof() == f->containing_oneof()) return false;
    }
    given[given_count++] = f;
    if (f->is_map()) {
      if (!ReadMap(v, f, ignore_unknown, out, r)) return false;
    } else if (f->is_repeated()) {
      if (!v.is_array()) return false;
      for (const json& element : v) {
        if (element.is_null() || !ReadValue(element, f, ignore_unknown, out, r)) return false;
      }
    } else if (!ReadValue(v, f, ignore_unknown, out, r)) {
      return false;
    }
  }
  return true;
}

}  // namespace

const FieldDescriptor* FieldNamed(const Descriptor* type, const std::string& key) {
  // A scan: messages have few fields, and the pool's look-up by name hashes the key and its
  // parent each time (a few percent of the gateway's CPU per alert batch).
  for (int i = 0; i < type->field_count(); ++i) {
    if (type->field(i)->name() == key) return type->field(i);
  }
  for (int i = 0; i < type->field_count(); ++i) {
    if (type->field(i)->json_name() == key) return type->field(i);
  }
  return nullptr;
}

bool ReadPlain(const json& object, bool ignore_unknown_fields, Message* out) {
  return object.is_object() && ReadObject(object, ignore_unknown_fields, out);
}

}  // namespace flightdeck::protojson
