#include "services/gateway/rest/transcode.h"

#include "services/gateway/rest/json_writer.h"

#include <charconv>
#include <cstdio>
#include <cstdlib>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>

#include "common/config/config.h"
#include "common/protojson/reader.h"
#include "common/text/utf8.h"

namespace flightdeck::gateway {
namespace {

using google::protobuf::FieldDescriptor;

grpc::Status Invalid(const std::string& message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// The enum value a client named, in any case ("viewer", "Viewer", "VIEWER").
const google::protobuf::EnumValueDescriptor* FindEnumValue(const google::protobuf::EnumDescriptor* type,
                                                           const std::string& name) {
  if (const auto* v = type->FindValueByName(name)) return v;
  return type->FindValueByName(Upper(name));
}

std::string EnumNames(const google::protobuf::EnumDescriptor* type) {
  std::string names;
  for (int i = 1; i < type->value_count(); ++i) names += (i > 1 ? ", " : "") + type->value(i)->name();
  return names;
}

// Protobuf's JSON form of a duration ("600s", "1.5s"); anything else is read as a Go-style
// duration ("10m", "1h30m", "500ms") and rewritten into it.
bool IsProtobufDuration(const std::string& text) {
  size_t i = 0;
  if (i < text.size() && text[i] == '-') ++i;
  size_t digits = i;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  if (i == digits) return false;
  if (i < text.size() && text[i] == '.') {
    ++i;
    size_t frac = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    if (i == frac) return false;
  }
  return i + 1 == text.size() && text[i] == 's';
}

using google::protobuf::Descriptor;

bool IsFreeForm(const Descriptor* type) {
  switch (type->well_known_type()) {
    case Descriptor::WELLKNOWNTYPE_STRUCT:
    case Descriptor::WELLKNOWNTYPE_VALUE:
    case Descriptor::WELLKNOWNTYPE_LISTVALUE:
    case Descriptor::WELLKNOWNTYPE_ANY:
      return true;
    default:
      return false;
  }
}

// Whether a value of `field` may be rewritten or refused here: an enum name, a duration, or a
// message that may hold one (or an unknown field). Strings, numbers, booleans, timestamps and
// wrappers are protobuf's to check, so no path is built for them: an alert batch has thousands
// of label values.
bool MayNormalize(const FieldDescriptor* field) {
  if (field->cpp_type() == FieldDescriptor::CPPTYPE_ENUM) return true;
  if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) return false;
  const Descriptor::WellKnownType kind = field->message_type()->well_known_type();
  return kind == Descriptor::WELLKNOWNTYPE_UNSPECIFIED || kind == Descriptor::WELLKNOWNTYPE_DURATION;
}

void NormalizeValue(nlohmann::json& value, const FieldDescriptor* field, const std::string& path,
                    bool ignore_unknown, std::vector<std::string>* errors);

// Walks a JSON body along the message's descriptor before protobuf parses it: enum names are
// matched in any case, durations may be written as "10m", and every problem found is reported
// at once, each naming its field.
void NormalizeMessage(nlohmann::json& object, const google::protobuf::Descriptor* type,
                      const std::string& path, bool ignore_unknown, std::vector<std::string>* errors) {
  if (!object.is_object() || IsFreeForm(type)) return;
  const std::string prefix = path.empty() ? "" : path + ".";
  for (auto it = object.begin(); it != object.end(); ++it) {
    const FieldDescriptor* field = protojson::FieldNamed(type, it.key());
    if (field == nullptr) {
      if (!ignore_unknown) errors->push_back(prefix + it.key() + ": unknown field");
      continue;
    }
    const FieldDescriptor* map_value = field->is_map() ? field->message_type()->map_value() : nullptr;
    if (!MayNormalize(map_value != nullptr ? map_value : field)) continue;
    const std::string field_path = prefix + field->name();
    nlohmann::json& value = it.value();
    if (value.is_null()) continue;
    if (map_value != nullptr) {
      if (!value.is_object()) continue;  // protobuf reports it
      for (auto m = value.begin(); m != value.end(); ++m) {
        NormalizeValue(m.value(), map_value, field_path + "[\"" + m.key() + "\"]", ignore_unknown, errors);
      }
    } else if (field->is_repeated()) {
      if (!value.is_array()) continue;
      for (size_t i = 0; i < value.size(); ++i) {
        NormalizeValue(value[i], field, field_path + "[" + std::to_string(i) + "]", ignore_unknown, errors);
      }
    } else {
      NormalizeValue(value, field, field_path, ignore_unknown, errors);
    }
  }
}

void NormalizeValue(nlohmann::json& value, const FieldDescriptor* field, const std::string& path,
                    bool ignore_unknown, std::vector<std::string>* errors) {
  if (field->cpp_type() == FieldDescriptor::CPPTYPE_ENUM) {
    if (!value.is_string()) return;  // a number: protobuf checks it
    const auto* v = FindEnumValue(field->enum_type(), value.get<std::string>());
    if (v == nullptr) {
      errors->push_back(path + ": \"" + value.get<std::string>() + "\" is not one of " +
                        EnumNames(field->enum_type()));
    } else {
      value = v->name();
    }
    return;
  }
  if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) return;
  const google::protobuf::Descriptor* type = field->message_type();
  if (type->well_known_type() == Descriptor::WELLKNOWNTYPE_DURATION) {
    if (!value.is_string()) return;
    std::string text = value.get<std::string>();
    if (IsProtobufDuration(text)) return;
    std::optional<std::chrono::milliseconds> d = config::ParseDuration(text);
    if (!d) {
      errors->push_back(path + ": \"" + text + "\" is not a duration (e.g. 600s, 10m, 1h30m, 500ms)");
      return;
    }
    char buffer[48];
    std::snprintf(buffer, sizeof buffer, "%lld.%03llds", static_cast<long long>(d->count() / 1000),
                  static_cast<long long>(d->count() % 1000));
    value = std::string(buffer);
    return;
  }
  NormalizeMessage(value, type, path, ignore_unknown, errors);
}

template <typename T>
bool ParseInt(const std::string& text, T* out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size() && !text.empty();
}

// Sets one scalar field from its text form ("50", "true", "CANARY").
grpc::Status SetScalar(const std::string& param, const std::string& value, const FieldDescriptor* f,
                       google::protobuf::Message* msg) {
  const google::protobuf::Reflection* r = msg->GetReflection();
  auto bad = [&](const std::string& expected) {
    return Invalid(param + ": \"" + value + "\" is not " + expected);
  };
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      r->SetString(msg, f, value);
      return grpc::Status::OK;
    case FieldDescriptor::CPPTYPE_INT32: {
      int32_t v;
      if (!ParseInt(value, &v)) return bad("an integer");
      r->SetInt32(msg, f, v);
      return grpc::Status::OK;
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      int64_t v;
      if (!ParseInt(value, &v)) return bad("an integer");
      r->SetInt64(msg, f, v);
      return grpc::Status::OK;
    }
    case FieldDescriptor::CPPTYPE_UINT32: {
      uint32_t v;
      if (!ParseInt(value, &v)) return bad("a non-negative integer");
      r->SetUInt32(msg, f, v);
      return grpc::Status::OK;
    }
    case FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t v;
      if (!ParseInt(value, &v)) return bad("a non-negative integer");
      r->SetUInt64(msg, f, v);
      return grpc::Status::OK;
    }
    case FieldDescriptor::CPPTYPE_BOOL:
      if (value == "true" || value == "1") {
        r->SetBool(msg, f, true);
      } else if (value == "false" || value == "0") {
        r->SetBool(msg, f, false);
      } else {
        return bad("true or false");
      }
      return grpc::Status::OK;
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT: {
      char* end = nullptr;
      double v = std::strtod(value.c_str(), &end);
      if (value.empty() || *end != '\0') return bad("a number");
      if (f->cpp_type() == FieldDescriptor::CPPTYPE_DOUBLE) {
        r->SetDouble(msg, f, v);
      } else {
        r->SetFloat(msg, f, static_cast<float>(v));
      }
      return grpc::Status::OK;
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      const google::protobuf::EnumValueDescriptor* e = FindEnumValue(f->enum_type(), value);
      if (e == nullptr || e->number() == 0) return bad("one of " + EnumNames(f->enum_type()));
      r->SetEnum(msg, f, e);
      return grpc::Status::OK;
    }
    default:
      return Invalid(param + ": cannot be given as a URL parameter");
  }
}

grpc::Status SetParam(const std::string& name, const std::string& value, bool from_path,
                      google::protobuf::Message* msg) {
  const FieldDescriptor* f = protojson::FieldNamed(msg->GetDescriptor(), name);
  if (f == nullptr || f->is_repeated() || f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
    return Invalid(std::string(from_path ? "path parameter " : "query parameter ") +
                   text::ToUtf8(name) + ": not supported here");
  }
  // Percent-decoding can spell any bytes, but protobuf strings (and the error messages that
  // quote a value) must be UTF-8: a service would fail to read the request.
  if (!text::IsUtf8(value)) {
    return Invalid(name + ": \"" + text::ToUtf8(value) + "\" is not UTF-8 text (its percent-encoded bytes)");
  }
  return SetScalar(name, value, f, msg);
}

// Path parameters, then query parameters, over what the body set.
grpc::Status ApplyParams(const std::map<std::string, std::string>& path_params,
                         const std::vector<std::pair<std::string, std::string>>& query,
                         google::protobuf::Message* out) {
  for (const auto& [name, value] : path_params) {
    if (grpc::Status s = SetParam(name, value, true, out); !s.ok()) return s;
  }
  for (const auto& [name, value] : query) {
    if (grpc::Status s = SetParam(name, value, false, out); !s.ok()) return s;
  }
  return grpc::Status::OK;
}

}  // namespace

grpc::Status BuildRequest(const std::string& body,
                          const std::map<std::string, std::string>& path_params,
                          const std::vector<std::pair<std::string, std::string>>& query,
                          google::protobuf::Message* out) {
  return BuildRequest(body, path_params, query, BuildOptions(), out);
}

grpc::Status BuildRequest(const std::string& body,
                          const std::map<std::string, std::string>& path_params,
                          const std::vector<std::pair<std::string, std::string>>& query,
                          const BuildOptions& options, google::protobuf::Message* out) {
  if (!body.empty()) {
    std::string normalized;
    nlohmann::json doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (doc.is_object()) {
      std::vector<std::string> errors;
      NormalizeMessage(doc, out->GetDescriptor(), "", options.ignore_unknown_fields, &errors);
      if (!errors.empty()) {
        std::string message;
        for (const std::string& e : errors) message += (message.empty() ? "" : "; ") + e;
        return Invalid(message);
      }
      out->Clear();
      if (protojson::ReadPlain(doc, options.ignore_unknown_fields, out)) return ApplyParams(path_params, query, out);
      out->Clear();
      try {
        normalized = doc.dump();
      } catch (const nlohmann::json::exception&) {
        normalized.clear();  // not valid UTF-8: protobuf's parser says why
      }
    }
    google::protobuf::util::JsonParseOptions parse_options;
    parse_options.ignore_unknown_fields = options.ignore_unknown_fields;
    auto status = google::protobuf::util::JsonStringToMessage(normalized.empty() ? body : normalized,
                                                               out, parse_options);
    if (!status.ok()) {
      // protobuf's parser reports over several lines; callers (and PagerDuty's error list,
      // one entry per line) expect one.
      std::string message(status.message());
      for (char& c : message) {
        if (c == '\n' || c == '\r') c = ' ';
      }
      while (!message.empty() && message.back() == ' ') message.pop_back();
      return Invalid("body: " + message);
    }
  }
  return ApplyParams(path_params, query, out);
}

std::string ToJson(const google::protobuf::Message& message) {
  std::string out;
  out.reserve(1024);
  AppendJson(message, &out);
  return out;
}

}  // namespace flightdeck::gateway
