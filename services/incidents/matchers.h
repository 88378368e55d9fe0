#pragma once

#include <memory>
#include <string>
#include <vector>

#include <grpcpp/support/status.h>

#include "flightdeck/v1/incidents.pb.h"
#include "services/incidents/model.h"

namespace re2 {
class RE2;
}

// Label matchers, inhibition and silences with Alertmanager's semantics.
namespace flightdeck::incidents {

// A parsed matcher. A missing label matches as the empty string ("a label that is not there
// equals the empty value"). Regular expressions are RE2 syntax, as in Alertmanager (so `(?i)`
// works and matching takes linear time whatever the pattern), fully anchored (^(?:re)$).
class Matcher {
 public:
  // INVALID_ARGUMENT naming `field` (e.g. "matchers[0].op") for an unknown op, empty name or bad
  // regular expression.
  static grpc::Status Parse(const v1::Matcher& m, const std::string& field, Matcher* out);
  bool Matches(const Labels& labels) const;
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  std::string value_;
  enum class Op { kEq, kNe, kRe, kNre } op_ = Op::kEq;
  std::shared_ptr<const re2::RE2> re_;
};

using Matchers = std::vector<Matcher>;
grpc::Status ParseMatchers(const google::protobuf::RepeatedPtrField<v1::Matcher>& in,
                           const std::string& field, Matchers* out);
bool MatchesAll(const Matchers& matchers, const Labels& labels);  // true for an empty list

struct InhibitRule {
  std::string id;
  Matchers source;
  Matchers target;
  std::vector<std::string> equal;
};
grpc::Status ParseInhibitRule(const v1::InhibitionRule& rule, InhibitRule* out);

// Alertmanager's inhibition: `target` is inhibited by a firing `source` when the rule's target
// matchers match target, its source matchers match source, every `equal` label has the same
// value in both (missing = empty), and source is not target itself (same fingerprint).
bool Inhibits(const InhibitRule& rule, const Labels& source, const std::string& source_fingerprint,
              const Labels& target, const std::string& target_fingerprint);

// The default rule: ServiceDown inhibits HighResponseTime and HighErrorRate with equal
// service and environment.
v1::InhibitionRule DefaultInhibitionRule();

}  // namespace flightdeck::incidents
