// Hashes, MACs and randomness from OpenSSL, behind small value-returning functions.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace hearth {

using Sha256Digest = std::array<uint8_t, 32>;

Sha256Digest sha256(std::string_view data);

// Incremental SHA-256 for data that arrives in pieces. Not thread-safe.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(std::string_view data);
  Sha256Digest finish();

 private:
  void* ctx_;  // EVP_MD_CTX*, kept opaque so OpenSSL headers stay out of ours
};

Sha256Digest hmacSha256(std::string_view key, std::string_view data);

// Constant-time comparison of two strings of the same length; false if lengths differ.
bool constantTimeEquals(std::string_view a, std::string_view b);

// `n` bytes from the OS CSPRNG. Aborts if the kernel cannot provide them (never happens on Linux).
std::string randomBytes(size_t n);

}  // namespace hearth
