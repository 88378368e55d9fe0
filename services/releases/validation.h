#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <grpcpp/support/status.h>

#include "common/grpc/request_checks.h"

#include "flightdeck/v1/releases.pb.h"

namespace flightdeck::releases {

// Lower-case DNS label (RFC 1123): what Kubernetes accepts as a name, so a service or
// environment name can be used as a label value and in a URL path unescaped.
bool IsDnsLabel(std::string_view name);
// No spaces or control characters (a version, an image, a smoke suite's name).
bool IsPrintableToken(std::string_view s);
bool IsCommitSha(std::string_view sha);  // 7-40 hex characters
bool IsUuid(std::string_view id);

// A unique prefix of a release id, as git takes one of a commit: at least 4 hex characters
// (dashes where the UUID has them, any case). Sets the lowest and highest full ids that start
// with it (lower case), so that an index range finds the candidates; false when `given` cannot
// start a release id.
inline constexpr size_t kMinIdPrefix = 4;
bool IdPrefixBounds(std::string_view given, std::string* lowest, std::string* highest);

// Every problem of a request, so that a client fixes them all at once: "service: is required;
// commit_sha: \"xyz\" must be 7-40 hexadecimal characters".
using rpc::FieldErrors;

// How long a note people write may be, in characters (FieldErrors::AddIfLonger): a timeline
// note, an action's reason, a window's description or override reason, a freeze note.
inline constexpr size_t kMaxNoteCharacters = 2000;

// The canonical (lower-case) value of an enum-like string field given in any case, or empty
// when it is none of `valid`. "Command" -> "command".
std::string CanonicalChoice(std::string_view given, const std::vector<std::string>& valid);
// What an enum field's error says after its name, worded as the health and backups services
// word it: "unknown value \"helm\" (one of external, command)".
std::string UnknownChoice(const std::string& given, const std::vector<std::string>& valid);
extern const std::vector<std::string> kDriverKinds;       // external, command
extern const std::vector<std::string> kAnalysisSources;   // pushed, prometheus, health
extern const std::vector<std::string> kAnalysisJudges;    // threshold, mann_whitney

// Checks a create request, every field (errors listed together, each naming its field).
// Normalises the commit SHA and driver.kind to lower case.
grpc::Status ValidateCreate(v1::CreateReleaseRequest& request);

}  // namespace flightdeck::releases
