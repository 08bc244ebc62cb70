#include "codestore/chunk_reader.h"

#include "codestore/chunk_codec.h"

namespace hearth::codestore {

Result<const std::string*> ChunkReader::chunk(uint32_t index) {
  for (auto it = kept_.begin(); it != kept_.end(); ++it) {
    if (it->first != index) continue;
    kept_.splice(kept_.begin(), kept_, it);
    return &kept_.front().second;
  }
  const ChunkRef& ref = manifest_.chunks.at(index);
  Result<std::string> sealed = fetch_(ref.id);
  if (!sealed) {
    return makeError(sealed.error().code, "code " + code_id_ + ": chunk " + chunkIdHex(ref.id) +
                                              ": " + sealed.error().message);
  }
  Result<std::string> plain = openChunk(ref.id, ref.key, *sealed);
  if (!plain || plain->size() != ref.size) {
    return makeError(ErrorCode::kCorrupt,
                     "code " + code_id_ + ": chunk " + chunkIdHex(ref.id) + " failed its MAC");
  }
  kept_.emplace_front(index, std::move(*plain));
  if (kept_.size() > kKept) kept_.pop_back();
  return &kept_.front().second;
}

Result<std::string> ChunkReader::content(const TreeEntry& file) {
  std::string out;
  out.reserve(file.size);
  for (const Extent& x : file.extents) {
    Result<const std::string*> c = chunk(x.chunk);
    if (!c) return c.error();
    out.append(**c, x.offset, x.length);
  }
  return out;
}

}  // namespace hearth::codestore
