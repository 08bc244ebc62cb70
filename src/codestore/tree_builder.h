// TreeBuilder: the TreeSink that turns what an unpacker streams into the canonical tree of
// docs/formats/code-tree.md, and cuts its file contents into chunks as they arrive.
//
// Files of kSmallFileBytes or more are cut alone (kFileChunking), so a file that recurs in
// another version or function yields the same chunks; smaller files are held until finish() and
// then packed, in path order, into one stream cut with kPackChunking, so thousands of small
// files make a few dozen chunks. Chunks go to a ChunkSink, which encrypts and stores them.
//
// The rules, all enforced here and nowhere else:
//   - names: canonicalTreePath(); a name below a symlink or a file is refused at finish(), so
//     nothing is ever placed "through" a link;
//   - symlinks: SymlinkPolicy::kInsideTree (zips) allows only relative targets of the form
//     "../"*k followed by names without "..", k at most the depth of the link's directory.
//     Every directory on the way to a link is a real directory (previous rule), so the leading
//     ".." land on an ancestor inside the tree, and the names after them only descend (a link
//     met there resolves inside by the same argument). A ".." after a name is refused because
//     "link/.." means the parent of the link's target, which no lexical check can know.
//     SymlinkPolicy::kRootedTree (images, whose tree is the sandbox's root) allows any target:
//     inside the sandbox "/" is the tree, and the host never follows a link in it;
//   - sizes: the bytes streamed, replaced ones included, stay within TreeRules::max_file_bytes
//     (counted as they arrive: a zip bomb stops at the limit); at most max_entries adds;
//   - duplicates: refused unless TreeRules::replace_allowed (image layers override).
//
// Errors carry TreeRules::refusal (code and wording) for the archive's faults; a ChunkSink or
// FileSource error is passed through unchanged.
//
// Thread-safety: addFile, addDirectory, addSymlink and addHardLink may run concurrently within a
// layer (a parallel unpacker); beginLayer, remove, clearDirectory and finish must not overlap
// anything. The result does not depend on the order of concurrent adds: entries are sorted, and
// so are chunks (by id).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "codestore/manifest.h"
#include "codestore/tree_sink.h"
#include "common/result.h"

namespace hearth::codestore {

inline constexpr uint64_t kSmallFileBytes = 128 << 10;

// Encrypts and stores one chunk; returns its reference. Called in stream order for each file,
// from several threads at once when the unpacker runs in parallel.
class ChunkSink {
 public:
  virtual ~ChunkSink() = default;
  virtual Result<ChunkRef> store(std::string_view plaintext) = 0;
};

enum class SymlinkPolicy { kInsideTree, kRootedTree };

struct TreeRules {
  SymlinkPolicy symlinks = SymlinkPolicy::kInsideTree;
  bool replace_allowed = false;
  uint64_t max_file_bytes = 0;
  uint64_t max_entries = 0;
  // How refusals read: "<archive>: entry '<name>' <why>." and "<archive>: more than <n>
  // entries.", with this code.
  ErrorCode refusal_code = ErrorCode::kInvalidParameter;
  std::string archive = "Could not read the code";
  // The error for passing max_file_bytes.
  Error too_big = makeError(ErrorCode::kInvalidParameter, "code too large");
};

class TreeBuilder final : public TreeSink {
 public:
  TreeBuilder(ChunkSink& chunks, TreeRules rules);

  void beginLayer() override { ++layer_; }  // not concurrently with anything
  Result<void> addDirectory(std::string_view path) override;
  Result<void> addFile(std::string_view path, bool executable, FileSource& content) override;
  Result<void> addSymlink(std::string_view path, std::string_view target) override;
  Result<void> addHardLink(std::string_view path, std::string_view target) override;
  Result<void> remove(std::string_view path) override;
  Result<void> clearDirectory(std::string_view path) override;

  // Checks the whole tree, packs the small files and returns the manifest (without image
  // settings). The builder is spent afterwards.
  Result<Manifest> finish();

 private:
  struct FileContent {
    uint64_t size = 0;
    Sha256Digest sha256{};
    std::vector<Extent> extents;  // large files: already chunked
    std::string small;            // small files: the bytes, packed at finish()
    bool is_small = false;
  };
  struct Node {
    explicit Node(EntryType t) : type(t) {}
    EntryType type;
    uint64_t layer = 0;
    bool executable = false;
    std::string target;
    std::shared_ptr<const FileContent> content;  // shared by hard links
  };

  Error refuse(std::string_view name, std::string_view why) const;
  Result<std::string> name(std::string_view path) const;
  Result<void> place(std::string path, Node node);  // takes mu_
  Result<uint32_t> storeChunk(std::string_view plaintext);
  // Erases `path` (if `self`) and everything below it that came from an earlier layer.
  // REQUIRES: mu_ held.
  void erase(const std::string& path, bool self);
  Result<void> checkSymlink(const std::string& path, const std::string& target) const;

  ChunkSink& chunks_;  // REQUIRES: thread-safe when adds run concurrently
  const TreeRules rules_;
  uint64_t layer_ = 0;
  std::atomic<uint64_t> streamed_bytes_ = 0;
  std::mutex mu_;  // guards what follows
  uint64_t adds_ = 0;
  std::map<std::string, Node> nodes_;
  std::vector<ChunkRef> chunk_list_;  // in the order stored; sorted by id at finish()
  std::map<ChunkId, uint32_t> chunk_index_;
};

}  // namespace hearth::codestore
