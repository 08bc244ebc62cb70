// TreeSink: where an unpacker (the zip reader, the OCI layer flattener) puts the entries of a
// function's code tree, one at a time, so that it never needs the whole tree on disk.
//
// The code store's TreeBuilder (codestore/tree_builder.h) implements it: it normalises each
// entry into the canonical form of docs/formats/code-tree.md and cuts file contents into
// encrypted chunks as they stream in. Unpackers hold only format knowledge; every rule about
// names, types, links and limits is enforced by the sink, in one place.
//
// Paths: relative to the tree's root, '/'-separated. The sink refuses (kInvalidParameter unless
// the sink was told otherwise) empty names, absolute names after the unpacker stripped its
// format's prefixes, and ".." segments; "." and empty segments are dropped.
//
// Layers: entries arrive in layers (a zip is one layer, an image one per layer, bottom first).
// remove() and clearDirectory() apply only to entries added before the current layer began, as
// the OCI image spec's whiteouts do; an entry added again replaces the earlier one.
//
// Thread-safety: a TreeSink is used from one thread.
#pragma once

#include <cstddef>
#include <string_view>

#include "common/result.h"

namespace hearth::codestore {

// A regular file's content, pulled by the sink until it returns 0.
class FileSource {
 public:
  virtual ~FileSource() = default;
  // Reads up to `n` bytes into `buf`; 0 at the end. Errors abort the entry and the whole tree.
  virtual Result<size_t> read(char* buf, size_t n) = 0;
};

class TreeSink {
 public:
  virtual ~TreeSink() = default;

  // Starts a new layer; whiteouts after this affect only earlier layers' entries.
  virtual void beginLayer() = 0;

  // A directory (parents are implied and need not be added first).
  virtual Result<void> addDirectory(std::string_view path) = 0;
  // A regular file; `executable` if any execute bit was set. Its content is read to the end.
  virtual Result<void> addFile(std::string_view path, bool executable, FileSource& content) = 0;
  virtual Result<void> addSymlink(std::string_view path, std::string_view target) = 0;
  // A hard link to a regular file already added under `target` (a path like `path`).
  virtual Result<void> addHardLink(std::string_view path, std::string_view target) = 0;

  // Whiteout `.wh.<name>`: removes `path` and everything below it, if present.
  virtual Result<void> remove(std::string_view path) = 0;
  // Opaque whiteout `.wh..wh..opq`: removes everything below `path`, keeping `path` itself.
  // An empty `path` (a marker at a layer's top) clears the whole tree.
  virtual Result<void> clearDirectory(std::string_view path) = 0;
};

}  // namespace hearth::codestore
