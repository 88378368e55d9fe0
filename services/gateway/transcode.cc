#include "services/gateway/transcode.h"

#include "services/gateway/json_writer.h"

#include <charconv>
#include <cstdlib>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>

namespace flightdeck::gateway {
namespace {

using google::protobuf::FieldDescriptor;

grpc::Status Invalid(const std::string& message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

const FieldDescriptor* FindField(const google::protobuf::Descriptor* type, const std::string& name) {
  if (const FieldDescriptor* f = type->FindFieldByName(name)) return f;
  for (int i = 0; i < type->field_count(); ++i) {
    if (type->field(i)->json_name() == name) return type->field(i);
  }
  return nullptr;
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
      const google::protobuf::EnumValueDescriptor* e = f->enum_type()->FindValueByName(value);
      if (e == nullptr || e->number() == 0) {
        std::string names;
        for (int i = 1; i < f->enum_type()->value_count(); ++i) {
          names += (i > 1 ? ", " : "") + f->enum_type()->value(i)->name();
        }
        return bad("one of " + names);
      }
      r->SetEnum(msg, f, e);
      return grpc::Status::OK;
    }
    default:
      return Invalid(param + ": cannot be given as a URL parameter");
  }
}

grpc::Status SetParam(const std::string& name, const std::string& value, bool from_path,
                      google::protobuf::Message* msg) {
  const FieldDescriptor* f = FindField(msg->GetDescriptor(), name);
  if (f == nullptr || f->is_repeated() || f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
    return Invalid(std::string(from_path ? "path parameter " : "query parameter ") + name +
                   ": not supported here");
  }
  return SetScalar(name, value, f, msg);
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
    google::protobuf::util::JsonParseOptions parse_options;
    parse_options.ignore_unknown_fields = options.ignore_unknown_fields;
    auto status = google::protobuf::util::JsonStringToMessage(body, out, parse_options);
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
  for (const auto& [name, value] : path_params) {
    if (grpc::Status s = SetParam(name, value, true, out); !s.ok()) return s;
  }
  for (const auto& [name, value] : query) {
    if (grpc::Status s = SetParam(name, value, false, out); !s.ok()) return s;
  }
  return grpc::Status::OK;
}

std::string ToJson(const google::protobuf::Message& message) {
  std::string out;
  out.reserve(1024);
  AppendJson(message, &out);
  return out;
}

}  // namespace flightdeck::gateway
