// The manifest of a stored code object: its canonical tree and, for each file, where its bytes
// lie in which chunks, with every chunk's key (docs/formats/code-tree.md, "Manifest").
//
// A manifest is the only place chunk keys live, so it is sealed (AES-256-GCM) under the object's
// data key before it is stored; this header only encodes and decodes the plaintext form.
//
// Thread-safety: plain values and stateless functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "codestore/chunk_codec.h"
#include "common/crypto.h"
#include "common/result.h"

namespace hearth::codestore {

struct ChunkRef {
  ChunkId id{};
  ChunkKey key{};
  uint32_t size = 0;  // plaintext bytes
};

// `length` bytes of chunk `chunk` (an index into Manifest::chunks) from `offset`.
struct Extent {
  uint32_t chunk = 0;
  uint32_t offset = 0;
  uint32_t length = 0;
};

enum class EntryType { kDirectory, kFile, kSymlink };

struct TreeEntry {
  std::string path;  // relative, '/'-separated, canonical (no ".", "..", or empty segments)
  EntryType type = EntryType::kFile;
  // Files only.
  bool executable = false;  // mode 0755, else 0644
  uint64_t size = 0;
  Sha256Digest sha256{};        // of the content: names it in the host's file cache
  std::vector<Extent> extents;  // in order; their lengths sum to size
  // Symlinks only.
  std::string target;
};

// What a container image says about running it (its config's Entrypoint, Cmd, Env, WorkingDir).
struct ImageSettings {
  std::string digest;  // the platform manifest's, "sha256:<hex>"
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::vector<std::string> env;  // "NAME=value"
  std::string working_dir;
};

struct Manifest {
  std::string scope;  // the salt scope its chunks were sealed in ("account:<id>", "shared")
  std::vector<ChunkRef> chunks;
  std::vector<TreeEntry> entries;  // sorted by path, bytewise; a directory precedes its content
  uint64_t file_bytes = 0;         // sum of file sizes
  std::optional<ImageSettings> image;
};

std::string encodeManifest(const Manifest& m);
// kCorrupt on anything but what encodeManifest writes: unknown format, bad types, an extent
// outside its chunk, sizes that do not add up, unsorted or non-canonical paths.
Result<Manifest> decodeManifest(std::string_view json);

}  // namespace hearth::codestore
