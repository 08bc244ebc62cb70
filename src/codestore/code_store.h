// The code store: function code, checked once at upload and kept ready to mount.
//
// put() takes a zip archive as uploaded (Code.ZipFile), validates it with Lambda's limits,
// and stores it under its SHA-256. Identical uploads are stored once. materialize() gives a
// read-only directory tree of the code for a sandbox's /var/task.
//
// (Issue 4 replaces the storage format with content-defined, encrypted chunks behind this same
// interface.) Implementations are thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace hearth::codestore {

inline constexpr uint64_t kMaxZippedBytes = 52428800;     // 50 MB direct upload
inline constexpr uint64_t kMaxUnzippedBytes = 262144000;  // 250 MB unzipped

struct CodeInfo {
  std::string id;             // opaque, stable: names the stored code
  std::string sha256_base64;  // FunctionConfiguration.CodeSha256: base64 of the zip's SHA-256
  uint64_t zipped_bytes = 0;  // FunctionConfiguration.CodeSize
  uint64_t unzipped_bytes = 0;
};

class CodeStore {
 public:
  virtual ~CodeStore() = default;

  // Validates and stores `zip`. Errors (kInvalidZipFile unless said otherwise):
  //   - not a zip archive, a corrupt one, or an encrypted one;
  //   - an entry with an absolute path, "..", or a symlink that leaves the tree;
  //   - entries that are devices, fifos or hard links;
  //   - more than kMaxUnzippedBytes when extracted (counted while inflating, never trusting
  //     header sizes: zip bombs stop at the limit) → kInvalidParameter with Lambda's message
  //     "Unzipped size must be smaller than 262144000 bytes";
  //   - more than kMaxZippedBytes → kEntityTooLarge.
  virtual Result<CodeInfo> put(std::string_view zip) = 0;

  // A directory holding the extracted code, readable (not writable) by any uid: files 0644 or
  // 0755 (if any execute bit was set in the archive), directories 0755, owned by root.
  virtual Result<std::filesystem::path> materialize(const std::string& id) = 0;

  // The original zip bytes (for GetFunction's Code.Location download).
  virtual Result<std::string> readZip(const std::string& id) = 0;

  // Drops the code if nothing references it any more. The caller tracks references.
  virtual Result<void> remove(const std::string& id) = 0;
};

// Stores code under `dir` (created if missing).
Result<std::unique_ptr<CodeStore>> openLocalCodeStore(const std::filesystem::path& dir);

}  // namespace hearth::codestore
