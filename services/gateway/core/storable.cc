#include "services/gateway/core/storable.h"

#include <cstdint>
#include <cstring>
#include <map>

#include "common/text/utf8.h"

namespace flightdeck::gateway {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

bool IsText(const FieldDescriptor* f) { return f->type() == FieldDescriptor::TYPE_STRING; }

bool HasNul(std::string_view s) { return std::memchr(s.data(), '\0', s.size()) != nullptr; }

// Reads a base-128 varint at `*at`; false past the end of `bytes` or beyond 64 bits.
bool ReadVarint(std::string_view bytes, size_t* at, uint64_t* value) {
  *value = 0;
  for (int shift = 0; shift < 64 && *at < bytes.size(); shift += 7) {
    const auto byte = static_cast<unsigned char>(bytes[(*at)++]);
    *value |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

// The field of `type` numbered `number`; messages have few fields, so a scan beats the pool's
// hash look-up.
const FieldDescriptor* FieldNumbered(const Descriptor* type, uint64_t number) {
  for (int i = 0; i < type->field_count(); ++i) {
    if (static_cast<uint64_t>(type->field(i)->number()) == number) return type->field(i);
  }
  return nullptr;
}

// Calls `each(field, payload)` for every length-delimited field of `bytes` that `type` knows
// (strings, bytes, messages, map entries, packed numbers) until it returns true; false when it
// never did (or `bytes` ends early).
template <typename Each>
bool ForEachDelimited(const Descriptor* type, std::string_view bytes, Each each) {
  size_t at = 0;
  while (at < bytes.size()) {
    uint64_t tag = 0, length = 0;
    if (!ReadVarint(bytes, &at, &tag)) return false;
    switch (tag & 7) {
      case 0:  // varint
        if (!ReadVarint(bytes, &at, &length)) return false;
        break;
      case 1:  // 64-bit
        at += 8;
        break;
      case 5:  // 32-bit
        at += 4;
        break;
      case 2: {  // length-delimited
        if (!ReadVarint(bytes, &at, &length) || length > bytes.size() - at) return false;
        const FieldDescriptor* f = FieldNumbered(type, tag >> 3);
        if (f != nullptr && each(f, bytes.substr(at, length))) return true;
        at += length;
        break;
      }
      default:  // groups: proto2 only, never in a request
        return false;
    }
  }
  return false;
}

// True when a string in `bytes` holds a NUL. With `found`, also names it: the paths are built
// only then (a second walk), so that the common case allocates nothing.
bool Find(const Descriptor* type, std::string_view bytes, const std::string& prefix, std::string* found) {
  std::map<int, int> seen;  // with `found`: elements of each repeated field met so far
  auto index = [&](const FieldDescriptor* f) { return "[" + std::to_string(seen[f->number()]++) + "]"; };
  return ForEachDelimited(type, bytes, [&](const FieldDescriptor* f, std::string_view payload) {
    if (f->is_map()) {
      const FieldDescriptor* key_field = f->message_type()->map_key();
      const FieldDescriptor* value_field = f->message_type()->map_value();
      std::string_view key, value;
      ForEachDelimited(f->message_type(), payload, [&](const FieldDescriptor* part, std::string_view text) {
        (part == key_field ? key : value) = text;
        return false;
      });
      const bool text_key = IsText(key_field);
      if (text_key && HasNul(key)) {
        if (found != nullptr) *found = prefix + f->name() + " (a key)";
        return true;
      }
      if (IsText(value_field) && HasNul(value)) {
        if (found != nullptr) {
          *found = prefix + f->name() + (text_key ? "[\"" + text::ToUtf8(key) + "\"]" : index(f));
        }
        return true;
      }
      if (value_field->type() != FieldDescriptor::TYPE_MESSAGE) return false;
      if (found == nullptr) return Find(value_field->message_type(), value, prefix, nullptr);
      const std::string path = prefix + f->name() + (text_key ? "[\"" + text::ToUtf8(key) + "\"]" : index(f));
      return Find(value_field->message_type(), value, path + ".", found);
    }
    std::string path;
    if (found != nullptr) path = prefix + f->name() + (f->is_repeated() ? index(f) : "");
    if (IsText(f) && HasNul(payload)) {
      if (found != nullptr) *found = path;
      return true;
    }
    if (f->type() != FieldDescriptor::TYPE_MESSAGE) return false;
    return Find(f->message_type(), payload, found != nullptr ? path + "." : prefix, found);
  });
}

}  // namespace

std::string FieldWithNul(const Descriptor* type, std::string_view serialized) {
  // No zero byte at all (most requests: a zero byte needs an empty string, a zero in a map entry
  // or a fixed-width number) means no NUL in any string, without a walk.
  if (!HasNul(serialized)) return "";
  std::string found;
  if (Find(type, serialized, "", nullptr)) Find(type, serialized, "", &found);
  return found;
}

}  // namespace flightdeck::gateway
