#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/support/status.h>

#include "common/secrets/secrets.h"

namespace flightdeck::backups {

// The master keys moved to common/secrets (they seal health and incidents secrets too).
using secrets::KeyRing;
using secrets::MasterKey;

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
