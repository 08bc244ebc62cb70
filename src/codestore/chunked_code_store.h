// ChunkedCodeStore: the CodeStore over a BlobStore, with an SQLite index of objects, chunks
// and references, and a Keyring (docs/formats/code-store.md).
//
// Upload: the zip is unpacked into a TreeBuilder whose chunks are sealed (chunk_codec.h) and
// written unless the index, or another upload in flight, already has them; the manifest is
// sealed under a fresh data key; every blob is synced; then one transaction records the object,
// its wrapped data key and a reference on each of its chunks. Until that commit nothing refers
// to the new blobs, so a crash leaves only blobs that the sweep at open removes.
//
// Garbage collection: removing an object drops its references in one transaction; a chunk whose
// count reaches zero is deleted (row, then blob) unless an upload in flight has pinned it. An
// upload pins every chunk it will reference before it checks whether the chunk exists, and
// unpins after its commit, so a chunk is never deleted between "already stored" and the
// reference that relies on it. A chunk left at zero by an unpin is collected then.
//
// Salt scopes: an account's code is chunked under the salt of scope "account:<id>", unless the
// account is listed in `shared_scope_accounts` (then scope "shared"), for public base content
// that should deduplicate across the accounts that publish it.
//
// Thread-safety: all methods may run concurrently; sealing and blob I/O run unlocked, the index
// and the pins under one mutex.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "codestore/blob_store.h"
#include "codestore/code_store.h"
#include "codestore/keyring.h"
#include "codestore/tree_builder.h"
#include "common/unique_fd.h"
#include "store/sqlite_db.h"

namespace hearth::codestore {

inline constexpr uint64_t kMaxImageBytes = uint64_t{10} << 30;  // Lambda's image size
inline constexpr uint64_t kMaxImageEntries = 1000000;

// An image's tree: links with any target (the tree is the sandbox's root), later layers
// replacing earlier entries, kMaxImageBytes of files and kMaxImageEntries adds; refusals are
// kInvalidParameter naming the image.
TreeRules imageTreeRules(const std::string& uri);

struct CodeStoreOptions {
  std::filesystem::path dir;      // index and blobs; <data-dir>/code
  std::filesystem::path keyring;  // <data-dir>/keyring unless kept elsewhere
  std::set<std::string> shared_scope_accounts;
  // Docker's config.json with registry credentials (codestore/oci/credentials.h); empty: none.
  std::filesystem::path registry_config;
};

class ChunkedCodeStore final : public CodeStore {
 public:
  // Opens (creating) the store, takes its directory lock (one process per store), and sweeps
  // what a crash left: unreferenced chunks, blobs the index does not know.
  static Result<std::unique_ptr<ChunkedCodeStore>> open(const CodeStoreOptions& options);

  // The usage of a store in use by another process (hearthd stats): reads the index only.
  static Result<std::vector<CodeUsage>> readUsage(const std::filesystem::path& dir);

  Result<CodeInfo> put(const std::string& account_id, std::string_view zip) override;
  Result<CodeInfo> putImage(const std::string& account_id, const std::string& image_uri) override;
  Result<std::string> readZip(const std::string& id) override;
  Result<bool> contains(const std::string& id) override;
  Result<void> remove(const std::string& id) override;
  Result<void> retainOnly(const std::set<std::string>& ids) override;
  Result<std::vector<CodeUsage>> usage() override;
  Result<Manifest> manifest(const std::string& id) override;
  Result<std::string> sealedChunk(const ChunkId& id) override;

  // Adds a master key, re-wraps every data key under it in one transaction, and drops the keys
  // nothing uses. Chunks and manifests are not touched.
  Result<void> rotateKeys();

  std::string scopeOf(const std::string& account_id) const;

 private:
  class Upload;

  // What identifies new code before it is unpacked.
  struct NewObject {
    std::string account_id;
    std::string kind;           // "zip" or "image"
    Sha256Digest digest;        // of the upload, or the image's manifest digest
    std::string source_sha256;  // CodeSha256
    uint64_t source_bytes;      // CodeSize
  };
  // Unpacks the code into a sink; returns the image settings, if any.
  using Fill = std::function<Result<std::optional<ImageSettings>>(TreeSink&)>;
  // Stores `object` unless it exists: `fill` feeds a TreeBuilder under `rules`, then the
  // manifest is sealed and the object committed (the steps in docs/formats/code-store.md).
  Result<CodeInfo> store(const NewObject& object, const TreeRules& rules, const Fill& fill);

  ChunkedCodeStore(CodeStoreOptions options, UniqueFd lock, Keyring keyring,
                   std::unique_ptr<BlobStore> blobs, store::sqlite::Database db);

  Result<std::optional<CodeInfo>> findObject(const std::string& id);  // REQUIRES: mu_ held
  Result<void> removeLocked(const std::string& id);                   // REQUIRES: mu_ held
  // A chunk's reference count, or nullopt if the index does not know it. REQUIRES: mu_ held.
  Result<std::optional<int64_t>> chunkRefs(const ChunkId& id);
  struct ObjectKey {
    WrappedKey key;
    std::string manifest;  // the manifest blob's name
  };
  // kNotFound if there is no such object. REQUIRES: mu_ held.
  Result<ObjectKey> objectKey(const std::string& id);
  // Deletes chunk `id` if no object references it and no upload pins it. REQUIRES: mu_ held.
  Result<void> collect(const ChunkId& id);
  Result<void> sweep();
  void unpin(const ChunkId& id);  // REQUIRES: mu_ held

  const CodeStoreOptions options_;
  const UniqueFd lock_;  // flock on <dir>/LOCK
  std::mutex mu_;
  Keyring keyring_;                   // guarded by mu_ for rotation; salts are read unlocked
  std::unique_ptr<BlobStore> blobs_;  // thread-safe itself
  store::sqlite::Database db_;        // guarded by mu_
  // Chunks that uploads in flight will reference: how many uploads, and whether one of them
  // wrote the blob (so an abandoned, unindexed blob can be deleted at the last unpin).
  struct Pin {
    int uploads = 0;
    bool written = false;
  };
  std::map<ChunkId, Pin> pins_;  // guarded by mu_
};

}  // namespace hearth::codestore
