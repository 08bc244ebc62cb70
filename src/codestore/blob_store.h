// BlobStore: where sealed chunks and manifests are kept, named by id. The code store above it
// encrypts and authenticates everything it puts here, so a backend only has to keep bytes
// (locally, or later in an object store) and never sees plaintext or keys.
//
// Contract:
//   - put() is atomic: a reader sees the whole blob or none; it is durable once sync() returns;
//   - get() of a blob never put, or removed, is kNotFound; a blob that was damaged is returned
//     as it is (the code store's MAC check catches it);
//   - remove() is idempotent;
//   - list() returns every id of a kind, for sweeping what a crash left unreferenced.
// Thread-safety: implementations are thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace hearth::codestore {

enum class BlobKind { kChunk, kManifest };

class BlobStore {
 public:
  virtual ~BlobStore() = default;
  virtual Result<void> put(BlobKind kind, const std::string& id, std::string_view data) = 0;
  virtual Result<void> sync() = 0;
  virtual Result<std::string> get(BlobKind kind, const std::string& id) = 0;
  virtual Result<void> remove(BlobKind kind, const std::string& id) = 0;
  virtual Result<std::vector<std::string>> list(BlobKind kind) = 0;
};

}  // namespace hearth::codestore
