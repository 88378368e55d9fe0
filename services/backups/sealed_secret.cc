#include "services/backups/sealed_secret.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <memory>
#include <vector>

namespace flightdeck::backups {
namespace {

constexpr int kNonce = 12;
constexpr int kTag = 16;

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

}  // namespace

grpc::Status Seal(const KeyRing& keys, const std::string& plaintext, std::string* sealed) {
  if (keys.empty()) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "no backup master key configured");
  }
  const MasterKey& key = keys.current();
  std::vector<uint8_t> out(kNonce + plaintext.size() + kTag);
  if (RAND_bytes(out.data(), kNonce) != 1) {
    return grpc::Status(grpc::StatusCode::INTERNAL, "no randomness for a nonce");
  }
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int len = 0;
  bool ok = ctx && EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.key.data(), out.data()) == 1 &&
            EVP_EncryptUpdate(ctx.get(), out.data() + kNonce, &len,
                              reinterpret_cast<const unsigned char*>(plaintext.data()),
                              static_cast<int>(plaintext.size())) == 1 &&
            EVP_EncryptFinal_ex(ctx.get(), out.data() + kNonce + len, &len) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTag,
                                out.data() + kNonce + plaintext.size()) == 1;
  if (!ok) return grpc::Status(grpc::StatusCode::INTERNAL, "sealing failed");
  *sealed = key.id + ":" + Base64(out);
  return grpc::Status::OK;
}

grpc::Status Open(const KeyRing& keys, const std::string& sealed, std::string* plaintext) {
  size_t colon = sealed.find(':');
  std::vector<uint8_t> bytes;
  if (colon == std::string::npos || !FromBase64(sealed.substr(colon + 1), &bytes) ||
      bytes.size() < kNonce + kTag) {
    return grpc::Status(grpc::StatusCode::DATA_LOSS, "sealed secret is malformed");
  }
  const MasterKey* key = keys.Find(sealed.substr(0, colon));
  if (key == nullptr) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "sealed with master key " + sealed.substr(0, colon) + ", which is not configured");
  }
  const size_t n = bytes.size() - kNonce - kTag;
  std::string out(n, '\0');
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int len = 0;
  bool ok = ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key->key.data(), bytes.data()) == 1 &&
            EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len,
                              bytes.data() + kNonce, static_cast<int>(n)) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTag, bytes.data() + kNonce + n) == 1 &&
            EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + len, &len) == 1;
  if (!ok) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "sealed secret does not open with master key " + key->id);
  }
  *plaintext = std::move(out);
  return grpc::Status::OK;
}

}  // namespace flightdeck::backups
