#pragma once

#include <string>

#include <grpcpp/support/status.h>

#include "services/backups/chunked_cipher.h"

namespace flightdeck::backups {

// Short secrets at rest (a target's database URL): AES-256-GCM under the current master key,
// stored as "<key id>:<base64 of nonce|ciphertext|tag>", opened with whichever key sealed them.
grpc::Status Seal(const KeyRing& keys, const std::string& plaintext, std::string* sealed);
grpc::Status Open(const KeyRing& keys, const std::string& sealed, std::string* plaintext);

}  // namespace flightdeck::backups
