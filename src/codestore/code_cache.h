// CodeCache: a host's decrypted code, kept only in memory (docs/formats/code-store.md, "Code
// cache").
//
//   <dir>/files/<key>   one file per distinct (scope, content, executable): decrypted bytes
//   <dir>/trees/<id>/   a code object's tree; its files are hard links into files/
//   <dir>/tmp/          trees and files being built
//
// <dir> must be on tmpfs (or ramfs), outside the data directory: decrypted code never reaches a
// disk. Sealed chunks fetched from the store are kept in an in-memory LRU of bounded size,
// shared by every function on the host, and verified (MAC) every time they are read. A file the
// host already holds for the same scope is linked, not rebuilt, so a new version of a big
// function costs only the files that changed; scopes never share a file, so one account's
// sandboxes never see another account's inodes.
//
// A tree stays while a lease on it is held (the sandboxes that mount it); unleased trees, and
// then files no tree links, are evicted least recently used once the files pass their budget.
//
// Thread-safety: acquire() may be called from any thread; builds are serialised.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "codestore/code_store.h"
#include "common/result.h"

namespace hearth::codestore {

struct CodeCacheOptions {
  std::filesystem::path dir;
  uint64_t chunk_cache_bytes = uint64_t{256} << 20;
  uint64_t file_cache_bytes = uint64_t{4} << 30;
};

struct CodeCacheStats {
  uint64_t chunk_hits = 0;
  uint64_t chunk_misses = 0;
  uint64_t files_linked = 0;   // found in files/
  uint64_t files_written = 0;  // decrypted and written
};

class CodeCache;

// A materialised tree, kept while held.
class CodeLease {
 public:
  ~CodeLease();
  CodeLease(const CodeLease&) = delete;
  CodeLease& operator=(const CodeLease&) = delete;
  const std::filesystem::path& path() const { return path_; }
  // The image settings of an image function's code, if any.
  const std::optional<ImageSettings>& image() const { return image_; }

 private:
  friend class CodeCache;
  CodeLease(CodeCache& cache, std::string id, std::filesystem::path path,
            std::optional<ImageSettings> image)
      : cache_(cache), id_(std::move(id)), path_(std::move(path)), image_(std::move(image)) {}
  CodeCache& cache_;
  const std::string id_;
  const std::filesystem::path path_;
  const std::optional<ImageSettings> image_;
};

class CodeCache {
 public:
  // Empties and prepares `options.dir` (created 0700 if missing). kInvalidParameter if it is not
  // on tmpfs or ramfs.
  static Result<std::unique_ptr<CodeCache>> open(CodeStore& store, CodeCacheOptions options);
  // Removes everything the cache put in its directory, and the directory if that leaves it
  // empty. REQUIRES: no lease outlives the cache.
  ~CodeCache();

  // The tree of code `id`, readable by any uid (directories 0755, files 0644 or 0755, owned by
  // this process), built if the host does not hold it. Errors: the store's (kNotFound, kCorrupt
  // naming the chunk), kIo.
  Result<std::shared_ptr<const CodeLease>> acquire(const std::string& id);

  CodeCacheStats stats() const;

 private:
  friend class CodeLease;
  struct Tree {
    int leases = 0;
    std::chrono::steady_clock::time_point last_used;
    std::optional<ImageSettings> image;
  };
  struct File {
    uint64_t bytes = 0;
    std::chrono::steady_clock::time_point last_used;
  };

  CodeCache(CodeStore& store, CodeCacheOptions options)
      : store_(store), options_(std::move(options)) {}
  void release(const std::string& id);
  Result<void> build(const std::string& id, const Manifest& m);  // REQUIRES: build_mu_ held
  // Returns the sealed chunk, from memory or the store.
  Result<std::string> fetch(const ChunkId& id);
  void evict();  // REQUIRES: build_mu_ held, mu_ not held

  CodeStore& store_;
  const CodeCacheOptions options_;
  std::mutex build_mu_;  // one build or eviction at a time; taken before mu_
  mutable std::mutex mu_;
  std::map<std::string, Tree> trees_;  // guarded by mu_: built trees
  std::map<std::string, File> files_;  // guarded by mu_: files/ entries
  uint64_t file_bytes_ = 0;            // guarded by mu_
  // Sealed chunks, most recent first, and where each is in the list. Guarded by mu_.
  std::list<std::pair<ChunkId, std::string>> chunks_;
  std::map<ChunkId, std::list<std::pair<ChunkId, std::string>>::iterator> chunk_index_;
  uint64_t chunk_bytes_ = 0;  // guarded by mu_
  CodeCacheStats stats_;      // guarded by mu_
};

}  // namespace hearth::codestore
