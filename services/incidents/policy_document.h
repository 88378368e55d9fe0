#pragma once

#include <grpcpp/support/status.h>

#include "common/secrets/secrets.h"
#include "flightdeck/v1/incidents.pb.h"

// An escalation policy as a stored document: its notification targets checked, their
// credentials (url and HMAC secret) sealed before it is written, opened after it is read, and
// hidden from API answers.
namespace flightdeck::incidents {

// INVALID_ARGUMENT naming `field` ("levels[0].targets[1]") for a missing name, a url that is
// not http(s), an unknown format; the format defaults to json.
grpc::Status CheckTarget(v1::NotificationTarget* t, const std::string& field);
// API answers never carry a secret, only whether one is stored.
void HideSecrets(v1::EscalationPolicy* p);
// A notification URL as callers below ADMIN see it: scheme and host only
// ("https://hooks.slack.com"), since a Slack incoming-webhook URL's path is its credential.
// User info, port, path, query and fragment are dropped.
std::string UrlSchemeAndHost(const std::string& url);
// Every target's url shown that way, marked url_redacted.
void RedactUrls(v1::EscalationPolicy* p);
// Seals every target's url and secret not sealed yet; FAILED_PRECONDITION naming the field when
// there is one to seal and no key.
grpc::Status SealPolicy(const secrets::KeyRing& keys, v1::EscalationPolicy* p);
// Opens them again (legacy plain values pass through). A value that does not open (its key left
// the ring) fails the read, naming the policy, the field and the key.
grpc::Status OpenPolicy(const secrets::KeyRing& keys, v1::EscalationPolicy* p);

}  // namespace flightdeck::incidents
