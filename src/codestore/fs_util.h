// POSIX file helpers private to the code store: whole reads and writes with errno mapped to
// Result, and the write → fsync → rename → fsync-directory sequence that replaces a file so that
// a crash leaves either the old content or the new, never a mix.
//
// Thread-safety: stateless; safe from any thread. Paths are used as given (no symlink checks):
// callers pass paths inside directories the code store owns.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>

#include "common/result.h"

namespace hearth::codestore {

// Writes all of `data` to `fd`, retrying short writes and EINTR. `what` names the file in errors.
Result<void> writeAll(int fd, std::string_view data, std::string_view what);

// The whole content of `path`. kNotFound if it does not exist.
Result<std::string> readFile(const std::filesystem::path& path);

// Replaces `path` with `data` durably: writes a uniquely named temporary file beside it, fsyncs
// it, renames it over `path`, then fsyncs the parent directory.
// The file gets `mode` (before umask).
Result<void> writeFileDurably(const std::filesystem::path& path, std::string_view data,
                              mode_t mode = 0644);

// fsync()s the directory at `dir`, making renames and unlinks in it durable.
Result<void> fsyncDir(const std::filesystem::path& dir);

}  // namespace hearth::codestore
