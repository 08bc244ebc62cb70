// Fuzzes what a hostile registry serves (src/codestore/oci): manifest and index documents,
// image configs, and layer tarballs flattened into the code store's TreeBuilder with the image
// rules (codestore::imageTreeRules).
//
// The first byte picks the target: 0 → parseManifestDocument (with a Content-Type chosen by
// the second byte) and, for an index, selectPlatform; 1 → parseImageConfig; otherwise the rest
// is split in two layers (at an offset taken from the second byte) flattened bottom first.
// Properties checked: no crash, leak or undefined behaviour (the sanitizers); a flattened tree
// that finishes has a manifest that re-decodes (decodeManifest) to itself: canonical, sorted
// paths, extents inside their chunks, sizes that add up.
// Seeds: fuzz/corpus/oci/.
#include <cstdint>
#include <string>
#include <string_view>

#include "codestore/chunked_code_store.h"
#include "codestore/oci/layer_flattener.h"
#include "codestore/oci/manifest.h"
#include "codestore/testing/memory_chunks.h"

namespace {

namespace codestore = hearth::codestore;
namespace oci = hearth::codestore::oci;

void require(bool ok) {
  if (!ok) __builtin_trap();
}

constexpr std::string_view kContentTypes[] = {
    "", "application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);
  switch (data[0]) {
    case 0: {
      auto doc = oci::parseManifestDocument(
          input, kContentTypes[data[1] % std::size(kContentTypes)], "fuzz");
      if (doc && std::holds_alternative<oci::Index>(*doc)) {
        (void)oci::selectPlatform(std::get<oci::Index>(*doc), "linux", "amd64", "fuzz");
      }
      return 0;
    }
    case 1:
      (void)oci::parseImageConfig(input, "fuzz");
      return 0;
    default:
      break;
  }
  const size_t cut = input.size() * data[1] / 256;
  codestore::testing::MemoryChunks chunks;
  codestore::TreeRules rules = codestore::imageTreeRules("fuzz");
  rules.max_file_bytes = 8u << 20;
  rules.max_entries = 2000;
  codestore::TreeBuilder builder(chunks, rules);
  if (!oci::flattenLayer(input.substr(0, cut), "layer 1", builder)) return 0;
  if (!oci::flattenLayer(input.substr(cut), "layer 2", builder)) return 0;
  hearth::Result<codestore::Manifest> m = builder.finish();
  if (!m) return 0;
  const std::string encoded = codestore::encodeManifest(*m);
  hearth::Result<codestore::Manifest> again = codestore::decodeManifest(encoded);
  require(again.ok() && codestore::encodeManifest(*again) == encoded);
  return 0;
}
