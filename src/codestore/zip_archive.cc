// Zip extraction with libarchive reading and our own, *at()-relative writing.
//
// Why not archive_write_disk: its SECURE_* flags check paths, but the limits here (inflated
// bytes, entry count, permission normalisation, symlink targets that stay in the tree) need a
// hand on every entry anyway, and writing through directory fds opened O_NOFOLLOW makes "never
// write through a symlink" a property of the syscalls rather than of a path check.
//
// Why symlinks cannot escape. Rule: a target is relative and of the form "../"*k followed by
// names without "..", with k no greater than the depth of the directory holding the link.
// Every directory on the path to a link is real (created here, opened O_NOFOLLOW), so the k
// leading ".." land on a real ancestor inside the tree. The remaining components only descend:
// a component that is a real directory stays inside; one that is another link resolves inside by
// the same argument (the kernel stops cycles with ELOOP). A ".." after a name is refused because
// "link/.." means the parent of the link's *target*, which lexical checking cannot know; for
// instance "b" -> "." at the root with "a" -> "b/.." would otherwise point above the tree.
#include "codestore/zip_archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string>
#include <vector>

#include "codestore/fs_util.h"
#include "common/unique_fd.h"

namespace hearth::codestore {
namespace {

constexpr size_t kReadChunk = 1 << 16;
constexpr size_t kMaxNameInMessage = 200;

using ArchivePtr = std::unique_ptr<archive, decltype(&archive_read_free)>;

Error couldNotUnzip() { return makeError(ErrorCode::kInvalidZipFile, std::string(kCouldNotUnzip)); }

// A refused entry: "Could not unzip uploaded file: entry '<name>' <why>."
Error badEntry(std::string_view name, std::string_view why) {
  std::string shown(name.substr(0, kMaxNameInMessage));
  if (name.size() > kMaxNameInMessage) shown += "...";
  return makeError(ErrorCode::kInvalidZipFile, "Could not unzip uploaded file: entry '" + shown +
                                                   "' " + std::string(why) + ".");
}

Error tooBig(uint64_t limit) {
  return makeError(ErrorCode::kInvalidParameter,
                   "Unzipped size must be smaller than " + std::to_string(limit) + " bytes");
}

// Splits `path` on '/' and '\', dropping empty and "." segments.
std::vector<std::string> splitPath(std::string_view path) {
  std::vector<std::string> segments;
  size_t start = 0;
  for (size_t i = 0; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '/' || path[i] == '\\') {
      std::string_view seg = path.substr(start, i - start);
      if (!seg.empty() && seg != ".") segments.emplace_back(seg);
      start = i + 1;
    }
  }
  return segments;
}

bool isAbsolute(std::string_view path) {
  return !path.empty() && (path.front() == '/' || path.front() == '\\');
}

// The entry's path as segments, or an error if the name is unusable.
Result<std::vector<std::string>> entrySegments(std::string_view name) {
  if (name.empty()) return badEntry(name, "has an empty name");
  if (isAbsolute(name)) return badEntry(name, "has an absolute path");
  std::vector<std::string> segments = splitPath(name);
  for (const std::string& seg : segments) {
    if (seg == "..") return badEntry(name, "has a '..' path segment");
  }
  return segments;
}

// True if symlink `target`, stored in a directory `depth` levels below the root, stays inside.
bool symlinkStaysInside(std::string_view target, size_t depth) {
  if (target.empty() || isAbsolute(target)) return false;
  size_t ups = 0;
  bool descending = false;
  for (const std::string& seg : splitPath(target)) {
    if (seg == "..") {
      if (descending) return false;  // "name/.." depends on what name resolves to
      ++ups;
    } else {
      descending = true;
    }
  }
  return ups <= depth;
}

// Writes entries below one root directory. Holds the parent directory of the previous entry open,
// since zips usually list a directory's files together.
class Extractor {
 public:
  Extractor(archive* a, UniqueFd root, const ZipLimits& limits)
      : archive_(a), root_(std::move(root)), limits_(limits) {}

  Result<ZipStats> run() {
    for (;;) {
      archive_entry* entry = nullptr;
      int rc = archive_read_next_header(archive_, &entry);
      if (rc == ARCHIVE_EOF) break;
      if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) return couldNotUnzip();
      if (++stats_.entries > limits_.max_entries) {
        return makeError(ErrorCode::kInvalidZipFile, "Could not unzip uploaded file: more than " +
                                                         std::to_string(limits_.max_entries) +
                                                         " entries.");
      }
      HEARTH_TRY(extractEntry(entry));
    }
    return stats_;
  }

 private:
  Result<void> extractEntry(archive_entry* entry) {
    const char* raw_name = archive_entry_pathname(entry);
    if (raw_name == nullptr) return badEntry("", "has a name that cannot be decoded");
    std::string_view name = raw_name;
    if (archive_entry_is_encrypted(entry)) return badEntry(name, "is encrypted");
    auto segments = entrySegments(name);
    if (!segments) return std::move(segments).error();
    if (archive_entry_hardlink(entry) != nullptr) return badEntry(name, "is a hard link");

    const mode_t type = archive_entry_filetype(entry);
    if (type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK) {
      return badEntry(name, "is not a regular file, directory or symbolic link");
    }
    if (segments->empty()) {
      // "./" names the root itself: nothing to create. Anything else needs a name.
      if (type == AE_IFDIR) return {};
      return badEntry(name, "has an empty name");
    }

    std::string leaf = std::move(segments->back());
    segments->pop_back();
    auto parent = openParent(name, *segments);
    if (!parent) return std::move(parent).error();

    switch (type) {
      case AE_IFDIR: {
        auto dir = ensureDir(*parent, leaf, name);
        if (!dir) return std::move(dir).error();
        return {};
      }
      case AE_IFLNK:
        return writeSymlink(entry, *parent, leaf, segments->size(), name);
      default:
        return writeFile(entry, *parent, leaf, name);
    }
  }

  // The directory holding the entry, creating missing directories. Returns a borrowed fd, valid
  // until the next call.
  Result<int> openParent(std::string_view name, const std::vector<std::string>& dirs) {
    std::string key;
    for (const std::string& d : dirs) key.append(d).push_back('/');
    if (cached_parent_ && key == cached_key_) return cached_parent_.get();

    UniqueFd current;
    int at = root_.get();
    for (const std::string& d : dirs) {
      auto next = ensureDir(at, d, name);
      if (!next) return std::move(next).error();
      current = std::move(*next);
      at = current.get();
    }
    if (!current) return root_.get();  // the root itself; never cached (it is always open)
    cached_key_ = std::move(key);
    cached_parent_ = std::move(current);
    return cached_parent_.get();
  }

  // Opens directory `seg` below `at`, creating it 0755 if missing. Refuses to pass through a
  // symlink or a file.
  Result<UniqueFd> ensureDir(int at, const std::string& seg, std::string_view name) {
    // SAFETY: `at` is an open directory fd below the root; seg has no '/' (split above).
    bool created = ::mkdirat(at, seg.c_str(), 0755) == 0;
    if (!created && errno != EEXIST) return fsError(name, "creating a directory", errno);
    // SAFETY: O_NOFOLLOW|O_DIRECTORY: fails on a symlink or non-directory instead of following.
    UniqueFd fd(::openat(at, seg.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) {
      if (errno == ELOOP || errno == ENOTDIR) {
        return badEntry(name, "lies below a symbolic link or a file");
      }
      return fsError(name, "opening a directory", errno);
    }
    // mkdirat's mode was filtered by the umask; the contract is 0755.
    // SAFETY: fd is a directory we own.
    if (created && ::fchmod(fd.get(), 0755) != 0) return fsError(name, "chmod", errno);
    return fd;
  }

  Result<void> writeFile(archive_entry* entry, int parent, const std::string& leaf,
                         std::string_view name) {
    const uint64_t room = limits_.max_unzipped_bytes - stats_.unzipped_bytes;
    // Declared sizes may only make us refuse early; the count below is what is enforced.
    if (archive_entry_size_is_set(entry) &&
        static_cast<uint64_t>(archive_entry_size(entry)) > room) {
      return tooBig(limits_.max_unzipped_bytes);
    }
    const mode_t mode = (archive_entry_perm(entry) & 0111) != 0 ? 0755 : 0644;
    // SAFETY: O_EXCL|O_NOFOLLOW: creates a new file, never opens an existing file or link.
    UniqueFd fd(
        ::openat(parent, leaf.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd) {
      if (errno == EEXIST) return badEntry(name, "appears more than once");
      return fsError(name, "creating a file", errno);
    }
    char buf[kReadChunk];
    for (;;) {
      la_ssize_t n = archive_read_data(archive_, buf, sizeof(buf));
      if (n < 0) {
        if (archive_entry_is_encrypted(entry)) return badEntry(name, "is encrypted");
        return couldNotUnzip();
      }
      if (n == 0) break;
      stats_.unzipped_bytes += static_cast<uint64_t>(n);
      if (stats_.unzipped_bytes > limits_.max_unzipped_bytes) {
        return tooBig(limits_.max_unzipped_bytes);
      }
      HEARTH_TRY(writeAll(fd.get(), std::string_view(buf, static_cast<size_t>(n)), name));
    }
    // SAFETY: fd is a regular file we created; the mode is one of the two allowed.
    if (::fchmod(fd.get(), mode) != 0) return fsError(name, "chmod", errno);
    return {};
  }

  Result<void> writeSymlink(archive_entry* entry, int parent, const std::string& leaf, size_t depth,
                            std::string_view name) {
    const char* target = archive_entry_symlink(entry);
    if (target == nullptr || !symlinkStaysInside(target, depth)) {
      return badEntry(name, "is a symbolic link that leads outside the archive");
    }
    // SAFETY: creates a new link named leaf in parent; never follows anything.
    if (::symlinkat(target, parent, leaf.c_str()) != 0) {
      if (errno == EEXIST) return badEntry(name, "appears more than once");
      return fsError(name, "creating a symbolic link", errno);
    }
    return {};
  }

  // A failing syscall on an entry: a name the filesystem cannot hold is the archive's fault,
  // anything else is the host's.
  static Error fsError(std::string_view name, std::string_view what, int err) {
    if (err == ENAMETOOLONG) return badEntry(name, "has a name that is too long");
    return errnoError(std::string(what) + " for entry '" + std::string(name) + "'", err);
  }

  archive* const archive_;
  const UniqueFd root_;
  const ZipLimits limits_;
  ZipStats stats_;
  std::string cached_key_;
  UniqueFd cached_parent_;
};

}  // namespace

Result<ZipStats> extractZip(std::string_view zip, const std::filesystem::path& dest,
                            const ZipLimits& limits) {
  if (zip.empty()) return couldNotUnzip();
  ArchivePtr a(archive_read_new(), &archive_read_free);
  if (!a) return makeError(ErrorCode::kIo, "archive_read_new: out of memory");
  // The seekable reader trusts the central directory, as unzip and Lambda do; the streaming one
  // could be shown local entries the directory does not list.
  if (archive_read_support_format_zip_seekable(a.get()) != ARCHIVE_OK) {
    return makeError(ErrorCode::kInternal,
                     std::string("libarchive zip support: ") + archive_error_string(a.get()));
  }
  if (archive_read_open_memory(a.get(), zip.data(), zip.size()) != ARCHIVE_OK) {
    return couldNotUnzip();
  }
  // SAFETY: plain open of the destination directory; the fd is owned by the extractor.
  UniqueFd root(::open(dest.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root) return errnoError("opening " + dest.string(), errno);
  Extractor extractor(a.get(), std::move(root), limits);
  return extractor.run();
}

}  // namespace hearth::codestore
