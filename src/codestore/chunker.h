// Content-defined chunking: FastCDC (Xia et al., USENIX ATC 2016) with normalised chunking.
//
// A cut point depends only on the bytes near it, so an insertion or change moves the cuts of
// the chunks around it and nowhere else: unchanged stretches of a new version produce the same
// chunks as before and are stored once. The gear table and masks are fixed by
// docs/formats/code-tree.md; changing them changes every chunk id, so they are part of the format.
//
// Thread-safety: stateless; safe from any thread.
#pragma once

#include <cstddef>
#include <string_view>

namespace hearth::codestore {

struct ChunkerParams {
  size_t min_bytes;
  size_t avg_bytes;  // a power of two
  size_t max_bytes;
};

// Large files, cut on their own: around 512 KiB.
inline constexpr ChunkerParams kFileChunking{128 << 10, 512 << 10, 2 << 20};
// The pack of small files: smaller chunks, so a changed small file rewrites little.
inline constexpr ChunkerParams kPackChunking{16 << 10, 64 << 10, 256 << 10};

// The length of the first chunk of `data`: a content-defined cut in [min_bytes, max_bytes], or
// all of `data` if it is shorter than min_bytes or holds no cut before its end.
// A streaming caller passes at least max_bytes unless `data` is the rest of the stream, so the
// result never depends on how the stream was buffered.
size_t firstChunkLength(std::string_view data, const ChunkerParams& params);

}  // namespace hearth::codestore
