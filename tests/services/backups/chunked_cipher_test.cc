#include "services/backups/chunked_cipher.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

namespace flightdeck::backups {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;

constexpr size_t kHeaderTail = 12 + 32 + 16 + 4;  // wrap nonce, wrapped key, tag, chunk size

MasterKey MakeKey(const std::string& id, uint8_t seed) {
  MasterKey k;
  k.id = id;
  for (size_t i = 0; i < k.key.size(); ++i) k.key[i] = static_cast<uint8_t>(seed * 31 + i * 7);
  return k;
}

KeyRing RingOf(std::vector<MasterKey> keys) {
  KeyRing ring;
  for (auto& k : keys) ring.Add(std::move(k));
  return ring;
}

std::string Base64(const std::array<uint8_t, 32>& key) {
  unsigned char out[64] = {};
  int n = EVP_EncodeBlock(out, key.data(), static_cast<int>(key.size()));
  return std::string(reinterpret_cast<char*>(out), n);
}

uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A byte stream defined by position, so that a consumer can regenerate what a producer sent
// whatever the pieces were.
class Stream {
 public:
  enum Kind { kRandom, kCompressible };
  explicit Stream(Kind kind, uint64_t seed = 1) : kind_(kind), seed_(seed) {}
  void Fill(uint8_t* out, size_t n) {
    for (size_t i = 0; i < n; ++i, ++pos_) {
      if (kind_ == kRandom) {
        if ((pos_ & 7) == 0) word_ = SplitMix(seed_ ^ (pos_ >> 3));
        out[i] = static_cast<uint8_t>(word_ >> ((pos_ & 7) * 8));
      } else {
        // Runs of four letters out of four: compresses well but not trivially.
        if ((pos_ & 31) == 0) word_ = SplitMix(seed_ ^ (pos_ >> 5));
        out[i] = static_cast<uint8_t>("abcd"[(word_ >> ((pos_ & 31) / 4 * 2)) & 3]);
      }
    }
  }
  std::string Take(size_t n) {
    std::string s(n, '\0');
    Fill(reinterpret_cast<uint8_t*>(s.data()), n);
    return s;
  }

 private:
  Kind kind_;
  uint64_t seed_;
  uint64_t pos_ = 0;
  uint64_t word_ = 0;
};

// Piece sizes for feeding a buffer: `fixed` bytes each, or random in [1, max_random].
struct Splits {
  size_t fixed = 0;
  size_t max_random = 0;
  uint32_t seed = 7;
};

void ForEachPiece(const std::string& data, Splits splits,
                  const std::function<bool(const uint8_t*, size_t)>& fn) {
  std::mt19937 rng(splits.seed);
  size_t pos = 0;
  while (pos < data.size()) {
    size_t n = splits.fixed ? splits.fixed
                            : std::uniform_int_distribution<size_t>(1, splits.max_random)(rng);
    n = std::min(n, data.size() - pos);
    if (!fn(reinterpret_cast<const uint8_t*>(data.data()) + pos, n)) return;
    pos += n;
  }
}

std::string Encrypt(const MasterKey& key, const std::string& plain, size_t chunk_size,
                    Splits splits = {}) {
  std::string file;
  std::unique_ptr<EncryptingWriter> w;
  grpc::Status s = EncryptingWriter::Open(
      key,
      [&](const uint8_t* d, size_t n) {
        file.append(reinterpret_cast<const char*>(d), n);
        return true;
      },
      &w, chunk_size);
  EXPECT_TRUE(s.ok()) << s.error_message();
  if (!s.ok()) return "";
  if (splits.fixed == 0 && splits.max_random == 0) splits.fixed = plain.size() + 1;
  ForEachPiece(plain, splits, [&](const uint8_t* d, size_t n) {
    s = w->Write(d, n);
    return s.ok();
  });
  EXPECT_TRUE(s.ok()) << s.error_message();
  s = w->Finish();
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(w->bytes_in(), plain.size());
  EXPECT_EQ(w->bytes_out(), file.size());
  return file;
}

struct Decrypted {
  grpc::Status status;
  std::string plain;
  std::string key_id;
};

Decrypted Decrypt(const KeyRing& ring, const std::string& file, Splits splits = {}) {
  Decrypted out;
  DecryptingReader r(ring, [&](const uint8_t* d, size_t n) {
    out.plain.append(reinterpret_cast<const char*>(d), n);
    return true;
  });
  if (splits.fixed == 0 && splits.max_random == 0) splits.fixed = file.size() + 1;
  ForEachPiece(file, splits, [&](const uint8_t* d, size_t n) {
    out.status = r.Feed(d, n);
    return out.status.ok();
  });
  if (out.status.ok()) out.status = r.Finish();
  out.key_id = r.key_id();
  return out;
}

// Where the header ends and each chunk ([u32 length][ciphertext][tag]) starts in a file.
struct Layout {
  size_t header_size = 0;
  std::vector<size_t> chunk_offsets;
  std::vector<size_t> chunk_sizes;  // whole records, 4 + length + 16
};

Layout LayoutOf(const std::string& file) {
  Layout l;
  l.header_size = 6 + static_cast<uint8_t>(file[5]) + kHeaderTail;
  size_t pos = l.header_size;
  while (pos + 4 <= file.size()) {
    const auto* p = reinterpret_cast<const uint8_t*>(file.data()) + pos;
    size_t len = (size_t{p[0]} << 24) | (size_t{p[1]} << 16) | (size_t{p[2]} << 8) | p[3];
    l.chunk_offsets.push_back(pos);
    l.chunk_sizes.push_back(4 + len + 16);
    pos += 4 + len + 16;
  }
  EXPECT_EQ(pos, file.size()) << "test helper could not walk the chunks";
  return l;
}

std::string ChunkAt(const std::string& file, const Layout& l, size_t i) {
  return file.substr(l.chunk_offsets[i], l.chunk_sizes[i]);
}

class ChunkedCipherTest : public ::testing::Test {
 protected:
  MasterKey k1_ = MakeKey("k1", 1);
  KeyRing ring_ = RingOf({MakeKey("k1", 1)});
};

// --- round trips -------------------------------------------------------------------------------

TEST_F(ChunkedCipherTest, EmptyInputRoundTripsAndStillEndsWithAFinalChunk) {
  std::string file = Encrypt(k1_, "", 64);
  Layout l = LayoutOf(file);
  ASSERT_GE(l.chunk_offsets.size(), 1u);
  Decrypted d = Decrypt(ring_, file);
  ASSERT_TRUE(d.status.ok()) << d.status.error_message();
  EXPECT_EQ(d.plain, "");
  EXPECT_EQ(d.key_id, "k1");
}

TEST_F(ChunkedCipherTest, OneByteRoundTripsFedOneByteAtATime) {
  std::string file = Encrypt(k1_, "x", 16, Splits{1});
  Decrypted d = Decrypt(ring_, file, Splits{1});
  ASSERT_TRUE(d.status.ok()) << d.status.error_message();
  EXPECT_EQ(d.plain, "x");
}

TEST_F(ChunkedCipherTest, SmallInputWrittenAndReadOneByteAtATime) {
  std::string plain = Stream(Stream::kCompressible).Take(3000) + Stream(Stream::kRandom).Take(900);
  std::string file = Encrypt(k1_, plain, 100, Splits{1});
  EXPECT_GT(LayoutOf(file).chunk_offsets.size(), 5u);
  Decrypted d = Decrypt(ring_, file, Splits{1});
  ASSERT_TRUE(d.status.ok()) << d.status.error_message();
  EXPECT_EQ(d.plain, plain);
}

TEST_F(ChunkedCipherTest, CompressedStreamOfExactlyOneChunkIsOneFinalChunk) {
  std::string plain = Stream(Stream::kRandom).Take(5000);
  // zstd is deterministic: learn the compressed size, then make it exactly the chunk size.
  Layout big = LayoutOf(Encrypt(k1_, plain, 1 << 20));
  ASSERT_EQ(big.chunk_sizes.size(), 1u);
  const size_t compressed = big.chunk_sizes[0] - 20;

  std::string exact = Encrypt(k1_, plain, compressed);
  Layout l = LayoutOf(exact);
  ASSERT_EQ(l.chunk_sizes.size(), 1u);
  EXPECT_EQ(l.chunk_sizes[0], compressed + 20);
  Decrypted d = Decrypt(ring_, exact);
  ASSERT_TRUE(d.status.ok()) << d.status.error_message();
  EXPECT_EQ(d.plain, plain);

  std::string one_over = Encrypt(k1_, plain, compressed - 1);
  Layout l2 = LayoutOf(one_over);
  ASSERT_EQ(l2.chunk_sizes.size(), 2u);
  EXPECT_EQ(l2.chunk_sizes[1], 1u + 20);
  d = Decrypt(ring_, one_over);
  ASSERT_TRUE(d.status.ok()) << d.status.error_message();
  EXPECT_EQ(d.plain, plain);
}

TEST_F(ChunkedCipherTest, SeveralMegabytesRoundTripWithRandomSplits) {
  struct Case {
    Stream::Kind kind;
    size_t size;
    size_t chunk;
  };
  for (Case c : {Case{Stream::kCompressible, 4u << 20, 64u << 10},
                 Case{Stream::kRandom, 3u << 20, 64u << 10},
                 Case{Stream::kRandom, 3u << 20, 1u << 20},
                 Case{Stream::kCompressible, 5u << 20, 16u << 10}}) {
    SCOPED_TRACE("kind " + std::to_string(c.kind) + " chunk " + std::to_string(c.chunk));
    std::string plain = Stream(c.kind, c.size).Take(c.size);
    std::string file = Encrypt(k1_, plain, c.chunk, Splits{0, 200000, 3});
    Layout l = LayoutOf(file);
    EXPECT_GE(l.chunk_offsets.size(), 2u);
    for (size_t i = 0; i + 1 < l.chunk_sizes.size(); ++i) {
      EXPECT_EQ(l.chunk_sizes[i], c.chunk + 20) << "only the last chunk may be short";
    }
    EXPECT_LE(l.chunk_sizes.back(), c.chunk + 20);
    if (c.kind == Stream::kCompressible) {
      EXPECT_LT(file.size(), plain.size() / 2);
    }
    Decrypted d = Decrypt(ring_, file, Splits{0, 100000, 5});
    ASSERT_TRUE(d.status.ok()) << d.status.error_message();
    EXPECT_TRUE(d.plain == plain) << "round trip differs";
  }
}

TEST_F(ChunkedCipherTest, EachFileUsesAFreshDataKey) {
  std::string plain = "same plaintext, same master key";
  std::string a = Encrypt(k1_, plain, 1024);
  std::string b = Encrypt(k1_, plain, 1024);
  ASSERT_EQ(a.size(), b.size());
  Layout l = LayoutOf(a);
  EXPECT_NE(a.substr(l.header_size), b.substr(l.header_size));
}

// --- tampering ---------------------------------------------------------------------------------

class TamperTest : public ChunkedCipherTest {
 protected:
  void SetUp() override {
    plain_ = Stream(Stream::kRandom, 9).Take(2500);
    file_ = Encrypt(k1_, plain_, 1000);
    layout_ = LayoutOf(file_);
    ASSERT_EQ(layout_.chunk_offsets.size(), 3u);
  }
  std::string Flip(size_t pos, uint8_t bits = 0x01) const {
    std::string f = file_;
    f[pos] = static_cast<char>(f[pos] ^ bits);
    return f;
  }
  std::string plain_;
  std::string file_;
  Layout layout_;
};

TEST_F(TamperTest, EveryFlippedByteIsRefusedAndNothingUnauthenticatedIsPassedOn) {
  for (size_t pos = 0; pos < file_.size(); ++pos) {
    for (uint8_t bits : {uint8_t{0x01}, uint8_t{0x80}}) {
      Decrypted d = Decrypt(ring_, Flip(pos, bits));
      ASSERT_FALSE(d.status.ok()) << "flip at " << pos << " was accepted";
      ASSERT_THAT(d.status.error_code(), AnyOf(grpc::StatusCode::DATA_LOSS,
                                               grpc::StatusCode::FAILED_PRECONDITION))
          << "flip at " << pos << ": " << d.status.error_message();
      ASSERT_EQ(d.plain, plain_.substr(0, d.plain.size()))
          << "flip at " << pos << " let altered plaintext through";
    }
  }
}

TEST_F(TamperTest, FlippedByteInAChunkOrItsTagNamesTheChunk) {
  size_t c1 = layout_.chunk_offsets[1];
  Decrypted body = Decrypt(ring_, Flip(c1 + 4 + 10));
  EXPECT_EQ(body.status.error_code(), grpc::StatusCode::DATA_LOSS);
  EXPECT_EQ(body.status.error_message(), "chunk 1 failed authentication");

  Decrypted tag = Decrypt(ring_, Flip(c1 + layout_.chunk_sizes[1] - 1));
  EXPECT_EQ(tag.status.error_code(), grpc::StatusCode::DATA_LOSS);
  EXPECT_EQ(tag.status.error_message(), "chunk 1 failed authentication");

  Decrypted first = Decrypt(ring_, Flip(layout_.chunk_offsets[0] + 4));
  EXPECT_EQ(first.status.error_message(), "chunk 0 failed authentication");
  EXPECT_EQ(first.plain, "") << "plaintext of a chunk that failed authentication was passed on";
}

TEST_F(TamperTest, FlippedByteInTheHeaderIsRefused) {
  Decrypted magic = Decrypt(ring_, Flip(0));
  EXPECT_EQ(magic.status.error_code(), grpc::StatusCode::DATA_LOSS);
  EXPECT_THAT(magic.status.error_message(), HasSubstr("not a Flightdeck backup"));

  Decrypted version = Decrypt(ring_, Flip(4, 0x02));
  EXPECT_EQ(version.status.error_code(), grpc::StatusCode::DATA_LOSS);
  EXPECT_THAT(version.status.error_message(), HasSubstr("version 3"));

  // Wrapped key, and the chunk size (authenticated as the unwrap's additional data).
  for (size_t pos : {layout_.header_size - 30, layout_.header_size - 1}) {
    Decrypted d = Decrypt(ring_, Flip(pos));
    EXPECT_EQ(d.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << pos;
    EXPECT_EQ(d.status.error_message(), "the backup key does not match (key id k1)");
  }
}

TEST_F(TamperTest, TruncatedFileIsRefusedWhereverItIsCut) {
  for (size_t cut = 0; cut < file_.size(); ++cut) {
    Decrypted d = Decrypt(ring_, file_.substr(0, cut));
    ASSERT_EQ(d.status.error_code(), grpc::StatusCode::DATA_LOSS) << "cut at " << cut;
    ASSERT_THAT(d.status.error_message(), HasSubstr("truncated")) << "cut at " << cut;
  }
  Decrypted before_final = Decrypt(ring_, file_.substr(0, layout_.chunk_offsets[2]));
  EXPECT_EQ(before_final.status.error_message(),
            "truncated: the file ends before its final chunk (in chunk 2)");
}

TEST_F(TamperTest, ReorderedDuplicatedDroppedOrAppendedChunksAreRefused) {
  std::string header = file_.substr(0, layout_.header_size);
  std::string c0 = ChunkAt(file_, layout_, 0);
  std::string c1 = ChunkAt(file_, layout_, 1);
  std::string c2 = ChunkAt(file_, layout_, 2);

  Decrypted swapped = Decrypt(ring_, header + c1 + c0 + c2);
  EXPECT_EQ(swapped.status.error_message(), "chunk 0 failed authentication");

  Decrypted duplicated = Decrypt(ring_, header + c0 + c1 + c1 + c2);
  EXPECT_EQ(duplicated.status.error_message(), "chunk 2 failed authentication");

  Decrypted dropped = Decrypt(ring_, header + c0 + c2);
  EXPECT_EQ(dropped.status.error_message(), "chunk 1 failed authentication");

  Decrypted final_twice = Decrypt(ring_, file_ + c2);
  EXPECT_EQ(final_twice.status.error_code(), grpc::StatusCode::DATA_LOSS);
  EXPECT_EQ(final_twice.status.error_message(), "data after the final chunk of the backup");

  Decrypted one_more_byte = Decrypt(ring_, file_ + "x", Splits{1});
  EXPECT_EQ(one_more_byte.status.error_message(), "data after the final chunk of the backup");
}

TEST_F(TamperTest, ChunkLongerThanTheChunkSizeIsRefusedBeforeReadingIt) {
  std::string f = file_;
  f[layout_.chunk_offsets[0] + 1] = 0x7f;  // length 0x007f....
  Decrypted d = Decrypt(ring_, f);
  EXPECT_EQ(d.status.error_code(), grpc::StatusCode::DATA_LOSS);
  EXPECT_THAT(d.status.error_message(), HasSubstr("more than the chunk size 1000"));
}

TEST_F(TamperTest, ReaderStaysFailedAfterAnError) {
  std::string bad = Flip(layout_.chunk_offsets[0] + 8);
  DecryptingReader r(ring_, [](const uint8_t*, size_t) { return true; });
  grpc::Status s = r.Feed(reinterpret_cast<const uint8_t*>(bad.data()), bad.size());
  ASSERT_EQ(s.error_code(), grpc::StatusCode::DATA_LOSS);
  EXPECT_EQ(r.Feed(reinterpret_cast<const uint8_t*>(bad.data()), 1).error_message(),
            s.error_message());
  EXPECT_EQ(r.Finish().error_message(), s.error_message());
}

// --- keys --------------------------------------------------------------------------------------

TEST_F(ChunkedCipherTest, WrongMasterKeyWithTheSameIdIsAKeyMismatchWithNoOutput) {
  std::string file = Encrypt(k1_, "secret rows", 64);
  Decrypted d = Decrypt(RingOf({MakeKey("k1", 2)}), file);
  EXPECT_EQ(d.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(d.status.error_message(), "the backup key does not match (key id k1)");
  EXPECT_EQ(d.plain, "");
}

TEST_F(ChunkedCipherTest, UnknownMasterKeyIdIsNamed) {
  std::string file = Encrypt(k1_, "secret rows", 64);
  Decrypted d = Decrypt(RingOf({MakeKey("k2", 1)}), file);
  EXPECT_EQ(d.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(d.status.error_message(), "encrypted with master key k1, which is not configured");
  EXPECT_EQ(d.key_id, "k1");
}

TEST_F(ChunkedCipherTest, RotatedRingDecryptsOldAndNewFilesAndEncryptsWithTheNewest) {
  MasterKey old_key = MakeKey("k1", 1);
  MasterKey new_key = MakeKey("k2", 2);
  KeyRing old_ring;
  ASSERT_TRUE(KeyRing::Parse("k1:" + Base64(old_key.key), "FLIGHTDECK_BACKUP_KEY", &old_ring).ok());
  KeyRing rotated;
  grpc::Status s = KeyRing::Parse("k1:" + Base64(old_key.key) + ",k2:" + Base64(new_key.key),
                                  "FLIGHTDECK_BACKUP_KEY", &rotated);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(rotated.current().id, "k2");

  std::string old_file = Encrypt(old_ring.current(), "made before rotation", 64);
  std::string new_file = Encrypt(rotated.current(), "made after rotation", 64);

  Decrypted old_d = Decrypt(rotated, old_file);
  ASSERT_TRUE(old_d.status.ok()) << old_d.status.error_message();
  EXPECT_EQ(old_d.plain, "made before rotation");
  EXPECT_EQ(old_d.key_id, "k1");
  Decrypted new_d = Decrypt(rotated, new_file);
  ASSERT_TRUE(new_d.status.ok()) << new_d.status.error_message();
  EXPECT_EQ(new_d.plain, "made after rotation");
  EXPECT_EQ(new_d.key_id, "k2");

  Decrypted without_old = Decrypt(RingOf({new_key}), old_file);
  EXPECT_EQ(without_old.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(without_old.status.error_message(), HasSubstr("master key k1"));
}

// KeyRing parsing is tested with the rest of common/secrets (tests/common/secrets).

// --- streaming and errors ----------------------------------------------------------------------

// 64 MB through writer and reader joined back to back: nothing is held whole, and the writer
// never lags its input by more than about two chunks plus zstd's own block.
void StreamSixtyFourMegabytes(Stream::Kind kind) {
  constexpr size_t kTotal = 64u << 20;
  constexpr size_t kChunk = 256u << 10;
  constexpr size_t kPiece = 64u << 10;
  KeyRing ring = RingOf({MakeKey("k1", 1)});
  Stream expected(kind, 42);
  std::vector<uint8_t> want;
  uint64_t checked = 0;
  bool same = true;
  DecryptingReader reader(ring, [&](const uint8_t* d, size_t n) {
    want.resize(n);
    expected.Fill(want.data(), n);
    same = same && std::memcmp(want.data(), d, n) == 0;
    checked += n;
    return true;
  });
  grpc::Status read_status;
  uint64_t stored = 0;
  size_t largest_write = 0;
  std::unique_ptr<EncryptingWriter> w;
  ASSERT_TRUE(EncryptingWriter::Open(
                  MakeKey("k1", 1),
                  [&](const uint8_t* d, size_t n) {
                    stored += n;
                    largest_write = std::max(largest_write, n);
                    read_status = reader.Feed(d, n);
                    return read_status.ok();
                  },
                  &w, kChunk)
                  .ok());
  Stream source(kind, 42);
  std::vector<uint8_t> piece(kPiece);
  size_t max_lag = 0;
  for (size_t sent = 0; sent < kTotal; sent += kPiece) {
    source.Fill(piece.data(), kPiece);
    grpc::Status s = w->Write(piece.data(), kPiece);
    ASSERT_TRUE(s.ok()) << s.error_message() << " / reader: " << read_status.error_message();
    if (kind == Stream::kRandom && w->bytes_in() > w->bytes_out()) {
      max_lag = std::max<size_t>(max_lag, w->bytes_in() - w->bytes_out());
    }
  }
  if (kind == Stream::kRandom) {
    EXPECT_LE(max_lag, 2 * kChunk + (256u << 10)) << "the writer holds back too much";
  }
  ASSERT_TRUE(w->Finish().ok()) << read_status.error_message();
  ASSERT_TRUE(reader.Finish().ok());
  EXPECT_EQ(w->bytes_in(), kTotal);
  EXPECT_EQ(w->bytes_out(), stored);
  EXPECT_EQ(checked, kTotal);
  EXPECT_TRUE(same) << "restored stream differs from the source";
  EXPECT_LE(largest_write, 4 + kChunk + 16);
  if (kind == Stream::kRandom) {
    EXPECT_GE(stored, kTotal);  // incompressible: stored bytes track input
  } else {
    EXPECT_LT(stored, kTotal / 2);
  }
}

TEST(ChunkedCipherStreamingTest, SixtyFourMegabytesOfIncompressibleDataStreamInBoundedMemory) {
  StreamSixtyFourMegabytes(Stream::kRandom);
}

TEST(ChunkedCipherStreamingTest, SixtyFourMegabytesOfCompressibleDataStream) {
  StreamSixtyFourMegabytes(Stream::kCompressible);
}

TEST_F(ChunkedCipherTest, SinkFailureIsUnavailableAndSticks) {
  size_t calls = 0;
  std::unique_ptr<EncryptingWriter> w;
  ASSERT_TRUE(EncryptingWriter::Open(
                  k1_, [&](const uint8_t*, size_t) { return ++calls == 1; }, &w, 64)
                  .ok());
  std::string plain = Stream(Stream::kRandom).Take(1000);
  grpc::Status s = w->Write(reinterpret_cast<const uint8_t*>(plain.data()), plain.size());
  if (s.ok()) s = w->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(w->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);

  std::unique_ptr<EncryptingWriter> refused;
  s = EncryptingWriter::Open(k1_, [](const uint8_t*, size_t) { return false; }, &refused);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(refused, nullptr);
}

TEST_F(ChunkedCipherTest, WriteAfterFinishIsRefused) {
  std::unique_ptr<EncryptingWriter> w;
  ASSERT_TRUE(EncryptingWriter::Open(k1_, [](const uint8_t*, size_t) { return true; }, &w).ok());
  ASSERT_TRUE(w->Finish().ok());
  uint8_t b = 1;
  EXPECT_EQ(w->Write(&b, 1).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(ChunkedCipherTest, NotABackupIsSaidSo) {
  Decrypted d = Decrypt(ring_, "PGDMP\x01\x0e a custom-format dump, not ours");
  EXPECT_EQ(d.status.error_code(), grpc::StatusCode::DATA_LOSS);
  EXPECT_THAT(d.status.error_message(), HasSubstr("not a Flightdeck backup"));
}

}  // namespace
}  // namespace flightdeck::backups
