#include "codestore/fs_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "common/ids.h"
#include "common/unique_fd.h"

namespace hearth::codestore {

Result<void> writeAll(int fd, std::string_view data, std::string_view what) {
  while (!data.empty()) {
    // SAFETY: data points at data.size() readable bytes; fd is open for writing by the caller.
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errnoError("writing " + std::string(what), errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

Result<std::string> readFile(const std::filesystem::path& path) {
  // SAFETY: plain open of a path; the returned fd is owned by `fd` below.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    int err = errno;
    if (err == ENOENT) return makeError(ErrorCode::kNotFound, path.string() + " does not exist");
    return errnoError("opening " + path.string(), err);
  }
  struct stat st {};
  // SAFETY: fd is open; st is a valid out-parameter.
  if (::fstat(fd.get(), &st) != 0) return errnoError("stat " + path.string(), errno);
  std::string data;
  data.reserve(static_cast<size_t>(st.st_size));
  char buf[1 << 16];
  for (;;) {
    // SAFETY: buf has sizeof(buf) writable bytes.
    ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errnoError("reading " + path.string(), errno);
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  return data;
}

Result<void> fsyncDir(const std::filesystem::path& dir) {
  // SAFETY: plain open of a directory; the fd is owned by `fd`.
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return errnoError("opening " + dir.string(), errno);
  // SAFETY: fd is an open directory.
  if (::fsync(fd.get()) != 0) return errnoError("fsync " + dir.string(), errno);
  return {};
}

Result<void> writeFileDurably(const std::filesystem::path& path, std::string_view data,
                              mode_t mode) {
  std::filesystem::path tmp = path;
  tmp += ".tmp-" + randomHex(8);
  // SAFETY: O_EXCL on a fresh random name: we never open someone else's file.
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (!fd) return errnoError("creating " + tmp.string(), errno);
  Result<void> written = writeAll(fd.get(), data, tmp.string());
  // SAFETY: fd is open for writing.
  if (written && ::fsync(fd.get()) != 0) written = errnoError("fsync " + tmp.string(), errno);
  // SAFETY: renames a file we created over the destination; both are in the same directory.
  if (written && ::rename(tmp.c_str(), path.c_str()) != 0) {
    written = errnoError("renaming " + tmp.string() + " to " + path.string(), errno);
  }
  if (!written) {
    // SAFETY: unlinks the temporary we created above. Best effort: the error being returned is
    // the one that matters.
    ::unlink(tmp.c_str());
    return written;
  }
  return fsyncDir(path.parent_path());
}

}  // namespace hearth::codestore
