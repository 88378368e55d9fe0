#include "common/db/detail_json.h"

#include <cmath>

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>

#include "common/protojson/reader.h"

namespace flightdeck::db {
namespace {

bool ToStruct(const nlohmann::json& object, google::protobuf::Struct* out);

// One JSON value as protobuf reads it into a Value: every number a double. False for what only
// protobuf's parser should judge (a number beyond a double's range).
bool ToValue(const nlohmann::json& j, google::protobuf::Value* out) {
  switch (j.type()) {
    case nlohmann::json::value_t::null:
      out->set_null_value(google::protobuf::NULL_VALUE);
      return true;
    case nlohmann::json::value_t::boolean:
      out->set_bool_value(j.get<bool>());
      return true;
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
    case nlohmann::json::value_t::number_float: {
      double d = j.get<double>();
      if (!std::isfinite(d)) return false;
      out->set_number_value(d);
      return true;
    }
    case nlohmann::json::value_t::string:
      out->set_string_value(j.get_ref<const std::string&>());
      return true;
    case nlohmann::json::value_t::array: {
      google::protobuf::ListValue* list = out->mutable_list_value();
      for (const nlohmann::json& element : j) {
        if (!ToValue(element, list->add_values())) return false;
      }
      return true;
    }
    case nlohmann::json::value_t::object:
      return ToStruct(j, out->mutable_struct_value());
    default:
      return false;
  }
}

bool ToStruct(const nlohmann::json& object, google::protobuf::Struct* out) {
  auto& fields = *out->mutable_fields();
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (!ToValue(it.value(), &fields[it.key()])) return false;
  }
  return true;
}

}  // namespace

std::string DetailJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  return out;
}

namespace {

bool FromDetailJsonByProtobuf(const std::string& text, google::protobuf::Message* message) {
  message->Clear();
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  return google::protobuf::util::JsonStringToMessage(text, message, options).ok();
}

}  // namespace

bool FromDetailJson(const std::string& text, google::protobuf::Message* message) {
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  message->Clear();
  if (doc.is_object() && protojson::ReadPlain(doc, /*ignore_unknown_fields=*/true, message)) return true;
  return FromDetailJsonByProtobuf(text, message);
}

bool FromDetailDocument(const nlohmann::json& document, google::protobuf::Message* message) {
  message->Clear();
  if (document.is_object() && protojson::ReadPlain(document, /*ignore_unknown_fields=*/true, message)) return true;
  return FromDetailJsonByProtobuf(document.dump(), message);
}

bool StructFromJson(const std::string& text, google::protobuf::Struct* out) {
  out->Clear();
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return false;
  if (ToStruct(doc, out)) return true;
  out->Clear();
  return google::protobuf::util::JsonStringToMessage(text, out).ok();
}

std::string MicrosParam(int n) {
  return "(timestamptz 'epoch' + $" + std::to_string(n) + "::bigint * interval '1 microsecond')";
}

}  // namespace flightdeck::db
