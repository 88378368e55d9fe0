#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/support/status.h>

namespace flightdeck::backups {

// A 32-byte master key and its id (recorded in every manifest).
struct MasterKey {
  std::string id;              // e.g. "k1" or, when unnamed, the first 16 hex of SHA-256(key)
  std::array<uint8_t, 32> key{};
};

// The configured master keys: the last one encrypts, every one decrypts, so keys rotate
// without re-encrypting old backups.
class KeyRing {
 public:
  // FLIGHTDECK_BACKUP_KEY: one base64 key, or several "id:base64" separated by commas (oldest
  // first). A key file (FLIGHTDECK_BACKUP_KEY_FILE) holds the same, one per line; '#' comments.
  // INVALID_ARGUMENT naming the variable and the entry on a bad value (never the key itself).
  static grpc::Status Parse(const std::string& text, const std::string& source_name, KeyRing* out);
  bool empty() const { return keys_.empty(); }
  const MasterKey& current() const { return keys_.back(); }
  const MasterKey* Find(const std::string& id) const;
  void Add(MasterKey key) { keys_.push_back(std::move(key)); }

 private:
  std::vector<MasterKey> keys_;
};

// Where bytes go / come from. A sink returns false on a write error (disk full...).
using Sink = std::function<bool(const uint8_t* data, size_t size)>;

// The backup file format ("FDBK" v1): a header (magic, version, master key id, the per-backup
// data key wrapped with AES-256-GCM under the master key, chunk size), then chunks, each
// [u32 length][AES-256-GCM ciphertext of up to chunk_size bytes of zstd-compressed data][16-byte
// tag]. Each chunk's nonce is derived from its index and its additional data holds the index and
// a final-chunk flag, so reordered, dropped, truncated or altered chunks fail authentication.
// The stream of plaintext is zstd-compressed (level 3) before it is cut into chunks.
class EncryptingWriter {
 public:
  // Writes the header at once. INTERNAL on an OpenSSL/zstd failure, UNAVAILABLE on a sink failure.
  static grpc::Status Open(const MasterKey& key, Sink sink, std::unique_ptr<EncryptingWriter>* out,
                           size_t chunk_size = 1 << 20, int zstd_level = 3);
  ~EncryptingWriter();
  grpc::Status Write(const uint8_t* data, size_t size);
  grpc::Status Finish();  // flushes, writes the final chunk
  uint64_t bytes_in() const;   // plaintext bytes received
  uint64_t bytes_out() const;  // bytes given to the sink (header included)

 private:
  EncryptingWriter();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Reads the format back. Every error is DATA_LOSS with what was wrong ("chunk 3 failed
// authentication", "file ends before its final chunk", "not a Flightdeck backup") or
// FAILED_PRECONDITION for "encrypted with master key k1, which is not configured"; no
// plaintext of an unauthenticated chunk is ever passed on.
class DecryptingReader {
 public:
  DecryptingReader(const KeyRing& keys, Sink plaintext_sink);
  ~DecryptingReader();
  grpc::Status Feed(const uint8_t* data, size_t size);  // any split of the stored bytes
  grpc::Status Finish();                                // the final chunk must have been seen
  const std::string& key_id() const;                    // once the header was read

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flightdeck::backups
