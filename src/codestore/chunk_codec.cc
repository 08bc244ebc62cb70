#include "codestore/chunk_codec.h"

#include <cstring>

#include "codestore/cipher.h"
#include "common/check.h"
#include "common/crypto.h"
#include "common/encoding.h"

namespace hearth::codestore {
namespace {

std::string_view view(const std::array<uint8_t, 32>& a) {
  return {reinterpret_cast<const char*>(a.data()), a.size()};
}

struct DerivedKeys {
  Sha256Digest enc;
  Sha256Digest iv;
  Sha256Digest mac;
};

DerivedKeys derive(const ChunkKey& key) {
  return {hmacSha256(view(key), "hearth-chunk-enc"), hmacSha256(view(key), "hearth-chunk-iv"),
          hmacSha256(view(key), "hearth-chunk-mac")};
}

std::string_view ivOf(const Sha256Digest& d) { return view(d).substr(0, kCtrIvBytes); }

}  // namespace

SealedChunk sealChunk(std::string_view salt, std::string_view plaintext) {
  CHECK(salt.size() == kKeyBytes);
  SealedChunk out;
  out.key = hmacSha256(salt, plaintext);
  DerivedKeys k = derive(out.key);
  out.blob.reserve(plaintext.size() + kChunkOverhead);
  out.blob = kChunkMagic;
  out.blob += aes256Ctr(view(k.enc), ivOf(k.iv), plaintext);
  out.id = hmacSha256(view(k.mac), out.blob);
  out.blob.append(view(out.id));
  return out;
}

Result<std::string> openChunk(const ChunkId& id, const ChunkKey& key, std::string_view blob) {
  auto corrupt = [&] {
    return makeError(ErrorCode::kCorrupt, "chunk " + chunkIdHex(id) + " failed its MAC");
  };
  if (blob.size() < kChunkOverhead || blob.substr(0, kChunkMagic.size()) != kChunkMagic) {
    return corrupt();
  }
  DerivedKeys k = derive(key);
  std::string_view authenticated = blob.substr(0, blob.size() - 32);
  Sha256Digest tag = hmacSha256(view(k.mac), authenticated);
  // The stored tag, the computed one and the id asked for must all agree.
  if (!constantTimeEquals(view(tag), blob.substr(blob.size() - 32)) ||
      !constantTimeEquals(view(tag), view(id))) {
    return corrupt();
  }
  return aes256Ctr(view(k.enc), ivOf(k.iv), authenticated.substr(kChunkMagic.size()));
}

std::string chunkIdHex(const ChunkId& id) { return hexEncode(view(id)); }

}  // namespace hearth::codestore
