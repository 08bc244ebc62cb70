#include "codestore/local_blob_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "codestore/fs_util.h"
#include "common/ids.h"

namespace hearth::codestore {
namespace {

namespace fs = std::filesystem;

bool isHexId(std::string_view id) {
  if (id.size() < 2 || id.size() > 128) return false;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Result<void> makeDirs(const fs::path& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) return makeError(ErrorCode::kIo, "creating " + path.string() + ": " + ec.message());
  return {};
}

}  // namespace

Result<std::unique_ptr<LocalBlobStore>> LocalBlobStore::open(const fs::path& dir) {
  // Every chunk directory exists from the start, so a put never has to create one.
  static constexpr char kHex[] = "0123456789abcdef";
  for (char hi : std::string_view(kHex)) {
    for (char lo : std::string_view(kHex))
      HEARTH_TRY(makeDirs(dir / "chunks" / std::string{hi, lo}));
  }
  HEARTH_TRY(makeDirs(dir / "manifests"));
  std::error_code ec;
  fs::remove_all(dir / "tmp", ec);
  if (ec)
    return makeError(ErrorCode::kIo, "emptying " + (dir / "tmp").string() + ": " + ec.message());
  HEARTH_TRY(makeDirs(dir / "tmp"));
  // SAFETY: plain open of a directory we just created; owned by the UniqueFd.
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return errnoError("opening " + dir.string(), errno);
  return std::unique_ptr<LocalBlobStore>(new LocalBlobStore(dir, std::move(fd)));
}

Result<fs::path> LocalBlobStore::pathOf(BlobKind kind, const std::string& id) const {
  if (!isHexId(id)) {
    return makeError(ErrorCode::kInvalidParameter, "malformed blob id '" + id.substr(0, 80) + "'");
  }
  if (kind == BlobKind::kManifest) return dir_ / "manifests" / id;
  return dir_ / "chunks" / id.substr(0, 2) / id;
}

Result<void> LocalBlobStore::put(BlobKind kind, const std::string& id, std::string_view data) {
  Result<fs::path> path = pathOf(kind, id);
  if (!path) return path.error();
  fs::path tmp = dir_ / "tmp" / randomHex(12);
  // SAFETY: O_EXCL on a fresh random name in our own tmp/: never opens another file.
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd) return errnoError("creating " + tmp.string(), errno);
  Result<void> done = writeAll(fd.get(), data, tmp.string());
  // SAFETY: renames the file we just wrote into the store's own tree.
  if (done && ::rename(tmp.c_str(), path->c_str()) != 0) {
    done = errnoError("renaming " + tmp.string() + " to " + path->string(), errno);
  }
  if (!done) {
    // SAFETY: unlinks our own temporary; the error being returned is the one that matters.
    ::unlink(tmp.c_str());
  }
  return done;
}

Result<void> LocalBlobStore::sync() {
  // SAFETY: dir_fd_ is an open directory; syncfs flushes its whole filesystem.
  if (::syncfs(dir_fd_.get()) != 0) return errnoError("syncfs " + dir_.string(), errno);
  return {};
}

Result<std::string> LocalBlobStore::get(BlobKind kind, const std::string& id) {
  Result<fs::path> path = pathOf(kind, id);
  if (!path) return path.error();
  return readFile(*path);
}

Result<void> LocalBlobStore::remove(BlobKind kind, const std::string& id) {
  Result<fs::path> path = pathOf(kind, id);
  if (!path) return path.error();
  // SAFETY: unlinks a file inside the store's own tree (the id was checked to be hex).
  if (::unlink(path->c_str()) != 0 && errno != ENOENT) {
    return errnoError("removing " + path->string(), errno);
  }
  return {};
}

Result<std::vector<std::string>> LocalBlobStore::list(BlobKind kind) {
  std::vector<std::string> ids;
  std::error_code ec;
  fs::path root = dir_ / (kind == BlobKind::kManifest ? "manifests" : "chunks");
  for (auto it = fs::recursive_directory_iterator(root, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    std::string name = it->path().filename().string();
    if (isHexId(name)) ids.push_back(std::move(name));
  }
  if (ec) return makeError(ErrorCode::kIo, "listing " + root.string() + ": " + ec.message());
  return ids;
}

}  // namespace hearth::codestore
