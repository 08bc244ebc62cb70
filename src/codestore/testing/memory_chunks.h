// Test helpers for the code store's tree and chunk code: reproducible content, a ChunkSink that
// seals chunks into memory, and a reader that turns a manifest back into the tree it describes.
#pragma once

#include <sys/types.h>

#include <map>
#include <ostream>
#include <random>
#include <string>

#include "codestore/chunk_codec.h"
#include "codestore/chunk_reader.h"
#include "codestore/manifest.h"
#include "codestore/tree_builder.h"
#include "common/check.h"

namespace hearth::codestore::testing {

// `n` bytes of reproducible, incompressible content.
inline std::string pseudoRandom(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

// Seals every chunk under a fixed salt and keeps the blobs by id.
class MemoryChunks final : public ChunkSink {
 public:
  Result<ChunkRef> store(std::string_view plaintext) override {
    SealedChunk s = sealChunk(std::string(32, 's'), plaintext);
    blobs[s.id] = s.blob;
    ++stored;
    return ChunkRef{s.id, s.key, static_cast<uint32_t>(plaintext.size())};
  }
  std::map<ChunkId, std::string> blobs;
  int stored = 0;  // calls, duplicates included
};

// One entry of a tree: type 'd', 'f' or 'l', the mode a file gets (0755/0644), a file's content
// or a link's target.
struct Node {
  char type;
  mode_t perm;
  std::string content;
  bool operator==(const Node&) const = default;
};
inline std::ostream& operator<<(std::ostream& os, const Node& n) {
  return os << n.type << " " << std::oct << n.perm << std::dec << " '" << n.content << "'";
}

// The tree `m` describes, its files read back through the chunks in `chunks`.
inline std::map<std::string, Node> treeOf(const Manifest& m,
                                          const std::map<ChunkId, std::string>& chunks) {
  ChunkReader reader(m, "test", [&](const ChunkId& id) -> Result<std::string> {
    auto it = chunks.find(id);
    if (it == chunks.end()) return makeError(ErrorCode::kNotFound, "no such chunk");
    return it->second;
  });
  std::map<std::string, Node> nodes;
  for (const TreeEntry& e : m.entries) {
    switch (e.type) {
      case EntryType::kDirectory:
        nodes[e.path] = Node{'d', 0755, ""};
        break;
      case EntryType::kSymlink:
        nodes[e.path] = Node{'l', 0, e.target};
        break;
      case EntryType::kFile: {
        Result<std::string> content = reader.content(e);
        CHECK(content.ok());
        nodes[e.path] = Node{'f', static_cast<mode_t>(e.executable ? 0755 : 0644), *content};
        break;
      }
    }
  }
  return nodes;
}

}  // namespace hearth::codestore::testing
