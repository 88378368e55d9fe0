#pragma once

#include <initializer_list>
#include <string>
#include <vector>

#include <grpcpp/support/status.h>

#include "common/grpc/request_checks.h"

// How the incidents service answers bad input: every problem of a request in one
// INVALID_ARGUMENT (each naming its field, joined with "; "), and enum-valued strings taken in
// any case and answered in one canonical (upper-case) form.
namespace flightdeck::incidents {

using rpc::FieldErrors;

// How long what people write may be, in characters (FieldErrors::AddIfLonger). Only the
// request body's limit (1 MiB) bounded them before; each lands in a page, a chat message or a
// timeline row.
inline constexpr size_t kMaxTitleCharacters = 1024;  // incident and action titles: PagerDuty's summary limit
inline constexpr size_t kMaxNameCharacters = 255;    // service, environment, commander, owner, created_by
inline constexpr size_t kMaxNoteCharacters = 2000;   // timeline notes, status updates, comments (as releases')
inline constexpr size_t kMaxReviewCharacters = 20000;  // each section of a review
inline constexpr size_t kMaxUrlCharacters = 2048;    // tracking URLs

// The canonical (upper-case) spelling of `text` among `valid`, compared case-insensitively;
// empty when it is none of them.
std::string CanonicalEnum(const std::string& text, std::initializer_list<const char*> valid);
// "state: \"sleeping\" is not one of TRIGGERED, ACKNOWLEDGED, RESOLVED, CLOSED, OPEN".
std::string EnumProblem(const std::string& text, std::initializer_list<const char*> valid);

}  // namespace flightdeck::incidents
