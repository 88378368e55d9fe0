#include "services/releases/notify_targets.h"

#include <fstream>
#include <sstream>

namespace flightdeck::releases {
namespace {

using Json = nlohmann::json;

grpc::Status Invalid(const std::string& field, const std::string& why) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, field + ": " + why);
}

bool IsHttpUrl(const std::string& url) {
  for (const char* scheme : {"http://", "https://"}) {
    const std::string s = scheme;
    if (url.size() > s.size() && url.compare(0, s.size(), s) == 0) return true;
  }
  return false;
}

std::string Joined(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) out += (out.empty() ? "" : ", ") + w;
  return out;
}

grpc::Status ReadSecretFile(const std::string& field, const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Invalid(field, "cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  *out = text.str();
  while (!out->empty() && (out->back() == '\n' || out->back() == '\r')) out->pop_back();
  if (out->empty()) return Invalid(field, path + " is empty");
  return grpc::Status::OK;
}

grpc::Status ParseTarget(const std::string& field, const Json& value, NotifyTarget* t) {
  if (!value.is_object()) return Invalid(field, "must be an object with name and url");
  std::string secret_file;
  for (const auto& [key, v] : value.items()) {
    const std::string sub = field + "." + key;
    if (key == "name" || key == "url" || key == "format" || key == "secret" || key == "secret_file") {
      if (!v.is_string()) return Invalid(sub, "must be a string");
      const std::string s = v.get<std::string>();
      if (key == "name") t->name = s;
      if (key == "url") t->url = s;
      if (key == "format") t->format = s;
      if (key == "secret") t->secret = s;
      if (key == "secret_file") secret_file = s;
    } else if (key == "events") {
      if (!v.is_array()) return Invalid(sub, "must be a list of: " + Joined(kNotifyKinds));
      for (size_t i = 0; i < v.size(); ++i) {
        const std::string item = sub + "[" + std::to_string(i) + "]";
        const std::string kind = v[i].is_string() ? v[i].get<std::string>() : v[i].dump();
        bool known = false;
        for (const std::string& k : kNotifyKinds) known = known || k == kind;
        if (!known) return Invalid(item, "\"" + kind + "\" is not one of: " + Joined(kNotifyKinds));
        t->events.insert(kind);
      }
    } else if (key == "interactive") {
      if (!v.is_boolean()) return Invalid(sub, "must be true or false");
      t->interactive = v.get<bool>();
    } else {
      return Invalid(sub, "unknown field");
    }
  }
  if (t->name.empty()) return Invalid(field + ".name", "is required");
  if (!IsHttpUrl(t->url)) return Invalid(field + ".url", "must be an http:// or https:// URL");
  if (t->format.empty()) t->format = "json";
  if (t->format != "json" && t->format != "slack") {
    return Invalid(field + ".format", "\"" + t->format + "\" is not one of: json, slack");
  }
  if (t->interactive && t->format != "slack") return Invalid(field + ".interactive", "needs format slack");
  if (!secret_file.empty()) {
    if (!t->secret.empty()) return Invalid(field + ".secret_file", "give secret or secret_file, not both");
    return ReadSecretFile(field + ".secret_file", secret_file, &t->secret);
  }
  return grpc::Status::OK;
}

}  // namespace

grpc::Status ParseNotifyTargets(const std::string& field, const Json& value, std::vector<NotifyTarget>* out) {
  if (!value.is_array()) return Invalid(field, "must be a list of targets ({\"name\", \"url\", ...})");
  std::vector<NotifyTarget> targets;
  for (size_t i = 0; i < value.size(); ++i) {
    const std::string item = field + "[" + std::to_string(i) + "]";
    NotifyTarget t;
    if (grpc::Status s = ParseTarget(item, value[i], &t); !s.ok()) return s;
    for (const NotifyTarget& other : targets) {
      if (other.name == t.name) return Invalid(item + ".name", "\"" + t.name + "\" is named twice");
    }
    targets.push_back(std::move(t));
  }
  *out = std::move(targets);
  return grpc::Status::OK;
}

std::string NotifyKindOf(const std::string& event_type, const std::string& event_data_json) {
  if (event_type == "CREATED") return "started";
  if (event_type == "PAUSED") return "canary_paused";
  if (event_type != "STATE_CHANGED") return "";
  const Json data = Json::parse(event_data_json, nullptr, false);
  const std::string to = data.is_object() && data.contains("to") && data["to"].is_string() ? data["to"].get<std::string>() : "";
  if (to == "AWAITING_APPROVAL") return "awaiting_approval";
  if (to == "ROLLED_BACK") return "rolled_back";
  if (to == "SUCCEEDED") return "succeeded";
  return "";
}

}  // namespace flightdeck::releases
