// Zip archives of function code (Code.ZipFile): reading one into a TreeSink, and writing the
// canonical tree back out as a zip for GetFunction's Code.Location.
//
// unpackZip() reads a zip held in memory with libarchive (zip format only, the central directory
// authoritative, as unzip and Lambda do) and hands every entry to the sink, which enforces the
// tree rules (codestore/tree_builder.h; zipTreeRules() gives Lambda's limits and wording). The
// zip-specific rules are here:
//   - '\' separates directories like '/', as unzip does for archives made on Windows; a name
//     that starts with either is absolute and refused;
//   - regular files, directories and symlinks only; hard links, devices and sockets are refused,
//     and so are encrypted entries. A FIFO-typed entry is read as a regular file (Info-ZIP
//     records files zipped from a pipe that way); it never becomes a FIFO;
//   - permissions: a file is executable if the archive gave it any execute bit; owners, times,
//     ACLs and xattrs are ignored.
// Errors: kInvalidZipFile ("Could not unzip uploaded file. Please check your file, then try to
// upload again." for an unreadable archive, a specific message for a refused entry), Lambda's
// kInvalidParameter "Unzipped size must be smaller than 262144000 bytes", or a sink's error.
//
// Thread-safety: reentrant; unpackZip starts `threads - 1` threads of its own and joins them.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "codestore/code_store.h"
#include "codestore/manifest.h"
#include "codestore/tree_builder.h"
#include "common/result.h"

namespace hearth::codestore {

inline constexpr uint64_t kMaxZipEntries = 100000;
inline constexpr std::string_view kCouldNotUnzip =
    "Could not unzip uploaded file. Please check your file, then try to upload again.";

// Lambda's rules for an uploaded zip: entries inside the tree, 250 MB unzipped, 100,000 entries.
TreeRules zipTreeRules(uint64_t max_unzipped_bytes = kMaxUnzippedBytes,
                       uint64_t max_entries = kMaxZipEntries);

// `threads` readers inflate entries in parallel (the sink must then take concurrent adds, as
// TreeBuilder does); the outcome, errors included, is the same for any number.
Result<void> unpackZip(std::string_view zip, TreeSink& sink, unsigned threads = 1);

// A zip of `m`'s tree: entries in manifest order, deflated, mode 0755/0644 (0755 for
// directories), every time set to 1980-01-01, so equal trees give equal bytes. `content`
// returns a file's bytes.
Result<std::string> writeZip(const Manifest& m,
                             const std::function<Result<std::string>(const TreeEntry&)>& content);

}  // namespace hearth::codestore
