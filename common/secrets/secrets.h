#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <grpcpp/support/status.h>

// Secrets at rest: the master keys held outside the database, and AES-256-GCM sealing of short
// values (database URLs, webhook secrets, credentials in headers) under them. Backups also wrap
// each backup's data key with these keys (services/backups/chunked_cipher.h).
namespace flightdeck::secrets {

inline constexpr char kMasterKeyVar[] = "FLIGHTDECK_MASTER_KEY";
inline constexpr char kMasterKeyFileVar[] = "FLIGHTDECK_MASTER_KEY_FILE";
// The names from before the key sealed more than backups; read when the new ones are unset.
inline constexpr char kLegacyKeyVar[] = "FLIGHTDECK_BACKUP_KEY";
inline constexpr char kLegacyKeyFileVar[] = "FLIGHTDECK_BACKUP_KEY_FILE";

// A 32-byte master key and its id (recorded with everything it seals).
struct MasterKey {
  std::string id;              // e.g. "k1" or, when unnamed, the first 16 hex of SHA-256(key)
  std::array<uint8_t, 32> key{};
};

// The configured master keys: the last one seals, every one opens, so keys rotate without
// re-encrypting what was sealed before.
class KeyRing {
 public:
  // One base64 key, or several "id:base64" separated by commas (oldest first). A key file holds
  // the same, one per line; '#' comments. INVALID_ARGUMENT naming `source_name` and the entry on
  // a bad value (never the key itself).
  static grpc::Status Parse(const std::string& text, const std::string& source_name, KeyRing* out);
  bool empty() const { return keys_.empty(); }
  const MasterKey& current() const { return keys_.back(); }
  const MasterKey* Find(const std::string& id) const;
  void Add(MasterKey key) { keys_.push_back(std::move(key)); }

 private:
  std::vector<MasterKey> keys_;
};

// 1 to 64 of [A-Za-z0-9._-]: ids go into error messages and file headers, so nothing else may
// be smuggled in through one.
bool IsValidKeyId(const std::string& id);

// Reads an environment variable; nullopt when unset or empty.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// FLIGHTDECK_MASTER_KEY (inline) or FLIGHTDECK_MASTER_KEY_FILE (a path), and only when neither is
// set, FLIGHTDECK_BACKUP_KEY / FLIGHTDECK_BACKUP_KEY_FILE. Nothing set: OK with an empty ring
// (the caller refuses to store secrets). INVALID_ARGUMENT naming the variable when a value is
// bad, a file unreadable, or both forms of one name are set. `source`, when given, receives the
// variable the keys came from ("" when none).
grpc::Status LoadKeyRing(KeyRing* out, std::string* source = nullptr);
grpc::Status LoadKeyRingFrom(const EnvLookup& lookup, KeyRing* out, std::string* source = nullptr);
// A service's start-up: LoadKeyRing, throwing config::ConfigError on a bad setting, logging the
// variable and current key id (never a key), or a warning saying what `refused_without_key`
// when none is configured.
KeyRing LoadServiceKeys(const std::string& refused_without_key);

// Where a sealed value lives: its table and column ("backups.targets.sealed_url") and its row
// (the target's name). It is authenticated with the value (AES-GCM additional data), so a value
// copied into another column or row, by whoever holds a dump, no longer opens.
struct Binding {
  std::string column;  // "<schema>.<table>.<column>[.<path in a document>]"
  std::string row;     // the row's key
};

// A value sealed under the current key, bound to `where`, as
// "<key id>:aad:<base64 of nonce|ciphertext|tag>", and opened with whichever key sealed it.
// Values sealed before binding existed ("<key id>:<base64>") still open, unbound; a write seals
// them again, bound.
// Seal: FAILED_PRECONDITION with no key. Open: DATA_LOSS when malformed, FAILED_PRECONDITION
// when the key is not configured or the value does not authenticate (another place's value).
grpc::Status Seal(const KeyRing& keys, const std::string& plaintext, const Binding& where, std::string* sealed);
grpc::Status Open(const KeyRing& keys, const std::string& sealed, const Binding& where, std::string* plaintext);

// Values kept in place of a plain one (inside a JSON document, in a text column) carry a prefix
// so that rows written before sealing existed still read as plain text: "fdsealed:" + Seal().
inline constexpr char kSealedPrefix[] = "fdsealed:";
bool IsSealedValue(const std::string& stored);
grpc::Status SealValue(const KeyRing& keys, const std::string& plaintext, const Binding& where, std::string* stored);
// A stored value without the prefix is legacy plain text and comes back as it is.
grpc::Status OpenValue(const KeyRing& keys, const std::string& stored, const Binding& where, std::string* plaintext);

// FAILED_PRECONDITION for a request that would store a secret while no master key is configured:
// "<field>: storing it needs a master key; set FLIGHTDECK_MASTER_KEY ...".
grpc::Status NeedsMasterKey(const std::string& field);

}  // namespace flightdeck::secrets
