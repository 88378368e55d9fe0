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

// The canonical (upper-case) spelling of `text` among `valid`, compared case-insensitively;
// empty when it is none of them.
std::string CanonicalEnum(const std::string& text, std::initializer_list<const char*> valid);
// "state: \"sleeping\" is not one of TRIGGERED, ACKNOWLEDGED, RESOLVED, CLOSED, OPEN".
std::string EnumProblem(const std::string& text, std::initializer_list<const char*> valid);

}  // namespace flightdeck::incidents
