#pragma once

#include <string>
#include <string_view>

#include <grpcpp/support/status.h>

#include "flightdeck/v1/releases.pb.h"

namespace flightdeck::releases {

// Lower-case DNS label (RFC 1123): what Kubernetes accepts as a name, so a service or
// environment name can be used as a label value and in a URL path unescaped.
bool IsDnsLabel(std::string_view name);
bool IsCommitSha(std::string_view sha);  // 7-40 hex characters
bool IsUuid(std::string_view id);

// Checks a create request; the message names the first bad field ("commit_sha: ...").
// Normalises the commit SHA to lower case.
grpc::Status ValidateCreate(v1::CreateReleaseRequest& request);

}  // namespace flightdeck::releases
