// The code store: function code turned once, at upload, into a canonical tree whose contents
// are cut into content-defined chunks, encrypted convergently and stored once per salt scope
// (docs/formats/code-tree.md for the tree, chunks and manifests; docs/formats/code-store.md for
// the store on disk).
//
// The control plane puts and removes code; workers read manifests and sealed chunks to build
// /var/task (codestore/code_cache.h). Every read is authenticated: a chunk or manifest that fails
// its MAC or tag is kCorrupt, naming the code and the chunk, and is never used.
//
// Thread-safety: implementations are thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "codestore/manifest.h"
#include "common/result.h"

namespace hearth::codestore {

inline constexpr uint64_t kMaxZippedBytes = 52428800;     // 50 MB direct upload
inline constexpr uint64_t kMaxUnzippedBytes = 262144000;  // 250 MB unzipped

struct CodeInfo {
  std::string id;             // opaque, stable: names the stored code object
  std::string sha256_base64;  // FunctionConfiguration.CodeSha256: base64 SHA-256 of the upload
  uint64_t zipped_bytes = 0;  // FunctionConfiguration.CodeSize
  uint64_t unzipped_bytes = 0;
  // Image code only: registry/repository@sha256:... of what was pulled (Code.ResolvedImageUri).
  std::string resolved_image_uri;
};

// What one account's code costs (hearthd stats).
struct CodeUsage {
  std::string account_id;
  uint64_t objects = 0;
  uint64_t logical_bytes = 0;  // the files of every stored object, as functions see them
  uint64_t stored_bytes = 0;   // distinct sealed chunks and manifests those objects use
};

class CodeStore {
 public:
  virtual ~CodeStore() = default;

  // Validates `zip` with Lambda's rules (codestore/zip_archive.h) and stores it for
  // `account_id`, in that account's salt scope. Uploading the same zip again to the same account
  // returns the stored object. More than kMaxZippedBytes → kEntityTooLarge.
  virtual Result<CodeInfo> put(const std::string& account_id, std::string_view zip) = 0;

  // Pulls the container image `image_uri` (registry/repository[:tag][@digest], codestore/oci)
  // for linux/amd64, flattens its layers into the canonical tree and stores it with the image's
  // settings (Manifest::image), once per manifest digest and account. CodeSha256 is the
  // digest's hex; CodeSize 0. Errors: kInvalidParameter for a missing, unreachable, malformed
  // or unverifiable image (Lambda's "Source image ... does not exist ..."); kUnsupported for
  // formats Hearth cannot read.
  virtual Result<CodeInfo> putImage(const std::string& account_id,
                                    const std::string& image_uri) = 0;

  // A zip of the stored tree (for GetFunction's Code.Location): the same files, links and
  // modes, written canonically, so its bytes (and SHA-256) are not the upload's.
  virtual Result<std::string> readZip(const std::string& id) = 0;

  // Whether code object `id` is stored.
  virtual Result<bool> contains(const std::string& id) = 0;

  // Drops the code object and frees chunks nothing else references. The caller tracks
  // references to objects. kNotFound if not stored.
  virtual Result<void> remove(const std::string& id) = 0;
  // Removes every object not in `ids`: objects stored by an upload whose function never
  // committed (a crash between the two).
  virtual Result<void> retainOnly(const std::set<std::string>& ids) = 0;

  virtual Result<std::vector<CodeUsage>> usage() = 0;

  // For workers: the object's manifest, unsealed and verified; and a sealed chunk as stored
  // (the caller verifies it with the manifest's key, codestore/chunk_codec.h).
  virtual Result<Manifest> manifest(const std::string& id) = 0;
  virtual Result<std::string> sealedChunk(const ChunkId& id) = 0;
};

}  // namespace hearth::codestore
