#include "codestore/oci/digest.h"

#include "common/crypto.h"
#include "common/encoding.h"

namespace hearth::codestore::oci {

bool isSha256Digest(std::string_view digest) {
  if (!digest.starts_with(kSha256Prefix)) return false;
  std::string_view hex = digest.substr(kSha256Prefix.size());
  if (hex.size() != 64) return false;
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string sha256Digest(std::string_view data) {
  return std::string(kSha256Prefix) + hexEncode(sha256(data));
}

Result<void> verifyBlob(std::string_view data, std::string_view expected_digest,
                        uint64_t expected_size, std::string_view what) {
  const std::string name =
      "Blob " + std::string(expected_digest) + " (" + std::string(what) + ") is corrupt: ";
  if (data.size() != expected_size) {
    return makeError(ErrorCode::kCorrupt, name + "the registry sent " +
                                              std::to_string(data.size()) + " bytes, not " +
                                              std::to_string(expected_size) + ".");
  }
  const std::string actual = sha256Digest(data);
  if (actual != expected_digest) {
    return makeError(ErrorCode::kCorrupt,
                     name + "the registry sent content with digest " + actual + ".");
  }
  return {};
}

}  // namespace hearth::codestore::oci
