// Fuzzes uploaded zips all the way to the tree a sandbox mounts: codestore::unpackZip into a
// TreeBuilder (src/codestore/zip_archive.h, tree_builder.h), then CodeCache::acquire builds the
// tree on tmpfs from the sealed chunks, as for /var/task.
//
// Each input is unpacked with one reader and with two, under small limits. Properties checked:
//   - both give the same outcome: the same manifest, or the same error message;
//   - a manifest re-decodes (decodeManifest) to itself and its file sizes add up, within limit;
//   - the tree the cache builds from it holds only regular files, directories and symlinks, and
//     every path in it resolves (weakly_canonical, following links) inside the tree; files are
//     0644 or 0755, directories 0755, and each file holds what the manifest says.
// The code store is a small in-memory CodeStore serving this input's manifest and chunks.
// Seeds: fuzz/corpus/zip/ (small archives made with `zip`).
#include <sys/stat.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <system_error>

#include "codestore/code_cache.h"
#include "codestore/testing/memory_chunks.h"
#include "codestore/zip_archive.h"

namespace {

namespace fs = std::filesystem;
namespace codestore = hearth::codestore;
using hearth::ErrorCode;
using hearth::Result;

constexpr uint64_t kMaxBytes = 4u << 20;
constexpr uint64_t kMaxEntries = 1000;

void require(bool ok) {
  if (!ok) __builtin_trap();
}

// True if `p` lies at or below `root` (both canonical).
bool inside(const fs::path& root, const fs::path& p) {
  auto r = root.begin();
  auto q = p.begin();
  for (; r != root.end(); ++r, ++q) {
    if (q == p.end() || *q != *r) return false;
  }
  return true;
}

// Serves one manifest and its chunks to the cache; nothing else is asked of it.
class OneObjectStore final : public codestore::CodeStore {
 public:
  OneObjectStore(codestore::Manifest m, std::map<codestore::ChunkId, std::string> chunks)
      : manifest_(std::move(m)), chunks_(std::move(chunks)) {}
  Result<codestore::Manifest> manifest(const std::string&) override { return manifest_; }
  Result<std::string> sealedChunk(const codestore::ChunkId& id) override {
    auto it = chunks_.find(id);
    if (it == chunks_.end()) return hearth::makeError(ErrorCode::kCorrupt, "missing chunk");
    return it->second;
  }
  Result<codestore::CodeInfo> put(const std::string&, std::string_view) override { return no(); }
  Result<codestore::CodeInfo> putImage(const std::string&, const std::string&) override {
    return no();
  }
  Result<std::string> readZip(const std::string&) override { return no(); }
  Result<bool> contains(const std::string&) override { return true; }
  Result<void> remove(const std::string&) override { return no(); }
  Result<void> retainOnly(const std::set<std::string>&) override { return no(); }
  Result<std::vector<codestore::CodeUsage>> usage() override { return no(); }

 private:
  static hearth::Error no() { return hearth::makeError(ErrorCode::kUnsupported, "not here"); }
  codestore::Manifest manifest_;
  std::map<codestore::ChunkId, std::string> chunks_;
};

struct Unpacked {
  Result<codestore::Manifest> manifest = hearth::makeError(ErrorCode::kInternal, "not run");
  codestore::testing::MemoryChunks chunks;
};

void unpack(std::string_view zip, unsigned threads, Unpacked& out) {
  codestore::TreeBuilder builder(out.chunks, codestore::zipTreeRules(kMaxBytes, kMaxEntries));
  Result<void> read = codestore::unpackZip(zip, builder, threads);
  out.manifest = read ? builder.finish() : Result<codestore::Manifest>(read.error());
}

void checkTree(const fs::path& root, const codestore::Manifest& m,
               const std::map<codestore::ChunkId, std::string>& chunks) {
  std::map<std::string, codestore::testing::Node> want = codestore::testing::treeOf(m, chunks);
  std::error_code ec;
  size_t seen = 0;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    const fs::path& p = it->path();
    const fs::file_status st = it->symlink_status();
    std::error_code resolve_ec;
    const fs::path resolved = fs::weakly_canonical(p, resolve_ec);
    // A resolution error is a symlink loop or an over-long chain: it resolves nowhere.
    if (!resolve_ec) require(inside(root, resolved));
    auto node = want.find(p.lexically_relative(root).string());
    require(node != want.end());
    ++seen;
    const auto perms = st.permissions() & fs::perms::mask;
    if (fs::is_regular_file(st)) {
      require(node->second.type == 'f');
      require(perms == static_cast<fs::perms>(node->second.perm));
      std::ifstream in(p, std::ios::binary);
      require(std::string(std::istreambuf_iterator<char>(in), {}) == node->second.content);
    } else if (fs::is_directory(st)) {
      require(node->second.type == 'd' && perms == static_cast<fs::perms>(0755));
    } else {
      require(fs::is_symlink(st) && node->second.type == 'l');
    }
  }
  require(!ec && seen == want.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view zip(reinterpret_cast<const char*>(data), size);
  Unpacked one, two;
  unpack(zip, 1, one);
  unpack(zip, 2, two);
  require(one.manifest.ok() == two.manifest.ok());
  if (!one.manifest) {
    require(one.manifest.error().message == two.manifest.error().message);
    return 0;
  }
  const std::string encoded = codestore::encodeManifest(*one.manifest);
  require(encoded == codestore::encodeManifest(*two.manifest));
  Result<codestore::Manifest> again = codestore::decodeManifest(encoded);
  require(again.ok() && codestore::encodeManifest(*again) == encoded);
  require(one.manifest->file_bytes <= kMaxBytes);

  // One cache directory on tmpfs for the whole run; each CodeCache empties it at open and
  // removes it when destroyed.
  static const fs::path cache_dir = [] {
    std::string templ = "/dev/shm/hearth-zip-fuzz-XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr) std::abort();  // a host failure, not a finding
    return fs::path(templ);
  }();
  one.manifest->scope = "account:fuzz";
  OneObjectStore store(*one.manifest, one.chunks.blobs);
  codestore::CodeCacheOptions options;
  options.dir = cache_dir;
  Result<std::unique_ptr<codestore::CodeCache>> cache = codestore::CodeCache::open(store, options);
  if (!cache) std::abort();
  Result<std::shared_ptr<const codestore::CodeLease>> lease = (*cache)->acquire("0f");
  require(lease.ok());
  checkTree(fs::canonical((*lease)->path()), *one.manifest, one.chunks.blobs);
  return 0;
}
