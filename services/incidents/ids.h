#pragma once

#include <string>
#include <vector>

#include <grpcpp/support/status.h>

// Ids as people type them (like git): a full id, a unique prefix of at least 4 characters, and
// for incidents and actions their number ("12", "inc-12" for INC-12). The stores look an id up
// exactly first, so a full id costs no extra query; only a miss asks for the prefix's matches.
namespace flightdeck::incidents {

enum class IdKind { kIncident, kAction, kSilence };

// Shortest prefix looked up as one: shorter ones would match most ids.
constexpr size_t kMinIdPrefix = 4;
// How many matches of a prefix are read: one more than an ambiguity message lists.
constexpr int kIdCandidates = 11;

struct IdLookup {
  std::string exact;   // the canonical spelling of a full id ("inc-12" -> "INC-12")
  std::string prefix;  // what a LIKE 'prefix%' may use (only [A-Za-z0-9-]); empty: none
};

IdLookup LookupOf(IdKind kind, const std::string& typed);

// The id `typed` names among `found` (the rows matching lookup.exact or lookup.prefix): the
// exact one when present, else the only match; NOT_FOUND when none ("incident INC-9 not
// found"); INVALID_ARGUMENT naming `field` and the candidates when several match.
grpc::Status PickId(IdKind kind, const std::string& field, const std::string& typed,
                    const IdLookup& lookup, const std::vector<std::string>& found, std::string* id);

}  // namespace flightdeck::incidents
