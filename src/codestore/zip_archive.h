// Zip validation and extraction for uploaded function code, with Lambda's limits.
//
// extractZip() reads a zip archive held in memory (libarchive, zip format only, central
// directory authoritative) and writes it entry by entry below a destination directory, enforcing
// every rule in codestore/code_store.h:
//   - names: not empty, not absolute, no ".." segment; '\' separates like '/' (as unzip does for
//     archives made on Windows), "." and empty segments are ignored;
//   - types: regular files, directories and symlinks only; hard links, devices, fifos and sockets
//     are refused; so are encrypted entries and duplicate names;
//   - symlinks: relative, and resolving inside the tree: ".." may only lead the target and may
//     not climb above the link's directory's depth. Together with the next rule this proves every
//     link stays inside whatever other links it passes through (see zip_archive.cc);
//   - nothing is ever written through a symlink: every path component is opened O_NOFOLLOW, so
//     an entry below a symlinked directory is refused;
//   - the unzipped size is counted on the bytes actually inflated (header sizes are only used to
//     refuse early, never to allow), and extraction stops as soon as it passes the limit;
//   - at most max_entries entries;
//   - permissions normalised: directories 0755, files 0755 if the archive gave any execute bit,
//     else 0644. Owner, ACLs, xattrs and times in the archive are ignored.
//
// Errors: kInvalidZipFile (message "Could not unzip uploaded file. Please check your file, then
// try to upload again." for an unreadable archive, a specific one for a refused entry);
// kInvalidParameter "Unzipped size must be smaller than <limit> bytes"; kIo for host failures.
//
// Thread-safety: extractZip() is reentrant. Calls on distinct destinations may run concurrently.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>

#include "codestore/code_store.h"
#include "common/result.h"

namespace hearth::codestore {

inline constexpr uint64_t kMaxZipEntries = 100000;
inline constexpr std::string_view kCouldNotUnzip =
    "Could not unzip uploaded file. Please check your file, then try to upload again.";

struct ZipLimits {
  uint64_t max_unzipped_bytes = kMaxUnzippedBytes;
  uint64_t max_entries = kMaxZipEntries;
};

struct ZipStats {
  uint64_t unzipped_bytes = 0;  // sum of regular files' inflated sizes
  uint64_t entries = 0;         // entries in the archive, of every type
};

// Extracts `zip` below `dest`.
// REQUIRES: `dest` is an existing, empty directory that nothing else writes to meanwhile.
// On error `dest` may hold a partial tree; the caller removes it.
Result<ZipStats> extractZip(std::string_view zip, const std::filesystem::path& dest,
                            const ZipLimits& limits = {});

}  // namespace hearth::codestore
