// libFuzzer: incidents' Alertmanager-style label matchers (silences and inhibition rules). Input
// lines: the matcher's name, op and value (an RE2 expression for =~ and !~), then "label=value"
// lines of the alert it is matched against. Parsing answers OK or INVALID_ARGUMENT naming the
// field; a parsed matcher and its negation always disagree, = is string equality with a missing
// label read as empty, and a quoted literal as a regular expression matches exactly that literal.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include <re2/re2.h>

#include "flightdeck/v1/incidents.pb.h"
#include "services/incidents/matchers.h"

namespace incidents = flightdeck::incidents;
namespace v1 = flightdeck::v1;

namespace {

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// Parses name/op/value; false (after checking the error) when the matcher is rejected.
bool ParseOne(const std::string& name, const std::string& op, const std::string& value,
              incidents::Matcher* out) {
  v1::Matcher m;
  m.set_name(name);
  m.set_op(op);
  m.set_value(value);
  grpc::Status s = incidents::Matcher::Parse(m, "matchers[0]", out);
  if (s.ok()) return true;
  if (s.error_code() != grpc::StatusCode::INVALID_ARGUMENT ||
      s.error_message().find("matchers[0].") == std::string::npos) {
    std::abort();
  }
  return false;
}

const char* Negation(const std::string& op) {
  if (op.empty() || op == "=") return "!=";
  if (op == "!=") return "=";
  if (op == "=~") return "!~";
  return "=~";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> lines = Lines(std::string(reinterpret_cast<const char*>(data), size));
  if (lines.size() < 3) return 0;
  const std::string& name = lines[0];
  const std::string& op = lines[1];
  const std::string& value = lines[2];
  incidents::Labels labels;
  for (size_t i = 3; i < lines.size(); ++i) {
    size_t eq = lines[i].find('=');
    if (eq != std::string::npos) labels[lines[i].substr(0, eq)] = lines[i].substr(eq + 1);
  }
  auto it = labels.find(name);
  const std::string actual = it == labels.end() ? "" : it->second;

  incidents::Matcher matcher;
  if (!ParseOne(name, op, value, &matcher)) return 0;
  bool matches = matcher.Matches(labels);
  if (incidents::MatchesAll({matcher}, labels) != matches) std::abort();

  incidents::Matcher negated;
  if (!ParseOne(name, Negation(op), value, &negated) || negated.Matches(labels) == matches) std::abort();
  if ((op.empty() || op == "=") && matches != (actual == value)) std::abort();

  // The value taken literally, as a regular expression, matches exactly itself.
  incidents::Matcher literal;
  if (!ParseOne(name, "=~", RE2::QuoteMeta(value), &literal)) return 0;  // e.g. beyond RE2's memory budget
  if (literal.Matches(labels) != (actual == value)) std::abort();
  return 0;
}
