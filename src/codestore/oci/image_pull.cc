#include "codestore/oci/image_pull.h"

#include <utility>
#include <variant>

#include "codestore/oci/digest.h"
#include "codestore/oci/layer_flattener.h"
#include "codestore/oci/registry_client.h"
#include "common/log.h"

namespace hearth::codestore::oci {
namespace {

RegistryClient::Options clientOptions(const PullOptions& opts) {
  return RegistryClient::Options{opts.credentials, opts.request_timeout};
}

Error tooLarge(std::string_view what, std::string_view image, uint64_t size, uint64_t limit) {
  return makeError(ErrorCode::kInvalidParameter,
                   "The " + std::string(what) + " of the source image " + std::string(image) +
                       " is " + std::to_string(size) + " bytes, over the limit of " +
                       std::to_string(limit) + " bytes.");
}

// Everything resolveImage can check about a platform manifest without fetching more.
Result<void> checkManifest(const Manifest& m, std::string_view image, const PullOptions& opts) {
  HEARTH_TRY(checkConfigMediaType(m.config.media_type, image));
  if (m.config.size > opts.max_manifest_bytes) {
    return tooLarge("image config", image, m.config.size, opts.max_manifest_bytes);
  }
  for (size_t i = 0; i < m.layers.size(); ++i) {
    Result<LayerCompression> compression = layerCompression(m.layers[i].media_type, image);
    if (!compression) return std::move(compression).error();
    if (m.layers[i].size > opts.max_layer_bytes) {
      return tooLarge("layer " + std::to_string(i + 1) + " (" + m.layers[i].digest + ")", image,
                      m.layers[i].size, opts.max_layer_bytes);
    }
  }
  return {};
}

Result<Manifest> expectManifest(Result<ManifestDocument> doc, std::string_view image) {
  if (!doc) return std::move(doc).error();
  if (Manifest* m = std::get_if<Manifest>(&*doc)) return std::move(*m);
  return makeError(ErrorCode::kUnsupported,
                   "The image manifest, config or layer media type for the source image " +
                       std::string(image) +
                       " is not supported: an image index inside an image index.");
}

}  // namespace

Result<ResolvedImage> resolveImage(const ImageReference& ref, const PullOptions& opts) {
  const std::string image = ref.str();
  const std::string reference = ref.digest.empty() ? ref.tag : ref.digest;
  if (reference.empty()) {
    return makeError(ErrorCode::kInvalidParameter,
                     "The source image " + image + " names neither a tag nor a digest.");
  }
  RegistryClient client(ref, clientOptions(opts));
  Result<RegistryClient::Fetched> top = client.getManifest(reference, opts.max_manifest_bytes);
  if (!top) return std::move(top).error();

  std::string digest = sha256Digest(top->body);
  if (!ref.digest.empty() && digest != ref.digest) {
    return makeError(ErrorCode::kCorrupt, "The manifest " + ref.digest + " of " + image +
                                              ": digest mismatch, the registry sent content "
                                              "with digest " +
                                              digest + ".");
  }
  // By tag, the registry's own digest header is the only claim to check the bytes against.
  if (ref.digest.empty() && isSha256Digest(top->docker_content_digest) &&
      top->docker_content_digest != digest) {
    return makeError(ErrorCode::kCorrupt, "The manifest of " + image + " has digest " + digest +
                                              ", but the registry says " +
                                              top->docker_content_digest + ".");
  }
  Result<ManifestDocument> doc = parseManifestDocument(top->body, top->content_type, image);
  if (!doc) return std::move(doc).error();

  if (const Manifest* m = std::get_if<Manifest>(&*doc)) {
    HEARTH_TRY(checkManifest(*m, image, opts));
    return ResolvedImage{ref, std::move(digest), std::move(top->body)};
  }

  const Index& index = std::get<Index>(*doc);
  Result<Descriptor> entry = selectPlatform(index, opts.os, opts.architecture, image);
  if (!entry) return std::move(entry).error();
  const std::string what = opts.os + "/" + opts.architecture + " image manifest";
  if (entry->size > opts.max_manifest_bytes) {
    return tooLarge(what, image, entry->size, opts.max_manifest_bytes);
  }
  Result<RegistryClient::Fetched> child = client.getManifest(entry->digest, entry->size);
  if (!child) return std::move(child).error();
  HEARTH_TRY(verifyBlob(child->body, entry->digest, entry->size, what + " of " + image));
  Result<Manifest> m =
      expectManifest(parseManifestDocument(child->body, entry->media_type, image), image);
  if (!m) return std::move(m).error();
  HEARTH_TRY(checkManifest(*m, image, opts));
  LOG_DEBUG("{}: index {} resolved to {} manifest {}", image, digest, what, entry->digest);
  return ResolvedImage{ref, entry->digest, std::move(child->body)};
}

Result<ImageConfig> pullImage(const ResolvedImage& resolved, const PullOptions& opts,
                              TreeSink& sink) {
  const std::string image = resolved.ref.str();
  if (sha256Digest(resolved.manifest) != resolved.manifest_digest) {
    return makeError(ErrorCode::kCorrupt, "The manifest of " + image +
                                              " does not match its digest " +
                                              resolved.manifest_digest + ".");
  }
  // The media type is in the manifest itself for every type resolveImage accepts.
  Result<Manifest> manifest = expectManifest(
      parseManifestDocument(resolved.manifest, media_type::kOciManifest, image), image);
  if (!manifest) return std::move(manifest).error();
  HEARTH_TRY(checkManifest(*manifest, image, opts));

  RegistryClient client(resolved.ref, clientOptions(opts));
  const Descriptor& config_desc = manifest->config;
  Result<RegistryClient::Fetched> config_blob =
      client.getBlob(config_desc.digest, config_desc.size, "image config");
  if (!config_blob) return std::move(config_blob).error();
  HEARTH_TRY(verifyBlob(config_blob->body, config_desc.digest, config_desc.size,
                        "image config of " + image));
  Result<ConfigDocument> config = parseImageConfig(config_blob->body, image);
  if (!config) return std::move(config).error();
  const Platform& platform = config->platform;
  if ((!platform.os.empty() && platform.os != opts.os) ||
      (!platform.architecture.empty() && platform.architecture != opts.architecture)) {
    return makeError(ErrorCode::kInvalidParameter, "The source image " + image + " is built for " +
                                                       platform.str() + ", not for " + opts.os +
                                                       "/" + opts.architecture + ".");
  }

  LayerStats total;
  const size_t count = manifest->layers.size();
  for (size_t i = 0; i < count; ++i) {
    const Descriptor& layer = manifest->layers[i];
    const std::string what = "layer " + std::to_string(i + 1) + " of " + std::to_string(count) +
                             " of the source image " + image;
    Result<RegistryClient::Fetched> blob = client.getBlob(layer.digest, layer.size, what);
    if (!blob) return std::move(blob).error();
    HEARTH_TRY(verifyBlob(blob->body, layer.digest, layer.size, what));
    Result<LayerStats> stats = flattenLayer(blob->body, what + " (" + layer.digest + ")", sink);
    if (!stats) return std::move(stats).error();
    total.entries += stats->entries;
    total.whiteouts += stats->whiteouts;
    total.skipped += stats->skipped;
  }
  LOG_DEBUG("{}: pulled {} layers, {} entries, {} whiteouts, {} skipped (devices, fifos, sockets)",
            image, count, total.entries, total.whiteouts, total.skipped);
  return std::move(config->config);
}

}  // namespace hearth::codestore::oci
