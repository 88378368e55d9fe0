#include "common/secrets/secrets.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "common/config/config.h"
#include "common/log/log.h"

namespace flightdeck::secrets {
namespace {

constexpr size_t kKeySize = 32;
constexpr size_t kMaxKeyIdSize = 64;
constexpr int kNonce = 12;
constexpr int kTag = 16;

bool IsKeyIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

bool IsBase64Char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

// Exactly 32 bytes of standard base64; the trailing '=' may be left out.
bool DecodeKey(std::string b64, std::array<uint8_t, 32>* key) {
  if (b64.size() == 43) b64.push_back('=');
  bool ok = b64.size() == 44 && b64[43] == '=' &&
            std::all_of(b64.begin(), b64.begin() + 43, IsBase64Char);
  uint8_t decoded[33];
  // EVP_DecodeBlock counts the padding as output: 44 characters always give 33 bytes.
  ok = ok && EVP_DecodeBlock(decoded, reinterpret_cast<const unsigned char*>(b64.data()), 44) == 33;
  if (ok) std::memcpy(key->data(), decoded, kKeySize);
  OPENSSL_cleanse(decoded, sizeof decoded);
  OPENSSL_cleanse(b64.data(), b64.size());
  return ok;
}

std::string UnnamedKeyId(const std::array<uint8_t, 32>& key) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  EVP_Digest(key.data(), key.size(), md, &md_len, EVP_sha256(), nullptr);
  static const char kHex[] = "0123456789abcdef";
  std::string id;
  for (int i = 0; i < 8; ++i) {
    id.push_back(kHex[md[i] >> 4]);
    id.push_back(kHex[md[i] & 0xf]);
  }
  return id;
}

std::string Trim(const std::string& s) {
  const char* ws = " \t\r\n";
  size_t b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

std::string Base64(const std::vector<uint8_t>& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(),
                          static_cast<int>(bytes.size()));
  out.resize(n);
  return out;
}

bool FromBase64(const std::string& text, std::vector<uint8_t>* out) {
  if (text.empty() || text.size() % 4 != 0) return false;
  out->assign(3 * text.size() / 4, 0);
  int n = EVP_DecodeBlock(out->data(), reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return false;
  size_t padding = (text.end()[-1] == '=') + (text.end()[-2] == '=');
  out->resize(static_cast<size_t>(n) - padding);
  return true;
}

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

grpc::Status Invalid(const std::string& message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

// One name's pair (inline, file): at most one of them, parsed.
grpc::Status LoadPair(const EnvLookup& lookup, const std::string& inline_var, const std::string& file_var,
                      KeyRing* out, std::string* source) {
  std::optional<std::string> inline_keys = lookup(inline_var);
  std::optional<std::string> file = lookup(file_var);
  if (inline_keys && file) return Invalid(inline_var + ": set either it or " + file_var + ", not both");
  if (file) {
    std::ifstream in(*file);
    if (!in) return Invalid(file_var + ": cannot read " + *file);
    std::stringstream text;
    text << in.rdbuf();
    std::string content = text.str();
    grpc::Status s = KeyRing::Parse(content, file_var, out);
    OPENSSL_cleanse(content.data(), content.size());
    if (s.ok()) *source = file_var;
    return s;
  }
  if (inline_keys) {
    grpc::Status s = KeyRing::Parse(*inline_keys, inline_var, out);
    if (s.ok()) *source = inline_var;
    return s;
  }
  return grpc::Status::OK;
}

}  // namespace

bool IsValidKeyId(const std::string& id) {
  return !id.empty() && id.size() <= kMaxKeyIdSize && std::all_of(id.begin(), id.end(), IsKeyIdChar);
}

grpc::Status KeyRing::Parse(const std::string& text, const std::string& source_name, KeyRing* out) {
  KeyRing ring;
  const bool multi_line = text.find('\n') != std::string::npos;
  int entry = 0;
  int line_no = 0;
  size_t line_start = 0;
  while (line_start <= text.size()) {
    size_t line_end = text.find('\n', line_start);
    if (line_end == std::string::npos) line_end = text.size();
    std::string line = text.substr(line_start, line_end - line_start);
    line_start = line_end + 1;
    ++line_no;
    line = line.substr(0, line.find('#'));
    size_t piece_start = 0;
    while (piece_start <= line.size()) {
      size_t piece_end = line.find(',', piece_start);
      if (piece_end == std::string::npos) piece_end = line.size();
      std::string piece = Trim(line.substr(piece_start, piece_end - piece_start));
      piece_start = piece_end + 1;
      if (piece.empty()) continue;
      ++entry;
      std::string where = source_name + ": entry " + std::to_string(entry);
      if (multi_line) where += " (line " + std::to_string(line_no) + ")";
      auto bad = [&](const std::string& what) { return Invalid(where + ": " + what); };

      MasterKey key;
      size_t colon = piece.find(':');
      std::string b64 = piece;
      if (colon != std::string::npos) {
        key.id = Trim(piece.substr(0, colon));
        b64 = Trim(piece.substr(colon + 1));
        if (!IsValidKeyId(key.id)) {
          return bad("a key id is 1 to 64 letters, digits, '.', '_' or '-' (\"id:base64\")");
        }
      }
      if (!DecodeKey(b64, &key.key)) return bad("not 32 bytes of base64");
      if (key.id.empty()) key.id = UnnamedKeyId(key.key);
      if (ring.Find(key.id) != nullptr) return bad("key id \"" + key.id + "\" is used twice");
      ring.Add(std::move(key));
    }
  }
  if (ring.empty()) return Invalid(source_name + ": no key given");
  *out = std::move(ring);
  return grpc::Status::OK;
}

const MasterKey* KeyRing::Find(const std::string& id) const {
  for (const MasterKey& k : keys_) {
    if (k.id == id) return &k;
  }
  return nullptr;
}

grpc::Status LoadKeyRing(KeyRing* out, std::string* source) {
  return LoadKeyRingFrom(
      [](const std::string& name) -> std::optional<std::string> {
        const char* v = std::getenv(name.c_str());
        if (v == nullptr || *v == '\0') return std::nullopt;
        return std::string(v);
      },
      out, source);
}

grpc::Status LoadKeyRingFrom(const EnvLookup& lookup, KeyRing* out, std::string* source) {
  KeyRing ring;
  std::string from;
  grpc::Status s = LoadPair(lookup, kMasterKeyVar, kMasterKeyFileVar, &ring, &from);
  // The older names are read only when neither new one is set: a deployment moving to the new
  // names may leave the old ones behind for a while.
  if (s.ok() && from.empty()) s = LoadPair(lookup, kLegacyKeyVar, kLegacyKeyFileVar, &ring, &from);
  if (!s.ok()) return s;
  *out = std::move(ring);
  if (source != nullptr) *source = from;
  return grpc::Status::OK;
}

namespace {

constexpr char kBoundTag[] = "aad:";  // after "<key id>:"; never in base64, so never in old values

std::string AdditionalData(const Binding& where) { return "flightdeck\n" + where.column + "\n" + where.row; }

}  // namespace

grpc::Status Seal(const KeyRing& keys, const std::string& plaintext, const Binding& where, std::string* sealed) {
  if (keys.empty()) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        std::string("no master key configured (set ") + kMasterKeyVar + ")");
  }
  const MasterKey& key = keys.current();
  const std::string aad = AdditionalData(where);
  std::vector<uint8_t> out(kNonce + plaintext.size() + kTag);
  if (RAND_bytes(out.data(), kNonce) != 1) {
    return grpc::Status(grpc::StatusCode::INTERNAL, "no randomness for a nonce");
  }
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int len = 0;
  bool ok = ctx && EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.key.data(), out.data()) == 1 &&
            EVP_EncryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                              static_cast<int>(aad.size())) == 1 &&
            EVP_EncryptUpdate(ctx.get(), out.data() + kNonce, &len,
                              reinterpret_cast<const unsigned char*>(plaintext.data()),
                              static_cast<int>(plaintext.size())) == 1 &&
            EVP_EncryptFinal_ex(ctx.get(), out.data() + kNonce + len, &len) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTag,
                                out.data() + kNonce + plaintext.size()) == 1;
  if (!ok) return grpc::Status(grpc::StatusCode::INTERNAL, "sealing failed");
  *sealed = key.id + ":" + kBoundTag + Base64(out);
  return grpc::Status::OK;
}

grpc::Status Open(const KeyRing& keys, const std::string& sealed, const Binding& where, std::string* plaintext) {
  size_t colon = sealed.find(':');
  std::string body = colon == std::string::npos ? std::string() : sealed.substr(colon + 1);
  const bool bound = body.rfind(kBoundTag, 0) == 0;
  if (bound) body.erase(0, std::strlen(kBoundTag));
  std::vector<uint8_t> bytes;
  if (colon == std::string::npos || !FromBase64(body, &bytes) || bytes.size() < kNonce + kTag) {
    return grpc::Status(grpc::StatusCode::DATA_LOSS, "sealed secret is malformed");
  }
  const std::string key_id = sealed.substr(0, colon);
  const MasterKey* key = keys.Find(key_id);
  if (key == nullptr) {
    // The id is shown only when it is one: a malformed value is not echoed.
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        IsValidKeyId(key_id) ? "sealed with master key " + key_id + ", which is not configured"
                                             : std::string("sealed secret is malformed"));
  }
  const std::string aad = bound ? AdditionalData(where) : std::string();
  const size_t n = bytes.size() - kNonce - kTag;
  std::string out(n, '\0');
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int len = 0;
  bool ok = ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key->key.data(), bytes.data()) == 1 &&
            EVP_DecryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                              static_cast<int>(aad.size())) == 1 &&
            EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len,
                              bytes.data() + kNonce, static_cast<int>(n)) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTag, bytes.data() + kNonce + n) == 1 &&
            EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + len, &len) == 1;
  if (!ok) {
    OPENSSL_cleanse(out.data(), out.size());
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        bound ? "sealed secret does not open with master key " + key->id + " as " + where.column +
                                    " of " + where.row + " (sealed for another place, or altered)"
                              : "sealed secret does not open with master key " + key->id);
  }
  *plaintext = std::move(out);
  return grpc::Status::OK;
}

bool IsSealedValue(const std::string& stored) { return stored.rfind(kSealedPrefix, 0) == 0; }

grpc::Status SealValue(const KeyRing& keys, const std::string& plaintext, const Binding& where, std::string* stored) {
  std::string sealed;
  if (grpc::Status s = Seal(keys, plaintext, where, &sealed); !s.ok()) return s;
  *stored = kSealedPrefix + sealed;
  return grpc::Status::OK;
}

grpc::Status OpenValue(const KeyRing& keys, const std::string& stored, const Binding& where, std::string* plaintext) {
  if (!IsSealedValue(stored)) {
    *plaintext = stored;
    return grpc::Status::OK;
  }
  return Open(keys, stored.substr(std::strlen(kSealedPrefix)), where, plaintext);
}

grpc::Status NeedsMasterKey(const std::string& field) {
  return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                      field + ": storing it needs a master key, and none is configured; set " + kMasterKeyVar +
                          " (or " + kMasterKeyFileVar + ")");
}

KeyRing LoadServiceKeys(const std::string& refused_without_key) {
  KeyRing keys;
  std::string source;
  if (grpc::Status s = LoadKeyRing(&keys, &source); !s.ok()) throw config::ConfigError(s.error_message());
  if (keys.empty()) {
    log::Warn(std::string("no master key configured (") + kMasterKeyVar + " or " + kMasterKeyFileVar +
              "): " + refused_without_key + " will be refused");
  } else {
    log::Info("master keys loaded", {{"from", source}, {"current_key_id", keys.current().id}});
  }
  return keys;
}

}  // namespace flightdeck::secrets
