#pragma once

#include <string>

#include <grpcpp/support/status.h>

#include "common/secrets/secrets.h"
#include "flightdeck/v1/health.pb.h"

// A POSTGRES or REDIS target's URL may carry a password: it is kept sealed with the master key in
// the stored spec (health.targets.spec) and opened when the spec is read back for probing.
namespace flightdeck::health {

// True when the URL carries a password (in its userinfo or as a password= query parameter).
bool UrlHasPassword(const std::string& url);

// The spec as it is to be stored: a POSTGRES/REDIS url sealed when a key is configured. With no
// key, a url with a password is refused (FAILED_PRECONDITION naming "url" and
// FLIGHTDECK_MASTER_KEY); one without stays plain.
grpc::Status SealTargetSecrets(const secrets::KeyRing& keys, v1::HealthTarget* spec);

// The spec as read back: a sealed url opened; a plain one (stored before sealing existed) kept.
// A url that does not open (its key removed from the ring) is emptied, so that the probe fails
// visibly instead of connecting with garbage; the error says why (never the value).
grpc::Status OpenTargetSecrets(const secrets::KeyRing& keys, v1::HealthTarget* spec);

}  // namespace flightdeck::health
