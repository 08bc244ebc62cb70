// Content digests as OCI writes them ("sha256:<64 lowercase hex>"), and the check every fetched
// document and blob passes before anything parses it.
//
// Only sha256 is supported: it is what registries and builders use, and the image spec requires
// it of every implementation. Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace hearth::codestore::oci {

inline constexpr std::string_view kSha256Prefix = "sha256:";

// True if `digest` is "sha256:" followed by 64 lowercase hex digits.
bool isSha256Digest(std::string_view digest);

// "sha256:<hex>" of `data`.
std::string sha256Digest(std::string_view data);

// Checks that `data` is `expected_size` bytes long and hashes to `expected_digest` (a valid
// sha256 digest). Otherwise kCorrupt "Blob <digest> (<what>) is corrupt: ..."; `what` says what
// the blob is ("layer 2 of 3 of the source image 127.0.0.1:5000/team/app:v1").
Result<void> verifyBlob(std::string_view data, std::string_view expected_digest,
                        uint64_t expected_size, std::string_view what);

}  // namespace hearth::codestore::oci
