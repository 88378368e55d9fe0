#pragma once

#include <string>

// The signature on every outgoing notification, releases' and incidents' alike.
namespace flightdeck::notify {

// Header name and value: "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>".
// Receivers check the timestamp is recent to refuse replays (Stripe's scheme).
inline constexpr char kSignatureHeader[] = "X-Flightdeck-Signature";
std::string SignatureHeader(const std::string& secret, const std::string& body, long long unix_seconds);
// True when one of the header's v1= values is the HMAC of "<t>.<body>" (compared in constant
// time). The age of t is the receiver's to judge.
bool VerifySignature(const std::string& secret, const std::string& body, const std::string& header);
// Lower-case hex HMAC-SHA256; empty when OpenSSL fails.
std::string HmacSha256Hex(const std::string& secret, const std::string& data);

}  // namespace flightdeck::notify
