#include "codestore/cipher.h"

#include <openssl/evp.h>

#include <memory>

#include "common/check.h"
#include "common/crypto.h"

namespace hearth::codestore {
namespace {

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

CipherCtx newCtx() {
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  CHECK(ctx != nullptr);
  return ctx;
}

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}
unsigned char* bytes(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }

// OpenSSL takes int lengths; chunks and manifests are far below 2 GiB, and updates are split
// anyway so a caller's size never truncates.
constexpr size_t kMaxUpdate = size_t{1} << 30;

}  // namespace

std::string aes256Ctr(std::string_view key, std::string_view iv, std::string_view in) {
  CHECK(key.size() == kKeyBytes && iv.size() == kCtrIvBytes);
  CipherCtx ctx = newCtx();
  CHECK(EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_ctr(), nullptr, bytes(key), bytes(iv)) == 1);
  std::string out(in.size(), '\0');
  size_t done = 0;
  while (done < in.size()) {
    size_t n = std::min(in.size() - done, kMaxUpdate);
    int len = 0;
    CHECK(EVP_EncryptUpdate(ctx.get(), bytes(out) + done, &len, bytes(in) + done,
                            static_cast<int>(n)) == 1);
    CHECK(static_cast<size_t>(len) == n);  // CTR is a stream mode: nothing is held back
    done += n;
  }
  return out;
}

std::string aes256GcmSeal(std::string_view key, std::string_view aad, std::string_view plaintext) {
  CHECK(key.size() == kKeyBytes);
  CHECK(plaintext.size() < kMaxUpdate && aad.size() < kMaxUpdate);
  std::string nonce = randomBytes(kGcmNonceBytes);
  CipherCtx ctx = newCtx();
  CHECK(EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, bytes(key), bytes(nonce)) == 1);
  int len = 0;
  CHECK(EVP_EncryptUpdate(ctx.get(), nullptr, &len, bytes(aad), static_cast<int>(aad.size())) == 1);
  std::string out = nonce;
  out.resize(kGcmNonceBytes + plaintext.size() + kGcmTagBytes);
  unsigned char* body = bytes(out) + kGcmNonceBytes;
  CHECK(EVP_EncryptUpdate(ctx.get(), body, &len, bytes(plaintext),
                          static_cast<int>(plaintext.size())) == 1);
  int tail = 0;
  CHECK(EVP_EncryptFinal_ex(ctx.get(), body + len, &tail) == 1);
  CHECK(static_cast<size_t>(len + tail) == plaintext.size());
  CHECK(EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kGcmTagBytes,
                            body + plaintext.size()) == 1);
  return out;
}

Result<std::string> aes256GcmOpen(std::string_view key, std::string_view aad,
                                  std::string_view sealed, std::string_view what) {
  CHECK(key.size() == kKeyBytes);
  auto corrupt = [&] {
    return makeError(ErrorCode::kCorrupt, std::string(what) + " failed its authentication tag");
  };
  if (sealed.size() < kGcmNonceBytes + kGcmTagBytes || sealed.size() >= kMaxUpdate ||
      aad.size() >= kMaxUpdate) {
    return corrupt();
  }
  std::string_view nonce = sealed.substr(0, kGcmNonceBytes);
  std::string_view body =
      sealed.substr(kGcmNonceBytes, sealed.size() - kGcmNonceBytes - kGcmTagBytes);
  std::string tag(sealed.substr(sealed.size() - kGcmTagBytes));
  CipherCtx ctx = newCtx();
  CHECK(EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, bytes(key), bytes(nonce)) == 1);
  int len = 0;
  CHECK(EVP_DecryptUpdate(ctx.get(), nullptr, &len, bytes(aad), static_cast<int>(aad.size())) == 1);
  std::string out(body.size(), '\0');
  CHECK(EVP_DecryptUpdate(ctx.get(), bytes(out), &len, bytes(body),
                          static_cast<int>(body.size())) == 1);
  CHECK(EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kGcmTagBytes, bytes(tag)) == 1);
  int tail = 0;
  if (EVP_DecryptFinal_ex(ctx.get(), bytes(out) + len, &tail) != 1) return corrupt();
  return out;
}

}  // namespace hearth::codestore
