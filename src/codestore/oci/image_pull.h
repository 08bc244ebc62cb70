// Pulling a container image from an OCI registry: resolve a reference to one platform's
// manifest, then fetch its config and layers and flatten the layers into a TreeSink.
//
// Transport and authentication are RegistryClient's (registry_client.h): plain HTTP only (TLS is
// not supported yet), Basic and Bearer token auth, redirects. Document formats and the media
// types accepted are manifest.h's; layer semantics (whiteouts, links, skipped device nodes) are
// layer_flattener.h's. docs/images.md ("Pulling") says the same for users.
//
// Trust: the registry is not trusted. Every document and blob is capped in size before it is
// read (PullOptions), and verified against its digest and size before it is parsed: a pinned or
// indexed manifest against the digest that names it (a tag-fetched manifest against the
// registry's Docker-Content-Digest when it sends one), the config and each layer against the
// manifest's descriptors. A mismatch is kCorrupt naming the blob.
//
// Errors: kInvalidParameter for a missing image ("Source image <uri> does not exist. Provide a
// valid source image."), an unreachable or failing registry (with the reason), refused
// credentials, a malformed document, a size over a limit, no manifest for the platform;
// kUnsupported for schema 1 manifests, unknown media types, zstd or foreign layers, https;
// kCorrupt for digest or size mismatches; the sink's errors as it returned them.
//
// Thread-safety: both functions are blocking and reentrant; call them from a thread pool, never
// from an io_context thread. Each call makes its own connections.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "codestore/oci/credentials.h"
#include "codestore/oci/image_reference.h"
#include "codestore/oci/manifest.h"
#include "codestore/tree_sink.h"
#include "common/result.h"

namespace hearth::codestore::oci {

struct PullOptions {
  std::optional<Credentials> credentials;
  // Caps a manifest, an index and the image config, each.
  uint64_t max_manifest_bytes = 4 << 20;
  // Caps one layer's compressed size. The layer is held in memory while it is verified and
  // flattened, so this bounds the memory a pull uses.
  uint64_t max_layer_bytes = 2ull << 30;
  // The platform picked from an image index, and required of a single image's config.
  std::string os = "linux";
  std::string architecture = "amd64";
  // The deadline of each HTTP request (connect, send, whole response).
  std::chrono::seconds request_timeout{600};
};

struct ResolvedImage {
  ImageReference ref;
  std::string manifest_digest;  // "sha256:..." of `manifest`
  std::string manifest;         // raw bytes of the platform's image manifest
};

// Fetches the manifest `ref` names (by digest if it has one, else by tag); for an image index
// or Docker manifest list, follows it to the os/architecture entry and fetches that manifest by
// digest. Verifies every digest it can and checks the manifest parses with supported media
// types.
Result<ResolvedImage> resolveImage(const ImageReference& ref, const PullOptions& opts);

// Fetches the config and each layer (bottom first), verifies each blob's size and digest
// against the manifest before parsing it, and flattens the layers into `sink` (one beginLayer()
// per layer). Returns the config's Entrypoint, Cmd, Env and WorkingDir. kInvalidParameter if the
// config names a platform other than opts.os/opts.architecture.
// On error the sink may have received part of the image; the caller discards it.
Result<ImageConfig> pullImage(const ResolvedImage& image, const PullOptions& opts, TreeSink& sink);

}  // namespace hearth::codestore::oci
