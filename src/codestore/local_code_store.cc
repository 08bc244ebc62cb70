// Local, content-addressed code store. Layout and crash-safety argument: local_code_store.h and
// docs/formats/code-store.md.
#include "codestore/local_code_store.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>
#include <system_error>
#include <utility>

#include "codestore/fs_util.h"
#include "codestore/zip_archive.h"
#include "common/crypto.h"
#include "common/encoding.h"
#include "common/ids.h"

namespace hearth::codestore {
namespace {

namespace fs = std::filesystem;

constexpr int kSidecarFormat = 1;
constexpr std::string_view kZipSuffix = ".zip";
constexpr std::string_view kSidecarSuffix = ".json";

bool isCodeId(std::string_view id) {
  if (id.size() != 64) return false;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Result<void> checkId(const std::string& id) {
  if (!isCodeId(id)) {
    return makeError(ErrorCode::kInvalidParameter, "malformed code id '" + id.substr(0, 80) + "'");
  }
  return {};
}

Error notStored(const std::string& id) {
  return makeError(ErrorCode::kNotFound, "no stored code with id " + id);
}

// Whether `path` names anything (not following a final symlink).
Result<bool> pathExists(const fs::path& path) {
  struct stat st {};
  // SAFETY: path is NUL-terminated; st is a valid out-parameter.
  if (::lstat(path.c_str(), &st) == 0) return true;
  if (errno == ENOENT) return false;
  return errnoError("stat " + path.string(), errno);
}

Result<void> removeTree(const fs::path& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec) return makeError(ErrorCode::kIo, "removing " + path.string() + ": " + ec.message());
  return {};
}

Result<void> makeDir(const fs::path& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) return makeError(ErrorCode::kIo, "creating " + path.string() + ": " + ec.message());
  return {};
}

Result<void> renamePath(const fs::path& from, const fs::path& to) {
  // SAFETY: both paths are inside the store directory, which this process alone writes (LOCK).
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return errnoError("renaming " + from.string() + " to " + to.string(), errno);
  }
  return {};
}

// The names in `dir`, or an error.
Result<std::vector<std::string>> listDir(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    names.push_back(it->path().filename().string());
  }
  if (ec) return makeError(ErrorCode::kIo, "listing " + dir.string() + ": " + ec.message());
  return names;
}

// Removes what a crash left: everything in tmp/, and zips, sidecar temporaries and trees of code
// whose sidecar was never written (or already deleted by remove()).
Result<void> recover(const fs::path& dir) {
  auto tmp = listDir(dir / "tmp");
  if (!tmp) return std::move(tmp).error();
  for (const std::string& name : *tmp) HEARTH_TRY(removeTree(dir / "tmp" / name));

  auto zips = listDir(dir / "zips");
  if (!zips) return std::move(zips).error();
  for (const std::string& name : *zips) {
    const bool is_zip = name.size() == 64 + kZipSuffix.size() && name.ends_with(kZipSuffix);
    const bool is_sidecar =
        name.size() == 64 + kSidecarSuffix.size() && name.ends_with(kSidecarSuffix);
    if (is_sidecar && isCodeId(name.substr(0, 64))) {
      // A sidecar promises its zip; the zip is renamed into place before the sidecar is written.
      auto has_zip = pathExists(dir / "zips" / (name.substr(0, 64) + std::string(kZipSuffix)));
      if (!has_zip) return std::move(has_zip).error();
      if (*has_zip) continue;
    } else if (is_zip && isCodeId(name.substr(0, 64))) {
      auto has_sidecar =
          pathExists(dir / "zips" / (name.substr(0, 64) + std::string(kSidecarSuffix)));
      if (!has_sidecar) return std::move(has_sidecar).error();
      if (*has_sidecar) continue;
    }
    HEARTH_TRY(removeTree(dir / "zips" / name));
  }

  auto trees = listDir(dir / "trees");
  if (!trees) return std::move(trees).error();
  for (const std::string& name : *trees) {
    if (isCodeId(name)) {
      auto has_sidecar = pathExists(dir / "zips" / (name + std::string(kSidecarSuffix)));
      if (!has_sidecar) return std::move(has_sidecar).error();
      if (*has_sidecar) continue;
    }
    HEARTH_TRY(removeTree(dir / "trees" / name));
  }
  return {};
}

}  // namespace

Result<std::unique_ptr<LocalCodeStore>> LocalCodeStore::open(const fs::path& dir) {
  for (const char* sub : {"zips", "trees", "tmp"}) HEARTH_TRY(makeDir(dir / sub));
  const fs::path lock_path = dir / "LOCK";
  // SAFETY: plain open of the store's lock file; owned by `lock`.
  UniqueFd lock(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!lock) return errnoError("opening " + lock_path.string(), errno);
  // SAFETY: lock is an open fd; the flock lives as long as the fd, i.e. the store.
  if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return makeError(ErrorCode::kIo,
                       "code store " + dir.string() + " is in use by another process");
    }
    return errnoError("locking " + lock_path.string(), errno);
  }
  HEARTH_TRY(recover(dir));
  return std::unique_ptr<LocalCodeStore>(new LocalCodeStore(dir, std::move(lock)));
}

fs::path LocalCodeStore::zipPath(const std::string& hex) const {
  return dir_ / "zips" / (hex + std::string(kZipSuffix));
}
fs::path LocalCodeStore::sidecarPath(const std::string& hex) const {
  return dir_ / "zips" / (hex + std::string(kSidecarSuffix));
}
fs::path LocalCodeStore::treePath(const std::string& hex) const { return dir_ / "trees" / hex; }

Result<fs::path> LocalCodeStore::extractToTemp(std::string_view zip, uint64_t* unzipped_bytes) {
  std::string tmpl = (dir_ / "tmp" / "tree-XXXXXX").string();
  // SAFETY: tmpl is a writable NUL-terminated buffer ending in XXXXXX, as mkdtemp requires.
  if (::mkdtemp(tmpl.data()) == nullptr) return errnoError("mkdtemp " + tmpl, errno);
  fs::path tree = tmpl;
  auto extract = [&]() -> Result<void> {
    // mkdtemp made it 0700; the tree root is a directory of the tree: 0755.
    // SAFETY: a directory we just created.
    if (::chmod(tree.c_str(), 0755) != 0) return errnoError("chmod " + tree.string(), errno);
    auto stats = extractZip(zip, tree);
    if (!stats) return std::move(stats).error();
    *unzipped_bytes = stats->unzipped_bytes;
    // The tree must be on disk before its rename can be: one syncfs covers every file in it.
    // SAFETY: plain open of our directory; owned by `fd`.
    UniqueFd fd(::open(tree.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) return errnoError("opening " + tree.string(), errno);
    // SAFETY: fd is an open directory on the store's filesystem.
    if (::syncfs(fd.get()) != 0) return errnoError("syncfs " + tree.string(), errno);
    return {};
  };
  Result<void> done = extract();
  if (!done) {
    (void)removeTree(tree);  // best effort; open() removes tmp/ leftovers anyway
    return std::move(done).error();
  }
  return tree;
}

Result<void> LocalCodeStore::publishTree(const fs::path& tmp_tree, const std::string& hex) {
  const fs::path final_tree = treePath(hex);
  // SAFETY: both paths are ours; rename of a directory onto an existing non-empty one fails,
  // which is how we learn another put or materialize published the same code first.
  if (::rename(tmp_tree.c_str(), final_tree.c_str()) != 0) {
    int err = errno;
    if (err != ENOTEMPTY && err != EEXIST) {
      return errnoError("renaming " + tmp_tree.string() + " to " + final_tree.string(), err);
    }
    return removeTree(tmp_tree);  // a complete tree is already in place
  }
  return fsyncDir(dir_ / "trees");
}

Result<CodeInfo> LocalCodeStore::readSidecar(const std::string& hex) {
  auto text = readFile(sidecarPath(hex));
  if (!text) return std::move(text).error();
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  auto field = [&j](const char* key) -> const nlohmann::json* {
    if (!j.is_object()) return nullptr;
    auto it = j.find(key);
    return it == j.end() ? nullptr : &*it;
  };
  const nlohmann::json* format = field("format");
  const nlohmann::json* sha = field("sha256");
  const nlohmann::json* zipped = field("zipped_bytes");
  const nlohmann::json* unzipped = field("unzipped_bytes");
  if (format == nullptr || !format->is_number_integer() || *format != kSidecarFormat ||
      sha == nullptr || !sha->is_string() || zipped == nullptr || !zipped->is_number_unsigned() ||
      unzipped == nullptr || !unzipped->is_number_unsigned()) {
    return makeError(ErrorCode::kIo, "corrupt code store sidecar " + sidecarPath(hex).string());
  }
  return CodeInfo{.id = hex,
                  .sha256_base64 = sha->get<std::string>(),
                  .zipped_bytes = zipped->get<uint64_t>(),
                  .unzipped_bytes = unzipped->get<uint64_t>()};
}

Result<CodeInfo> LocalCodeStore::put(std::string_view zip) {
  if (zip.size() > kMaxZippedBytes) {
    return makeError(ErrorCode::kEntityTooLarge, "Zipped size must be smaller than " +
                                                     std::to_string(kMaxZippedBytes) + " bytes");
  }
  const Sha256Digest digest = sha256(zip);
  const std::string hex = hexEncode(digest);
  {
    std::lock_guard lock(mu_);
    auto stored = pathExists(sidecarPath(hex));
    if (!stored) return std::move(stored).error();
    if (*stored) return readSidecar(hex);
  }

  uint64_t unzipped_bytes = 0;
  auto tmp_tree = extractToTemp(zip, &unzipped_bytes);
  if (!tmp_tree) return std::move(tmp_tree).error();
  const fs::path tmp_zip = dir_ / "tmp" / ("zip-" + randomHex(8));
  const CodeInfo info{.id = hex,
                      .sha256_base64 = base64Encode(digest),
                      .zipped_bytes = zip.size(),
                      .unzipped_bytes = unzipped_bytes};

  auto publish = [&]() -> Result<void> {
    HEARTH_TRY(writeFileDurably(tmp_zip, zip));
    std::lock_guard lock(mu_);
    auto stored = pathExists(sidecarPath(hex));
    if (!stored) return std::move(stored).error();
    if (*stored) return {};  // a concurrent put of the same zip finished first
    // Order matters: zip, tree, then the sidecar that makes the code exist (see recover()).
    HEARTH_TRY(renamePath(tmp_zip, zipPath(hex)));
    HEARTH_TRY(publishTree(*tmp_tree, hex));
    const nlohmann::json sidecar = {{"format", kSidecarFormat},
                                    {"sha256", info.sha256_base64},
                                    {"zipped_bytes", info.zipped_bytes},
                                    {"unzipped_bytes", info.unzipped_bytes}};
    // Also fsyncs zips/, making the zip's rename durable.
    return writeFileDurably(sidecarPath(hex), sidecar.dump());
  };
  Result<void> published = publish();
  // Whatever is still in tmp/ was not published (or lost a race to an identical upload).
  (void)removeTree(*tmp_tree);
  (void)removeTree(tmp_zip);
  if (!published) return std::move(published).error();
  return info;
}

Result<fs::path> LocalCodeStore::materialize(const std::string& id) {
  HEARTH_TRY(checkId(id));
  {
    std::lock_guard lock(mu_);
    auto stored = pathExists(sidecarPath(id));
    if (!stored) return std::move(stored).error();
    if (!*stored) return notStored(id);
    auto has_tree = pathExists(treePath(id));
    if (!has_tree) return std::move(has_tree).error();
    if (*has_tree) return treePath(id);
  }
  // The tree is gone (pruned, or lost with a disk): extract it again from the zip.
  auto zip = readFile(zipPath(id));
  if (!zip) {
    if (zip.error().code == ErrorCode::kNotFound) return notStored(id);  // removed meanwhile
    return std::move(zip).error();
  }
  uint64_t unzipped_bytes = 0;
  auto tmp_tree = extractToTemp(*zip, &unzipped_bytes);
  if (!tmp_tree) return std::move(tmp_tree).error();
  auto publish = [&]() -> Result<void> {
    std::lock_guard lock(mu_);
    auto stored = pathExists(sidecarPath(id));
    if (!stored) return std::move(stored).error();
    if (!*stored) return notStored(id);  // removed while we extracted
    return publishTree(*tmp_tree, id);
  };
  Result<void> published = publish();
  if (!published) {
    (void)removeTree(*tmp_tree);
    return std::move(published).error();
  }
  return treePath(id);
}

Result<std::string> LocalCodeStore::readZip(const std::string& id) {
  HEARTH_TRY(checkId(id));
  {
    std::lock_guard lock(mu_);
    auto stored = pathExists(sidecarPath(id));
    if (!stored) return std::move(stored).error();
    if (!*stored) return notStored(id);
  }
  auto zip = readFile(zipPath(id));
  if (!zip && zip.error().code == ErrorCode::kNotFound) return notStored(id);  // removed meanwhile
  return zip;
}

Result<void> LocalCodeStore::remove(const std::string& id) {
  HEARTH_TRY(checkId(id));
  fs::path doomed_tree;
  {
    std::lock_guard lock(mu_);
    auto stored = pathExists(sidecarPath(id));
    if (!stored) return std::move(stored).error();
    if (!*stored) return notStored(id);
    // Deleting the sidecar is the commit point: from here the code does not exist, and a crash
    // leaves only garbage that recover() removes.
    // SAFETY: unlink of a file inside the store directory.
    if (::unlink(sidecarPath(id).c_str()) != 0) {
      return errnoError("removing " + sidecarPath(id).string(), errno);
    }
    HEARTH_TRY(fsyncDir(dir_ / "zips"));
    auto has_tree = pathExists(treePath(id));
    if (!has_tree) return std::move(has_tree).error();
    if (*has_tree) {
      // Move the tree out of the way so no half-deleted tree ever sits under its final name.
      doomed_tree = dir_ / "tmp" / ("removed-" + randomHex(8));
      HEARTH_TRY(renamePath(treePath(id), doomed_tree));
    }
    // SAFETY: unlink of a file inside the store directory.
    if (::unlink(zipPath(id).c_str()) != 0 && errno != ENOENT) {
      return errnoError("removing " + zipPath(id).string(), errno);
    }
  }
  if (!doomed_tree.empty()) HEARTH_TRY(removeTree(doomed_tree));
  return {};
}

Result<std::unique_ptr<CodeStore>> openLocalCodeStore(const fs::path& dir) {
  auto store = LocalCodeStore::open(dir);
  if (!store) return std::move(store).error();
  return std::unique_ptr<CodeStore>(std::move(store).value());
}

}  // namespace hearth::codestore
