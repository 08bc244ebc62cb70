// The code store's ciphers, from OpenSSL: AES-256-CTR for chunks (deterministic, so equal chunks
// encrypt equally under their convergent key) and AES-256-GCM for manifests and wrapped keys.
//
// Thread-safety: stateless; safe from any thread.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace hearth::codestore {

inline constexpr size_t kKeyBytes = 32;       // AES-256 and HMAC-SHA-256 keys
inline constexpr size_t kCtrIvBytes = 16;     // AES-CTR initial counter block
inline constexpr size_t kGcmNonceBytes = 12;  // AES-GCM nonce
inline constexpr size_t kGcmTagBytes = 16;    // AES-GCM tag

// AES-256-CTR of `in` under `key` from counter block `iv`; the same call decrypts.
// REQUIRES: key.size() == kKeyBytes, iv.size() == kCtrIvBytes.
std::string aes256Ctr(std::string_view key, std::string_view iv, std::string_view in);

// nonce ‖ ciphertext ‖ tag, with a fresh random nonce. `aad` is authenticated, not stored.
// REQUIRES: key.size() == kKeyBytes.
std::string aes256GcmSeal(std::string_view key, std::string_view aad, std::string_view plaintext);

// Inverse of aes256GcmSeal. kCorrupt if the tag does not verify (wrong key, wrong aad, or
// altered bytes) or `sealed` is too short; `what` names the sealed thing in the message.
Result<std::string> aes256GcmOpen(std::string_view key, std::string_view aad,
                                  std::string_view sealed, std::string_view what);

}  // namespace hearth::codestore
