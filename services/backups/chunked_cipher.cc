// The "FDBK" v1 backup file format. All integers are big-endian.
//
//   header:
//     "FDBK"                     4 bytes magic
//     version                    u8, 1
//     key id length, key id      u8 (1..64), [A-Za-z0-9._-]: the master key wrapping the data key
//     wrap nonce                 12 random bytes
//     wrapped data key, tag      32 + 16 bytes: AES-256-GCM of the random per-backup data key
//                                under the master key; AAD = magic, version, key id length,
//                                key id, chunk size (u32). The chunk size is in the AAD so that
//                                a flipped header byte is caught even there: every header byte
//                                is authenticated by the unwrap.
//     chunk size                 u32, the largest ciphertext length of a chunk
//   chunks, index i = 0, 1, ...:
//     ciphertext length          u32, <= chunk size
//     ciphertext                 AES-256-GCM under the data key of a piece of the zstd stream
//     tag                        16 bytes
//     nonce = 4 zero bytes + u64 i; AAD = u64 i + u8 final flag (1 only on the last chunk).
//
// The plaintext is one zstd frame; the writer cuts the compressed stream into chunk-size pieces
// and always ends with a chunk flagged final (possibly empty). Because the index and the final
// flag are authenticated, a reordered, duplicated, dropped or appended chunk and a cut file are
// all detected; the reader hands decompressed output on only from chunks whose tag verified.
// Memory on both sides is a few chunk-size buffers plus the zstd contexts, whatever the size of
// the backup. A fresh random data key per file makes the counter nonces safe.

#include "services/backups/chunked_cipher.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <zstd.h>

namespace flightdeck::backups {
namespace {

constexpr uint8_t kMagic[4] = {'F', 'D', 'B', 'K'};
constexpr uint8_t kVersion = 1;
constexpr size_t kTagSize = 16;
constexpr size_t kNonceSize = 12;
constexpr size_t kKeySize = 32;
constexpr size_t kFixedHeadSize = 6;  // magic, version, key id length
constexpr size_t kHeaderTailSize = kNonceSize + kKeySize + kTagSize + 4;
// A header claiming a larger chunk would make the reader allocate it before anything is known
// to be authentic; 64 MiB is far above any useful chunk size.
constexpr size_t kMaxChunkSize = 64u << 20;
constexpr size_t kMaxKeyIdSize = 64;

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
struct CCtxFree {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DCtxFree {
  void operator()(ZSTD_DCtx* c) const { ZSTD_freeDCtx(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

void PutU32(uint32_t v, uint8_t* p) {
  for (int i = 3; i >= 0; --i, v >>= 8) p[i] = static_cast<uint8_t>(v);
}
void PutU64(uint64_t v, uint8_t* p) {
  for (int i = 7; i >= 0; --i, v >>= 8) p[i] = static_cast<uint8_t>(v);
}
uint32_t GetU32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

grpc::Status DataLoss(const std::string& what) {
  return grpc::Status(grpc::StatusCode::DATA_LOSS, what);
}
grpc::Status Internal(const std::string& what) {
  return grpc::Status(grpc::StatusCode::INTERNAL, what);
}

// AAD of the data-key wrap: everything in the header that is not the wrap itself.
std::vector<uint8_t> WrapAad(const std::string& key_id, uint32_t chunk_size) {
  std::vector<uint8_t> aad(kMagic, kMagic + 4);
  aad.push_back(kVersion);
  aad.push_back(static_cast<uint8_t>(key_id.size()));
  aad.insert(aad.end(), key_id.begin(), key_id.end());
  uint8_t size[4];
  PutU32(chunk_size, size);
  aad.insert(aad.end(), size, size + 4);
  return aad;
}

struct ChunkParams {
  uint8_t nonce[kNonceSize] = {};
  uint8_t aad[9] = {};
};
ChunkParams ParamsFor(uint64_t index, bool final_chunk) {
  ChunkParams p;
  PutU64(index, p.nonce + 4);
  PutU64(index, p.aad);
  p.aad[8] = final_chunk ? 1 : 0;
  return p;
}

// One AES-256-GCM operation on a context whose key is already set.
bool GcmSeal(EVP_CIPHER_CTX* ctx, const uint8_t* nonce, const uint8_t* aad, size_t aad_size,
             const uint8_t* in, size_t size, uint8_t* out, uint8_t* tag) {
  int len = 0;
  if (EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce) != 1) return false;
  if (EVP_EncryptUpdate(ctx, nullptr, &len, aad, static_cast<int>(aad_size)) != 1) return false;
  if (size > 0 && EVP_EncryptUpdate(ctx, out, &len, in, static_cast<int>(size)) != 1) return false;
  if (EVP_EncryptFinal_ex(ctx, out + size, &len) != 1) return false;
  return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kTagSize, tag) == 1;
}

// False when the tag does not verify (or OpenSSL fails, which we cannot tell apart and which
// must not let anything through either).
bool GcmOpen(EVP_CIPHER_CTX* ctx, const uint8_t* nonce, const uint8_t* aad, size_t aad_size,
             const uint8_t* in, size_t size, const uint8_t* tag, uint8_t* out) {
  int len = 0;
  if (EVP_DecryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce) != 1) return false;
  if (EVP_DecryptUpdate(ctx, nullptr, &len, aad, static_cast<int>(aad_size)) != 1) return false;
  if (size > 0 && EVP_DecryptUpdate(ctx, out, &len, in, static_cast<int>(size)) != 1) return false;
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kTagSize, const_cast<uint8_t*>(tag)) != 1) {
    return false;
  }
  return EVP_DecryptFinal_ex(ctx, out + size, &len) == 1;
}

CipherCtx NewGcm(const uint8_t* key, bool encrypt) {
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return nullptr;
  int ok = encrypt ? EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr)
                   : EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr);
  if (ok != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceSize, nullptr) != 1) {
    return nullptr;
  }
  ok = encrypt ? EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, key, nullptr)
               : EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key, nullptr);
  return ok == 1 ? std::move(ctx) : nullptr;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// EncryptingWriter

struct EncryptingWriter::Impl {
  Sink sink;
  size_t chunk_size = 0;
  std::array<uint8_t, kKeySize> data_key{};
  CipherCtx gcm;
  std::unique_ptr<ZSTD_CCtx, CCtxFree> zstd;
  std::vector<uint8_t> zstd_out;  // one ZSTD_CStreamOutSize() of compressor output
  // Compressed bytes not yet sealed: at most chunk_size + zstd_out.size(). A chunk is sealed only
  // once more bytes follow it, so that the last one can carry the final flag.
  std::vector<uint8_t> pending;
  std::vector<uint8_t> frame;  // [length][ciphertext][tag] of one chunk
  uint64_t next_index = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  bool finished = false;
  grpc::Status failed = grpc::Status::OK;

  ~Impl() { OPENSSL_cleanse(data_key.data(), data_key.size()); }

  grpc::Status Fail(grpc::Status s) {
    failed = s;
    return s;
  }

  grpc::Status Emit(const uint8_t* data, size_t size) {
    if (!sink(data, size)) {
      return Fail(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                               "backup output refused " + std::to_string(size) +
                                   " bytes (write error) after " + std::to_string(bytes_out) +
                                   " bytes"));
    }
    bytes_out += size;
    return grpc::Status::OK;
  }

  grpc::Status SealChunk(const uint8_t* data, size_t size, bool final_chunk) {
    ChunkParams p = ParamsFor(next_index, final_chunk);
    PutU32(static_cast<uint32_t>(size), frame.data());
    if (!GcmSeal(gcm.get(), p.nonce, p.aad, sizeof p.aad, data, size, frame.data() + 4,
                 frame.data() + 4 + size)) {
      return Fail(Internal("AES-256-GCM failed on chunk " + std::to_string(next_index)));
    }
    ++next_index;
    return Emit(frame.data(), 4 + size + kTagSize);
  }

  // Appends compressor output and seals every chunk known not to be the last.
  grpc::Status Take(const uint8_t* data, size_t size) {
    pending.insert(pending.end(), data, data + size);
    size_t sealed = 0;
    while (pending.size() - sealed > chunk_size) {
      grpc::Status s = SealChunk(pending.data() + sealed, chunk_size, false);
      if (!s.ok()) return s;
      sealed += chunk_size;
    }
    pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(sealed));
    return grpc::Status::OK;
  }

  grpc::Status Compress(ZSTD_inBuffer* in, ZSTD_EndDirective mode) {
    for (;;) {
      ZSTD_outBuffer out{zstd_out.data(), zstd_out.size(), 0};
      size_t left = ZSTD_compressStream2(zstd.get(), &out, in, mode);
      if (ZSTD_isError(left)) {
        return Fail(Internal(std::string("zstd compression failed: ") + ZSTD_getErrorName(left)));
      }
      grpc::Status s = Take(zstd_out.data(), out.pos);
      if (!s.ok()) return s;
      bool done = mode == ZSTD_e_end ? left == 0 : in->pos == in->size;
      if (done) return grpc::Status::OK;
    }
  }
};

EncryptingWriter::EncryptingWriter() : impl_(new Impl) {}
EncryptingWriter::~EncryptingWriter() = default;

grpc::Status EncryptingWriter::Open(const MasterKey& key, Sink sink,
                                    std::unique_ptr<EncryptingWriter>* out, size_t chunk_size,
                                    int zstd_level) {
  if (chunk_size == 0 || chunk_size > kMaxChunkSize) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "chunk size must be between 1 byte and 64 MiB, not " +
                            std::to_string(chunk_size));
  }
  if (!secrets::IsValidKeyId(key.id)) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "master key id must be 1 to 64 letters, digits, '.', '_' or '-'");
  }
  std::unique_ptr<EncryptingWriter> w(new EncryptingWriter());
  Impl& im = *w->impl_;
  im.sink = std::move(sink);
  im.chunk_size = chunk_size;

  const uint32_t chunk_size32 = static_cast<uint32_t>(chunk_size);
  std::vector<uint8_t> header = WrapAad(key.id, chunk_size32);
  header.resize(header.size() - 4);  // the chunk size goes last, after the wrap
  const size_t wrap_at = header.size();
  header.resize(wrap_at + kHeaderTailSize);
  uint8_t* nonce = header.data() + wrap_at;
  if (RAND_bytes(im.data_key.data(), kKeySize) != 1 || RAND_bytes(nonce, kNonceSize) != 1) {
    return Internal("no random bytes for the backup data key");
  }
  CipherCtx wrap = NewGcm(key.key.data(), true);
  std::vector<uint8_t> aad = WrapAad(key.id, chunk_size32);
  if (!wrap || !GcmSeal(wrap.get(), nonce, aad.data(), aad.size(), im.data_key.data(), kKeySize,
                        nonce + kNonceSize, nonce + kNonceSize + kKeySize)) {
    return Internal("AES-256-GCM failed wrapping the backup data key");
  }
  PutU32(chunk_size32, header.data() + header.size() - 4);

  im.gcm = NewGcm(im.data_key.data(), true);
  im.zstd.reset(ZSTD_createCCtx());
  if (!im.gcm || !im.zstd) return Internal("cannot create cipher/compression contexts");
  size_t r = ZSTD_CCtx_setParameter(im.zstd.get(), ZSTD_c_compressionLevel, zstd_level);
  if (ZSTD_isError(r)) {
    return Internal(std::string("zstd level ") + std::to_string(zstd_level) + ": " +
                    ZSTD_getErrorName(r));
  }
  im.zstd_out.resize(ZSTD_CStreamOutSize());
  im.pending.reserve(chunk_size + im.zstd_out.size());
  im.frame.resize(4 + chunk_size + kTagSize);

  grpc::Status s = im.Emit(header.data(), header.size());
  if (!s.ok()) return s;
  *out = std::move(w);
  return grpc::Status::OK;
}

grpc::Status EncryptingWriter::Write(const uint8_t* data, size_t size) {
  Impl& im = *impl_;
  if (!im.failed.ok()) return im.failed;
  if (im.finished) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "backup writer already finished");
  }
  ZSTD_inBuffer in{data, size, 0};
  grpc::Status s = im.Compress(&in, ZSTD_e_continue);
  if (!s.ok()) return s;
  im.bytes_in += size;
  return grpc::Status::OK;
}

grpc::Status EncryptingWriter::Finish() {
  Impl& im = *impl_;
  if (!im.failed.ok()) return im.failed;
  if (im.finished) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "backup writer already finished");
  }
  ZSTD_inBuffer none{nullptr, 0, 0};
  grpc::Status s = im.Compress(&none, ZSTD_e_end);
  if (!s.ok()) return s;
  s = im.SealChunk(im.pending.data(), im.pending.size(), true);
  if (!s.ok()) return s;
  im.pending.clear();
  im.finished = true;
  return grpc::Status::OK;
}

uint64_t EncryptingWriter::bytes_in() const { return impl_->bytes_in; }
uint64_t EncryptingWriter::bytes_out() const { return impl_->bytes_out; }

// ---------------------------------------------------------------------------------------------
// DecryptingReader

struct DecryptingReader::Impl {
  enum class Stage { kHead, kHeader, kChunkLength, kChunkBody, kDone };

  KeyRing keys;
  Sink sink;
  Stage stage = Stage::kHead;
  std::vector<uint8_t> buf;  // the bytes of the current stage, up to `need`
  size_t need = kFixedHeadSize;
  std::string key_id;
  uint32_t chunk_size = 0;
  uint64_t index = 0;  // of the chunk being read
  uint32_t chunk_length = 0;
  std::array<uint8_t, kKeySize> data_key{};
  CipherCtx gcm;
  std::unique_ptr<ZSTD_DCtx, DCtxFree> zstd;
  std::vector<uint8_t> plain;  // authenticated compressed bytes of one chunk
  std::vector<uint8_t> zstd_out;
  size_t frame_left = 1;  // ZSTD_decompressStream's last hint; 0 once the frame is complete
  grpc::Status failed = grpc::Status::OK;

  ~Impl() { OPENSSL_cleanse(data_key.data(), data_key.size()); }

  grpc::Status Fail(grpc::Status s) {
    failed = s;
    return s;
  }

  grpc::Status ReadHead() {
    if (!std::equal(kMagic, kMagic + 4, buf.begin())) {
      return DataLoss("not a Flightdeck backup (no FDBK header)");
    }
    if (buf[4] != kVersion) {
      return DataLoss("unsupported Flightdeck backup format version " + std::to_string(buf[4]));
    }
    if (buf[5] == 0 || buf[5] > kMaxKeyIdSize) {
      return DataLoss("backup header has a malformed master key id");
    }
    stage = Stage::kHeader;
    need = kFixedHeadSize + buf[5] + kHeaderTailSize;
    return grpc::Status::OK;
  }

  grpc::Status ReadHeader() {
    const size_t id_size = buf[5];
    key_id.assign(reinterpret_cast<const char*>(buf.data()) + kFixedHeadSize, id_size);
    if (!secrets::IsValidKeyId(key_id)) {
      key_id.clear();
      return DataLoss("backup header has a malformed master key id");
    }
    const uint8_t* nonce = buf.data() + kFixedHeadSize + id_size;
    const uint8_t* wrapped = nonce + kNonceSize;
    const uint8_t* tag = wrapped + kKeySize;
    chunk_size = GetU32(tag + kTagSize);
    const MasterKey* master = keys.Find(key_id);
    if (master == nullptr) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          "encrypted with master key " + key_id + ", which is not configured");
    }
    CipherCtx unwrap = NewGcm(master->key.data(), false);
    if (!unwrap) return Internal("cannot create a cipher context");
    std::vector<uint8_t> aad = WrapAad(key_id, chunk_size);
    if (!GcmOpen(unwrap.get(), nonce, aad.data(), aad.size(), wrapped, kKeySize, tag,
                 data_key.data())) {
      // A damaged header lands here too: the unwrap is what authenticates it.
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          "the backup key does not match (key id " + key_id + ")");
    }
    if (chunk_size == 0 || chunk_size > kMaxChunkSize) {
      return DataLoss("backup header has an unsupported chunk size " + std::to_string(chunk_size));
    }
    gcm = NewGcm(data_key.data(), false);
    zstd.reset(ZSTD_createDCtx());
    if (!gcm || !zstd) return Internal("cannot create cipher/decompression contexts");
    plain.resize(chunk_size);
    zstd_out.resize(ZSTD_DStreamOutSize());
    stage = Stage::kChunkLength;
    need = 4;
    return grpc::Status::OK;
  }

  grpc::Status ReadChunkLength() {
    uint32_t length = GetU32(buf.data());
    if (length > chunk_size) {
      return DataLoss("chunk " + std::to_string(index) + " claims " + std::to_string(length) +
                      " bytes, more than the chunk size " + std::to_string(chunk_size));
    }
    stage = Stage::kChunkBody;
    chunk_length = length;
    need = length + kTagSize;
    return grpc::Status::OK;
  }

  grpc::Status ReadChunkBody() {
    const size_t length = chunk_length;
    const uint8_t* cipher = buf.data();
    const uint8_t* tag = cipher + length;
    // The stream does not say which chunk is the last; the authenticated flag does. Only one of
    // the two AADs can verify.
    bool final_chunk = false;
    for (bool flag : {false, true}) {
      ChunkParams p = ParamsFor(index, flag);
      if (GcmOpen(gcm.get(), p.nonce, p.aad, sizeof p.aad, cipher, length, tag, plain.data())) {
        final_chunk = flag;
        break;
      }
      if (flag) return DataLoss("chunk " + std::to_string(index) + " failed authentication");
    }
    grpc::Status s = Decompress(plain.data(), length);
    if (!s.ok()) return s;
    ++index;
    if (final_chunk) {
      if (frame_left != 0) return DataLoss("compressed stream ends inside its zstd frame");
      stage = Stage::kDone;
      need = 0;
    } else {
      stage = Stage::kChunkLength;
      need = 4;
    }
    return grpc::Status::OK;
  }

  grpc::Status Decompress(const uint8_t* data, size_t size) {
    ZSTD_inBuffer in{data, size, 0};
    bool output_full = false;
    while (in.pos < in.size || output_full) {
      ZSTD_outBuffer out{zstd_out.data(), zstd_out.size(), 0};
      size_t r = ZSTD_decompressStream(zstd.get(), &out, &in);
      if (ZSTD_isError(r)) {
        return DataLoss("chunk " + std::to_string(index) +
                        ": zstd decompression failed: " + ZSTD_getErrorName(r));
      }
      frame_left = r;
      if (out.pos > 0 && !sink(zstd_out.data(), out.pos)) {
        return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                            "restore output refused " + std::to_string(out.pos) +
                                " bytes (write error)");
      }
      // A full buffer may hide more output, unless the frame just ended: another call would
      // then start reading a next frame and turn the "done" 0 into a header-size hint.
      output_full = out.pos == out.size && r != 0;
    }
    return grpc::Status::OK;
  }

  grpc::Status Advance() {
    switch (stage) {
      case Stage::kHead: return ReadHead();
      case Stage::kHeader: return ReadHeader();
      case Stage::kChunkLength: return ReadChunkLength();
      case Stage::kChunkBody: return ReadChunkBody();
      case Stage::kDone: break;
    }
    return Internal("backup reader in an impossible state");
  }
};

DecryptingReader::DecryptingReader(const KeyRing& keys, Sink plaintext_sink) : impl_(new Impl) {
  impl_->keys = keys;
  impl_->sink = std::move(plaintext_sink);
  impl_->buf.reserve(kFixedHeadSize + kMaxKeyIdSize + kHeaderTailSize);
}

DecryptingReader::~DecryptingReader() = default;

grpc::Status DecryptingReader::Feed(const uint8_t* data, size_t size) {
  Impl& im = *impl_;
  if (!im.failed.ok()) return im.failed;
  while (size > 0) {
    if (im.stage == Impl::Stage::kDone) {
      return im.Fail(DataLoss("data after the final chunk of the backup"));
    }
    size_t take = std::min(size, im.need - im.buf.size());
    im.buf.insert(im.buf.end(), data, data + take);
    data += take;
    size -= take;
    if (im.buf.size() < im.need) break;
    grpc::Status s = im.Advance();
    if (!s.ok()) return im.Fail(s);
    // The header's two stages share the buffer; every other stage starts afresh.
    if (im.stage != Impl::Stage::kHeader) im.buf.clear();
  }
  return grpc::Status::OK;
}

grpc::Status DecryptingReader::Finish() {
  Impl& im = *impl_;
  if (!im.failed.ok()) return im.failed;
  switch (im.stage) {
    case Impl::Stage::kDone: return grpc::Status::OK;
    case Impl::Stage::kHead:
    case Impl::Stage::kHeader:
      return im.Fail(DataLoss("truncated: the file ends inside the backup header"));
    default:
      return im.Fail(DataLoss("truncated: the file ends before its final chunk (in chunk " +
                              std::to_string(im.index) + ")"));
  }
}

const std::string& DecryptingReader::key_id() const { return impl_->key_id; }

}  // namespace flightdeck::backups
