// ChunkReader: a file's bytes from a manifest, by opening (verifying and decrypting) the
// chunks its extents name. Keeps the most recently opened chunks, since consecutive small files
// share pack chunks. Used by the code store's readZip() and by the worker's code cache.
//
// Errors from opening a chunk are kCorrupt "code <id>: chunk <hex> failed its MAC".
// Thread-safety: one thread.
#pragma once

#include <functional>
#include <list>
#include <string>
#include <utility>

#include "codestore/manifest.h"
#include "common/result.h"

namespace hearth::codestore {

class ChunkReader {
 public:
  // `fetch` returns a chunk's sealed blob.
  using Fetch = std::function<Result<std::string>(const ChunkId&)>;
  ChunkReader(const Manifest& manifest, std::string code_id, Fetch fetch)
      : manifest_(manifest), code_id_(std::move(code_id)), fetch_(std::move(fetch)) {}

  Result<std::string> content(const TreeEntry& file);

 private:
  Result<const std::string*> chunk(uint32_t index);

  static constexpr size_t kKept = 4;
  const Manifest& manifest_;
  const std::string code_id_;
  const Fetch fetch_;
  std::list<std::pair<uint32_t, std::string>> kept_;  // most recent first
};

}  // namespace hearth::codestore
