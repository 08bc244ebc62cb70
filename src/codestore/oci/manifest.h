// The JSON documents of an image: image manifests, image indexes (Docker: manifest lists) and
// image configs, as the OCI image spec (manifest.md, image-index.md, config.md) and Docker's
// image manifest v2 schema 2 define them, parsed into what pulling needs.
//
// Supported media types (everything else is kUnsupported with Lambda's wording, "The image
// manifest, config or layer media type for the source image <image> is not supported", and the
// type named):
//   manifests  application/vnd.oci.image.manifest.v1+json
//              application/vnd.docker.distribution.manifest.v2+json
//   indexes    application/vnd.oci.image.index.v1+json
//              application/vnd.docker.distribution.manifest.list.v2+json
//   configs    application/vnd.oci.image.config.v1+json
//              application/vnd.docker.container.image.v1+json
//   layers     application/vnd.oci.image.layer.v1.tar, ...tar+gzip,
//              application/vnd.docker.image.rootfs.diff.tar.gzip
// Refused by name: Docker schema 1 manifests (signed or not), zstd layers, and non-distributable
// ("foreign") layers, whose bytes live outside the registry.
//
// Malformed documents (not JSON, missing or mistyped fields, a digest that is not sha256) are
// kInvalidParameter naming the document. Parsing never trusts sizes or digests it reads: the
// caller verifies every blob against its descriptor (digest.h) before parsing it.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/result.h"

namespace hearth::codestore::oci {

namespace media_type {
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerSchema1 =
    "application/vnd.docker.distribution.manifest.v1+json";
inline constexpr std::string_view kDockerSchema1Signed =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";
inline constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kOciLayer = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view kOciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view kOciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr std::string_view kDockerLayerGzip =
    "application/vnd.docker.image.rootfs.diff.tar.gzip";

// The Accept header of a manifest request: every manifest and index type above.
inline constexpr std::string_view kManifestAccept =
    "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json";
}  // namespace media_type

struct Descriptor {
  std::string media_type;
  std::string digest;  // a valid sha256 digest (checked by the parser)
  uint64_t size = 0;
};

struct Platform {
  std::string os;
  std::string architecture;
  std::string variant;  // may be empty

  std::string str() const;  // "linux/arm64" or "linux/arm/v7"
};

struct IndexEntry {
  Descriptor manifest;
  Platform platform;  // empty fields if the entry names none
};

struct Manifest {
  std::string media_type;
  Descriptor config;
  std::vector<Descriptor> layers;  // bottom first
};

struct Index {
  std::string media_type;
  std::vector<IndexEntry> manifests;
};

// A manifest document fetched by tag or digest: an image manifest or an index.
using ManifestDocument = std::variant<Manifest, Index>;

// Parses a fetched manifest or index. Its type is its "mediaType" field if present, else
// `content_type` (the response's Content-Type, parameters ignored), else inferred from its
// fields. `image` names the image in messages.
Result<ManifestDocument> parseManifestDocument(std::string_view body, std::string_view content_type,
                                               std::string_view image);

// The manifest entry of `index` for os/architecture: the first entry whose platform matches
// (any variant). kInvalidParameter listing the platforms the index has if none does.
Result<Descriptor> selectPlatform(const Index& index, std::string_view os,
                                  std::string_view architecture, std::string_view image);

enum class LayerCompression { kNone, kGzip };

// How a layer of this media type is compressed; kUnsupported for zstd, foreign and unknown
// layer types.
Result<LayerCompression> layerCompression(std::string_view layer_media_type,
                                          std::string_view image);

// kUnsupported unless `config_media_type` is an OCI or Docker image config.
Result<void> checkConfigMediaType(std::string_view config_media_type, std::string_view image);

// What Hearth takes from an image config (its "config" object): how to start the function.
struct ImageConfig {
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::vector<std::string> env;  // "NAME=value"
  std::string working_dir;

  bool operator==(const ImageConfig&) const = default;
};

struct ConfigDocument {
  ImageConfig config;
  Platform platform;  // the config's os/architecture/variant, empty where absent
};

// Parses an image config blob. Missing or null fields are empty.
Result<ConfigDocument> parseImageConfig(std::string_view body, std::string_view image);

}  // namespace hearth::codestore::oci
