#include "services/incidents/matchers.h"

#include <algorithm>

#include <re2/re2.h>

#include "services/incidents/validation.h"

namespace flightdeck::incidents {
namespace {

const std::string& LabelOrEmpty(const Labels& labels, const std::string& name) {
  static const std::string kEmpty;
  auto it = labels.find(name);
  return it == labels.end() ? kEmpty : it->second;
}

v1::Matcher MakeMatcher(const std::string& name, const std::string& op, const std::string& value) {
  v1::Matcher m;
  m.set_name(name);
  m.set_op(op);
  m.set_value(value);
  return m;
}

}  // namespace

grpc::Status Matcher::Parse(const v1::Matcher& m, const std::string& field, Matcher* out) {
  FieldErrors errors;
  if (m.name().empty()) errors.Add(field + ".name", "required");
  Matcher result;
  result.name_ = m.name();
  result.value_ = m.value();
  const std::string& op = m.op();
  if (op.empty() || op == "=") {
    result.op_ = Op::kEq;
  } else if (op == "!=") {
    result.op_ = Op::kNe;
  } else if (op == "=~") {
    result.op_ = Op::kRe;
  } else if (op == "!~") {
    result.op_ = Op::kNre;
  } else {
    errors.Add(field + ".op", EnumProblem(op, {"=", "!=", "=~", "!~"}));
  }
  if (result.op_ == Op::kRe || result.op_ == Op::kNre) {
    // Alertmanager anchors matcher regexps at both ends.
    RE2::Options options;
    options.set_log_errors(false);
    auto re = std::make_shared<const RE2>("^(?:" + m.value() + ")$", options);
    if (!re->ok()) {
      errors.Add(field + ".value", "not a valid regular expression: " + re->error());
    } else {
      result.re_ = std::move(re);
    }
  }
  if (!errors.empty()) return errors.ToStatus();
  *out = std::move(result);
  return grpc::Status::OK;
}

bool Matcher::Matches(const Labels& labels) const {
  const std::string& v = LabelOrEmpty(labels, name_);
  switch (op_) {
    case Op::kEq:
      return v == value_;
    case Op::kNe:
      return v != value_;
    case Op::kRe:
      return RE2::FullMatch(v, *re_);
    case Op::kNre:
      return !RE2::FullMatch(v, *re_);
  }
  return false;
}

grpc::Status ParseMatchers(const google::protobuf::RepeatedPtrField<v1::Matcher>& in,
                           const std::string& field, Matchers* out) {
  FieldErrors errors;
  Matchers result;
  result.reserve(in.size());
  for (int i = 0; i < in.size(); ++i) {
    Matcher m;
    grpc::Status s = Matcher::Parse(in.Get(i), field + "[" + std::to_string(i) + "]", &m);
    errors.Add(s);
    if (s.ok()) result.push_back(std::move(m));
  }
  if (!errors.empty()) return errors.ToStatus();
  *out = std::move(result);
  return grpc::Status::OK;
}

bool MatchesAll(const Matchers& matchers, const Labels& labels) {
  return std::all_of(matchers.begin(), matchers.end(),
                     [&](const Matcher& m) { return m.Matches(labels); });
}

grpc::Status ParseInhibitRule(const v1::InhibitionRule& rule, InhibitRule* out) {
  // Alertmanager allows empty matcher lists, but a rule whose source or target matches every
  // alert silences whole services by accident; we ask for both.
  FieldErrors errors;
  if (rule.source_matchers().empty()) errors.Add("source_matchers", "must not be empty");
  if (rule.target_matchers().empty()) errors.Add("target_matchers", "must not be empty");
  InhibitRule result;
  result.id = rule.id();
  errors.Add(ParseMatchers(rule.source_matchers(), "source_matchers", &result.source));
  errors.Add(ParseMatchers(rule.target_matchers(), "target_matchers", &result.target));
  for (int i = 0; i < rule.equal_size(); ++i) {
    if (rule.equal(i).empty()) {
      errors.Add("equal[" + std::to_string(i) + "]", "must be a label name");
      continue;
    }
    result.equal.push_back(rule.equal(i));
  }
  if (!errors.empty()) return errors.ToStatus();
  *out = std::move(result);
  return grpc::Status::OK;
}

bool Inhibits(const InhibitRule& rule, const Labels& source, const std::string& source_fingerprint,
              const Labels& target, const std::string& target_fingerprint) {
  if (source_fingerprint == target_fingerprint) return false;
  if (!MatchesAll(rule.target, target) || !MatchesAll(rule.source, source)) return false;
  return std::all_of(rule.equal.begin(), rule.equal.end(), [&](const std::string& name) {
    return LabelOrEmpty(source, name) == LabelOrEmpty(target, name);
  });
}

v1::InhibitionRule DefaultInhibitionRule() {
  v1::InhibitionRule rule;
  rule.set_id("default-service-down");
  *rule.add_source_matchers() = MakeMatcher("alertname", "=", "ServiceDown");
  *rule.add_target_matchers() = MakeMatcher("alertname", "=~", "HighResponseTime|HighErrorRate");
  rule.add_equal("service");
  rule.add_equal("environment");
  rule.set_comment("a service that is down makes its latency and error alerts noise");
  return rule;
}

}  // namespace flightdeck::incidents
