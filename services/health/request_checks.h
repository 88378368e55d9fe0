#pragma once

// The request checks every service shares (common/grpc/request_checks.h), by their short names.
#include "common/grpc/request_checks.h"

namespace flightdeck::health {

using rpc::CanonicalEnum;
using rpc::EnumProblem;
using rpc::FieldErrors;
using rpc::IdRangeLookup;
using rpc::IsUuid;
using rpc::kMinIdPrefixHex;
using rpc::ResolveIdPrefix;
using rpc::UnknownEnumValue;
using rpc::UuidPrefixRange;
using rpc::UuidRange;

}  // namespace flightdeck::health
