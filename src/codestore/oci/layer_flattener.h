// flattenLayer: one image layer (a tar archive, possibly gzip-compressed, already verified
// against its digest) fed into a TreeSink as the OCI image spec's layer.md describes.
//
// Per entry, in archive order:
//   - names lose leading "./" and "/" (and trailing "/"); the archive's root itself is skipped;
//   - `.wh..wh..opq` in directory D: sink.clearDirectory(D) (D is "" at the root);
//   - `.wh.NAME` in directory D: sink.remove(D/NAME); other `.wh..wh.` names (AUFS metadata)
//     are skipped; a whiteout entry itself is never added;
//   - a hard link: sink.addHardLink(name, target), the target's name normalised the same way;
//   - directories, regular files (executable if any execute bit is set) and symlinks: added;
//   - character and block devices, fifos and sockets: skipped, counted, logged at debug.
// Owners, permissions beyond the execute bit, times and extended attributes are not used.
// Everything about names and limits is the sink's to enforce (codestore/tree_sink.h).
//
// Errors: kUnsupported for a zstd stream; kInvalidParameter if the blob is not a readable tar
// (or gzip of one); a sink error as the sink returned it.
//
// Thread-safety: reentrant; one call uses one sink.
#pragma once

#include <cstdint>
#include <string_view>

#include "codestore/tree_sink.h"
#include "common/result.h"

namespace hearth::codestore::oci {

struct LayerStats {
  uint64_t entries = 0;    // archive entries read, of every kind
  uint64_t whiteouts = 0;  // remove() and clearDirectory() calls
  uint64_t skipped = 0;    // devices, fifos, sockets, AUFS metadata, other unknown types
};

// Calls sink.beginLayer(), then feeds it every entry of `blob`. `what` names the layer in
// messages ("layer 2 (sha256:...) of <image>").
Result<LayerStats> flattenLayer(std::string_view blob, std::string_view what, TreeSink& sink);

}  // namespace hearth::codestore::oci
