// libFuzzer: the backups chunked-cipher reader (services/backups/chunked_cipher.*) fed arbitrary
// bytes as a stored backup under a fixed test key. A backup encrypted once at start-up (small
// chunks, so it has several) is the reference; the first input byte picks how the rest is used:
//   mode 0: the rest is the whole stream;
//   mode 1: the reference's authentic header, then the rest (arbitrary chunk frames);
//   mode 2: the reference with the rest XORed over it (flipped bits anywhere; zeros = intact);
//   mode 3: the reference with the rest appended;
// and the stream is fed in pieces of 1..64 bytes (the byte's upper bits). Whatever the bytes,
// the reader answers OK, DATA_LOSS or FAILED_PRECONDITION, never crashes, passes on only a prefix
// of the reference plaintext, and OK means exactly the reference plaintext.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "services/backups/chunked_cipher.h"

namespace backups = flightdeck::backups;

namespace {

constexpr size_t kChunkSize = 32;

backups::MasterKey FixedKey(const std::string& id, uint8_t seed) {
  backups::MasterKey k;
  k.id = id;
  for (size_t i = 0; i < k.key.size(); ++i) k.key[i] = static_cast<uint8_t>(seed * 31 + i * 7);
  return k;
}

struct Reference {
  backups::KeyRing keys;
  std::string plaintext;
  std::string stream;
  size_t header_size = 0;
};

const Reference& Ref() {
  static const Reference* ref = [] {
    auto* r = new Reference;
    r->keys.Add(FixedKey("other", 2));
    r->keys.Add(FixedKey("fuzz", 1));
    uint32_t x = 12345;  // barely compressible plaintext, so the stream has several chunks
    for (int i = 0; i < 200; ++i) {
      x = x * 1103515245u + 12345u;
      r->plaintext.push_back(static_cast<char>(x >> 24));
    }
    std::unique_ptr<backups::EncryptingWriter> writer;
    bool first = true;
    auto sink = [r, &first](const uint8_t* data, size_t size) {
      if (first) r->header_size = size;  // Open writes the header at once
      first = false;
      r->stream.append(reinterpret_cast<const char*>(data), size);
      return true;
    };
    if (!backups::EncryptingWriter::Open(r->keys.current(), sink, &writer, kChunkSize).ok() ||
        !writer->Write(reinterpret_cast<const uint8_t*>(r->plaintext.data()), r->plaintext.size()).ok() ||
        !writer->Finish().ok()) {
      std::abort();
    }
    return r;
  }();
  return *ref;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const Reference& ref = Ref();
  const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string stream;
  switch (data[0] & 3) {
    case 0: stream = rest; break;
    case 1: stream = ref.stream.substr(0, ref.header_size) + rest; break;
    case 2:
      stream = ref.stream;
      for (size_t i = 0; i < rest.size() && i < stream.size(); ++i) stream[i] ^= rest[i];
      break;
    default: stream = ref.stream + rest; break;
  }
  const size_t step = (data[0] >> 2) + 1;

  std::string out;
  backups::DecryptingReader reader(ref.keys, [&out](const uint8_t* p, size_t n) {
    out.append(reinterpret_cast<const char*>(p), n);
    return true;
  });
  grpc::Status s;
  for (size_t at = 0; at < stream.size() && s.ok(); at += step) {
    s = reader.Feed(reinterpret_cast<const uint8_t*>(stream.data()) + at, std::min(step, stream.size() - at));
  }
  if (s.ok()) s = reader.Finish();

  if (ref.plaintext.compare(0, out.size(), out) != 0 || out.size() > ref.plaintext.size()) std::abort();
  if (s.ok()) {
    if (out != ref.plaintext) std::abort();
  } else if ((s.error_code() != grpc::StatusCode::DATA_LOSS &&
              s.error_code() != grpc::StatusCode::FAILED_PRECONDITION) ||
             s.error_message().empty()) {
    std::abort();
  }
  return 0;
}
