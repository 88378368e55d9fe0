#include "services/incidents/policy_document.h"

#include <string>
#include <utility>
#include <vector>

#include "common/notify/format.h"
#include "services/incidents/validation.h"

namespace flightdeck::incidents {
namespace {

// Every target of a policy with the field path that names it in errors.
std::vector<std::pair<v1::NotificationTarget*, std::string>> TargetsOf(v1::EscalationPolicy* p) {
  std::vector<std::pair<v1::NotificationTarget*, std::string>> out;
  for (int i = 0; i < p->on_open_size(); ++i) out.emplace_back(p->mutable_on_open(i), "on_open[" + std::to_string(i) + "]");
  for (int l = 0; l < p->levels_size(); ++l) {
    for (int i = 0; i < p->levels(l).targets_size(); ++i) {
      out.emplace_back(p->mutable_levels(l)->mutable_targets(i),
                       "levels[" + std::to_string(l) + "].targets[" + std::to_string(i) + "]");
    }
  }
  return out;
}

// Each url and secret is bound to its policy and its place in the document.
secrets::Binding FieldBinding(const v1::EscalationPolicy& p, const std::string& field) {
  return {"incidents.escalation_policies.document." + field, p.name()};
}

grpc::Status SealField(const secrets::KeyRing& keys, const v1::EscalationPolicy& p, const std::string& field,
                       std::string* value) {
  if (value->empty() || secrets::IsSealedValue(*value)) return grpc::Status::OK;
  if (keys.empty()) return secrets::NeedsMasterKey(field);
  return secrets::SealValue(keys, *value, FieldBinding(p, field), value);
}

}  // namespace

grpc::Status CheckTarget(v1::NotificationTarget* t, const std::string& field) {
  FieldErrors errors;
  if (t->name().empty()) errors.Add(field + ".name", "required");
  const std::string& url = t->url();
  bool http = url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0;
  if (!http || url.find("://") + 3 >= url.size()) errors.Add(field + ".url", "must be an http:// or https:// URL");
  if (t->format().empty()) t->set_format("json");
  // Answered in one form, lower case as Alertmanager's receivers spell it.
  std::string format = CanonicalEnum(t->format(), {"JSON", "SLACK"});
  if (format.empty()) {
    errors.Add(field + ".format", EnumProblem(t->format(), {"json", "slack"}));
  } else {
    for (char& c : format) c = static_cast<char>(c - 'A' + 'a');
    t->set_format(format);
  }
  return errors.ToStatus();
}

void HideSecrets(v1::EscalationPolicy* p) {
  auto hide = [](v1::NotificationTarget* t) {
    t->set_has_secret(!t->secret().empty());
    t->clear_secret();
  };
  for (auto& t : *p->mutable_on_open()) hide(&t);
  for (auto& level : *p->mutable_levels()) {
    for (auto& t : *level.mutable_targets()) hide(&t);
  }
}

std::string UrlSchemeAndHost(const std::string& url) { return notify::UrlSchemeAndHost(url); }

void RedactUrls(v1::EscalationPolicy* p) {
  for (auto& [t, field] : TargetsOf(p)) {
    t->set_url(UrlSchemeAndHost(t->url()));
    t->set_url_redacted(true);
  }
}

grpc::Status SealPolicy(const secrets::KeyRing& keys, v1::EscalationPolicy* p) {
  for (auto& [t, field] : TargetsOf(p)) {
    if (grpc::Status s = SealField(keys, *p, field + ".url", t->mutable_url()); !s.ok()) return s;
    if (grpc::Status s = SealField(keys, *p, field + ".secret", t->mutable_secret()); !s.ok()) return s;
  }
  return grpc::Status::OK;
}

grpc::Status OpenPolicy(const secrets::KeyRing& keys, v1::EscalationPolicy* p) {
  for (auto& [t, field] : TargetsOf(p)) {
    for (auto [value, name] : {std::pair{t->mutable_url(), ".url"}, std::pair{t->mutable_secret(), ".secret"}}) {
      std::string plain;
      grpc::Status s = secrets::OpenValue(keys, *value, FieldBinding(*p, field + name), &plain);
      if (!s.ok()) {
        return grpc::Status(s.error_code(), "escalation policy \"" + p->name() + "\" " + field + name + ": " +
                                                s.error_message());
      }
      *value = std::move(plain);
    }
  }
  return grpc::Status::OK;
}

}  // namespace flightdeck::incidents
