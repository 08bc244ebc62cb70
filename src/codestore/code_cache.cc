#include "codestore/code_cache.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <set>
#include <system_error>

#include "codestore/chunk_reader.h"
#include "codestore/fs_util.h"
#include "codestore/tree_path.h"
#include "common/crypto.h"
#include "common/encoding.h"
#include "common/ids.h"
#include "common/unique_fd.h"

namespace hearth::codestore {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

Result<UniqueFd> openDir(const fs::path& path) {
  // SAFETY: plain open of a directory the cache owns; owned by the UniqueFd.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return errnoError("opening " + path.string(), errno);
  return fd;
}

// The files/ name of a content in a scope.
std::string fileKey(const std::string& scope, const TreeEntry& e) {
  std::string input = scope;
  input.push_back('\0');
  input.append(reinterpret_cast<const char*>(e.sha256.data()), e.sha256.size());
  input.push_back(e.executable ? 'x' : '-');
  return hexEncode(sha256(input));
}

}  // namespace

CodeLease::~CodeLease() { cache_.release(id_); }

Result<std::unique_ptr<CodeCache>> CodeCache::open(CodeStore& store, CodeCacheOptions options) {
  std::error_code ec;
  fs::create_directories(options.dir, ec);
  if (ec)
    return makeError(ErrorCode::kIo, "creating " + options.dir.string() + ": " + ec.message());
  struct statfs st {};
  // SAFETY: the path is NUL-terminated; st is a valid out-parameter.
  if (::statfs(options.dir.c_str(), &st) != 0) {
    return errnoError("statfs " + options.dir.string(), errno);
  }
  if (st.f_type != TMPFS_MAGIC && st.f_type != RAMFS_MAGIC) {
    return makeError(ErrorCode::kInvalidParameter,
                     "code cache directory " + options.dir.string() +
                         " is not on tmpfs: decrypted code must stay in memory");
  }
  fs::permissions(options.dir, fs::perms::owner_all, ec);
  if (ec) return makeError(ErrorCode::kIo, "chmod " + options.dir.string() + ": " + ec.message());
  // What an earlier run left is not known to be complete or current: start empty.
  for (const char* sub : {"files", "trees", "tmp"}) {
    fs::remove_all(options.dir / sub, ec);
    if (!ec) fs::create_directory(options.dir / sub, ec);
    if (ec)
      return makeError(ErrorCode::kIo,
                       "preparing " + (options.dir / sub).string() + ": " + ec.message());
  }
  return std::unique_ptr<CodeCache>(new CodeCache(store, std::move(options)));
}

CodeCache::~CodeCache() {
  std::error_code ec;
  for (const char* sub : {"files", "trees", "tmp"}) fs::remove_all(options_.dir / sub, ec);
  fs::remove(options_.dir, ec);  // only if nothing else is in it
}

CodeCacheStats CodeCache::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void CodeCache::release(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = trees_.find(id);
  if (it == trees_.end()) return;
  --it->second.leases;
  it->second.last_used = Clock::now();
}

Result<std::shared_ptr<const CodeLease>> CodeCache::acquire(const std::string& id) {
  auto leased = [&]() -> std::shared_ptr<const CodeLease> {
    std::lock_guard lock(mu_);
    auto it = trees_.find(id);
    if (it == trees_.end()) return nullptr;
    ++it->second.leases;
    it->second.last_used = Clock::now();
    return std::shared_ptr<const CodeLease>(
        new CodeLease(*this, id, options_.dir / "trees" / id, it->second.image));
  };
  if (auto lease = leased()) return lease;
  std::lock_guard build_lock(build_mu_);
  if (auto lease = leased()) return lease;  // built while we waited
  if (!isCanonicalTreePath(id) || id.find('/') != std::string::npos) {
    return makeError(ErrorCode::kInvalidParameter, "malformed code id '" + id.substr(0, 80) + "'");
  }
  Result<Manifest> m = store_.manifest(id);
  if (!m) return m.error();
  HEARTH_TRY(build(id, *m));
  {
    std::lock_guard lock(mu_);
    trees_[id] = Tree{0, Clock::now(), m->image};
  }
  auto lease = leased();
  evict();
  return lease;
}

Result<std::string> CodeCache::fetch(const ChunkId& id) {
  {
    std::lock_guard lock(mu_);
    auto it = chunk_index_.find(id);
    if (it != chunk_index_.end()) {
      chunks_.splice(chunks_.begin(), chunks_, it->second);
      ++stats_.chunk_hits;
      return it->second->second;
    }
    ++stats_.chunk_misses;
  }
  Result<std::string> sealed = store_.sealedChunk(id);
  if (!sealed) return sealed;
  std::lock_guard lock(mu_);
  if (!chunk_index_.count(id) && sealed->size() <= options_.chunk_cache_bytes) {
    chunks_.emplace_front(id, *sealed);
    chunk_index_[id] = chunks_.begin();
    chunk_bytes_ += sealed->size();
    while (chunk_bytes_ > options_.chunk_cache_bytes) {
      chunk_bytes_ -= chunks_.back().second.size();
      chunk_index_.erase(chunks_.back().first);
      chunks_.pop_back();
    }
  }
  return sealed;
}

Result<void> CodeCache::build(const std::string& id, const Manifest& m) {
  const fs::path tmp = options_.dir / "tmp" / randomHex(8);
  std::error_code ec;
  fs::create_directory(tmp, ec);
  if (ec) return makeError(ErrorCode::kIo, "creating " + tmp.string() + ": " + ec.message());
  auto built = [&]() -> Result<void> {
    Result<UniqueFd> root = openDir(tmp);
    if (!root) return root.error();
    Result<UniqueFd> files = openDir(options_.dir / "files");
    if (!files) return files.error();
    ChunkReader reader(m, id, [this](const ChunkId& c) { return fetch(c); });
    // Entries are created below directories this build made, and nowhere else: a path whose
    // parent is not one of them is refused, whatever the manifest says.
    std::set<std::string, std::less<>> dirs;
    auto fsError = [&](std::string_view what, const std::string& path) {
      return errnoError(std::string(what) + " " + path + " for code " + id, errno);
    };
    for (const TreeEntry& e : m.entries) {
      std::string_view parent = parentOf(e.path);
      if (!parent.empty() && !dirs.count(parent)) {
        return makeError(ErrorCode::kCorrupt,
                         "code " + id + ": manifest entry " + e.path + " is not below a directory");
      }
      const char* p = e.path.c_str();
      switch (e.type) {
        case EntryType::kDirectory:
          // SAFETY: `p` is relative to our own new tree and its parent is a directory we made.
          if (::mkdirat(root->get(), p, 0755) != 0) return fsError("mkdir", e.path);
          // SAFETY: as above; sets the mode the umask may have narrowed. Never follows a link.
          if (::fchmodat(root->get(), p, 0755, 0) != 0) return fsError("chmod", e.path);
          dirs.insert(e.path);
          break;
        case EntryType::kSymlink:
          // SAFETY: creates a link in our own tree; it is never followed on the host.
          if (::symlinkat(e.target.c_str(), root->get(), p) != 0) return fsError("symlink", e.path);
          break;
        case EntryType::kFile: {
          const std::string key = fileKey(m.scope, e);
          bool have;
          {
            std::lock_guard lock(mu_);
            auto it = files_.find(key);
            have = it != files_.end();
            if (have) it->second.last_used = Clock::now();
          }
          if (!have) {
            Result<std::string> content = reader.content(e);
            if (!content) return content.error();
            if (sha256(*content) != e.sha256) {
              return makeError(ErrorCode::kCorrupt,
                               "code " + id + ": file " + e.path + " does not match its hash");
            }
            const std::string part = "f-" + randomHex(8);
            const fs::path part_path = options_.dir / "tmp" / part;
            // SAFETY: O_EXCL on a fresh random name in our own tmp/.
            UniqueFd fd(::open(part_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
            if (!fd) return fsError("create", part_path.string());
            HEARTH_TRY(writeAll(fd.get(), *content, part_path.string()));
            // SAFETY: fd is the file we just wrote.
            if (::fchmod(fd.get(), e.executable ? 0755 : 0644) != 0) {
              return fsError("chmod", part_path.string());
            }
            // SAFETY: renames our own temporary into files/, both on the cache's tmpfs.
            if (::renameat(AT_FDCWD, part_path.c_str(), files->get(), key.c_str()) != 0) {
              return fsError("rename", part_path.string());
            }
            std::lock_guard lock(mu_);
            files_[key] = File{content->size(), Clock::now()};
            file_bytes_ += content->size();
            ++stats_.files_written;
          } else {
            std::lock_guard lock(mu_);
            ++stats_.files_linked;
          }
          // SAFETY: hard-links a files/ entry into our own tree; flags 0: no link following.
          if (::linkat(files->get(), key.c_str(), root->get(), p, 0) != 0) {
            return fsError("link", e.path);
          }
          break;
        }
      }
    }
    // SAFETY: root is the tree's top directory, ours.
    if (::fchmod(root->get(), 0755) != 0) return fsError("chmod", tmp.string());
    const fs::path final_path = options_.dir / "trees" / id;
    // SAFETY: renames our complete tree to its name; nothing else writes trees/.
    if (::rename(tmp.c_str(), final_path.c_str()) != 0) return fsError("rename", tmp.string());
    return {};
  }();
  if (!built) fs::remove_all(tmp, ec);
  return built;
}

void CodeCache::evict() {
  std::unique_lock lock(mu_);
  // Unleased trees first, oldest first: that is what lets their files go.
  while (file_bytes_ > options_.file_cache_bytes) {
    auto victim = trees_.end();
    for (auto it = trees_.begin(); it != trees_.end(); ++it) {
      if (it->second.leases == 0 &&
          (victim == trees_.end() || it->second.last_used < victim->second.last_used)) {
        victim = it;
      }
    }
    if (victim == trees_.end()) break;
    const fs::path path = options_.dir / "trees" / victim->first;
    trees_.erase(victim);
    lock.unlock();
    std::error_code ec;
    fs::remove_all(path, ec);
    lock.lock();
    // Files only the cache still links (st_nlink 1) can go now.
    for (auto it = files_.begin(); it != files_.end();) {
      struct stat st {};
      const fs::path file = options_.dir / "files" / it->first;
      // SAFETY: lstat and unlink of a files/ entry of the cache's own; st is a valid
      // out-parameter. A link count of 1 means no tree links the file any more.
      if (::lstat(file.c_str(), &st) == 0 && st.st_nlink == 1 && ::unlink(file.c_str()) == 0) {
        file_bytes_ -= it->second.bytes;
        it = files_.erase(it);
      } else {
        ++it;
      }
    }
  }
}

}  // namespace hearth::codestore
