#include "services/incidents/ids.h"

#include <algorithm>
#include <cctype>

namespace flightdeck::incidents {
namespace {

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool AllDigits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

// Only these reach a LIKE pattern: no % or _ wildcards, nothing to escape.
bool PrefixSafe(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isalnum(c) || c == '-'; });
}

const char* KindName(IdKind kind) {
  switch (kind) {
    case IdKind::kIncident: return "incident";
    case IdKind::kAction: return "action";
    case IdKind::kSilence: return "silence";
  }
  return "id";
}

// Incidents are INC-<n>, actions ACT-<n> (migrations/incidents/0002_incidents.sql).
const char* NumberedPrefix(IdKind kind) { return kind == IdKind::kIncident ? "INC-" : "ACT-"; }

}  // namespace

IdLookup LookupOf(IdKind kind, const std::string& typed) {
  IdLookup out;
  if (kind == IdKind::kSilence) {
    // Silence ids are lower-case UUIDs.
    out.exact = Lower(typed);
  } else if (AllDigits(typed)) {
    // A number is the incident's (action's) number, never a prefix of other numbers.
    out.exact = NumberedPrefix(kind) + typed;
    return out;
  } else {
    const std::string upper = Upper(typed);
    out.exact = upper.rfind(NumberedPrefix(kind), 0) == 0 ? upper : typed;
  }
  if (typed.size() >= kMinIdPrefix && PrefixSafe(out.exact)) out.prefix = out.exact;
  return out;
}

grpc::Status PickId(IdKind kind, const std::string& field, const std::string& typed,
                    const IdLookup& lookup, const std::vector<std::string>& found, std::string* id) {
  if (std::find(found.begin(), found.end(), lookup.exact) != found.end()) {
    *id = lookup.exact;
    return grpc::Status::OK;
  }
  if (found.size() == 1) {
    *id = found.front();
    return grpc::Status::OK;
  }
  if (found.empty()) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, std::string(KindName(kind)) + " " + typed + " not found");
  }
  std::string candidates;
  const size_t listed = std::min<size_t>(found.size(), kIdCandidates - 1);
  for (size_t i = 0; i < listed; ++i) candidates += (i ? ", " : "") + found[i];
  if (found.size() > listed) candidates += ", ...";
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                      field + ": \"" + typed + "\" is ambiguous: it begins " + KindName(kind) + " ids " +
                          candidates + " (type more of the id)");
}

}  // namespace flightdeck::incidents
