// Convergent encryption of one chunk (docs/formats/code-tree.md, "Chunks").
//
// For plaintext P in a salt scope with secret salt S:
//   key  K  = HMAC-SHA-256(S, P)                      the chunk key, kept in the manifest
//   Kenc    = HMAC-SHA-256(K, "hearth-chunk-enc")     AES-256-CTR key
//   iv      = HMAC-SHA-256(K, "hearth-chunk-iv")[0:16]
//   Kmac    = HMAC-SHA-256(K, "hearth-chunk-mac")
//   blob    = "HCK1" ‖ AES-256-CTR(Kenc, iv, P) ‖ T,  T = HMAC-SHA-256(Kmac, "HCK1" ‖ ciphertext)
//   id      = T
// Equal plaintexts in one scope give equal blobs and ids, so they are stored once; the store
// sees only ids derived from ciphertext, never a hash of the plaintext, and another scope's salt
// gives unrelated keys and ids. Opening a blob checks T against the id it was asked for, so a
// flipped bit, a truncated file or a blob swapped for another is caught before decryption.
//
// Thread-safety: stateless; safe from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace hearth::codestore {

using ChunkId = std::array<uint8_t, 32>;
using ChunkKey = std::array<uint8_t, 32>;

inline constexpr std::string_view kChunkMagic = "HCK1";
inline constexpr size_t kChunkOverhead = 4 + 32;  // magic and MAC

struct SealedChunk {
  ChunkId id;
  ChunkKey key;
  std::string blob;  // what the blob store keeps under `id`
};

// REQUIRES: salt.size() == 32.
SealedChunk sealChunk(std::string_view salt, std::string_view plaintext);

// The plaintext of `blob`, stored under `id`, with `key` from the manifest. kCorrupt (message
// "chunk <hex id> failed its MAC") if the blob is malformed, altered, or not the one named.
Result<std::string> openChunk(const ChunkId& id, const ChunkKey& key, std::string_view blob);

std::string chunkIdHex(const ChunkId& id);

}  // namespace hearth::codestore
