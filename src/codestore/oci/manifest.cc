#include "codestore/oci/manifest.h"

#include <nlohmann/json.hpp>

#include "codestore/oci/digest.h"

namespace hearth::codestore::oci {
namespace {

using nlohmann::json;
namespace mt = media_type;

constexpr size_t kMaxShown = 120;

std::string shown(std::string_view s) {
  std::string out(s.substr(0, kMaxShown));
  if (s.size() > kMaxShown) out += "...";
  return out;
}

Error unsupported(std::string_view image, std::string_view detail) {
  return makeError(ErrorCode::kUnsupported,
                   "The image manifest, config or layer media type for the source image " +
                       std::string(image) + " is not supported: " + std::string(detail) + ".");
}

Error malformed(std::string_view what, std::string_view image, std::string_view why) {
  return makeError(ErrorCode::kInvalidParameter, "The " + std::string(what) +
                                                     " of the source image " + std::string(image) +
                                                     " is not valid: " + std::string(why) + ".");
}

// "application/json; charset=utf-8" -> "application/json".
std::string_view withoutParameters(std::string_view content_type) {
  content_type = content_type.substr(0, content_type.find(';'));
  while (!content_type.empty() && content_type.back() == ' ') content_type.remove_suffix(1);
  while (!content_type.empty() && content_type.front() == ' ') content_type.remove_prefix(1);
  return content_type;
}

// A string field; nullptr if absent or null; error text if present with another type.
Result<const std::string*> optionalString(const json& object, const char* field,
                                          std::string_view what, std::string_view image) {
  auto it = object.find(field);
  if (it == object.end() || it->is_null()) return static_cast<const std::string*>(nullptr);
  if (!it->is_string()) return malformed(what, image, std::string(field) + " is not a string");
  return &it->get_ref<const std::string&>();
}

Result<Descriptor> parseDescriptor(const json& j, std::string_view what, std::string_view image) {
  if (!j.is_object()) return malformed(what, image, "a descriptor is not an object");
  Descriptor d;
  auto type = j.find("mediaType");
  if (type == j.end() || !type->is_string() || type->get_ref<const std::string&>().empty()) {
    return malformed(what, image, "a descriptor lacks its mediaType");
  }
  d.media_type = type->get<std::string>();
  auto digest = j.find("digest");
  if (digest == j.end() || !digest->is_string()) {
    return malformed(what, image, "a descriptor lacks its digest");
  }
  d.digest = digest->get<std::string>();
  if (!isSha256Digest(d.digest)) {
    if (d.digest.find(':') != std::string::npos && !d.digest.starts_with(kSha256Prefix)) {
      return unsupported(image,
                         "digest algorithm of " + shown(d.digest) + " (only sha256 is supported)");
    }
    return malformed(what, image, "digest " + shown(d.digest) + " is not a sha256 digest");
  }
  auto size = j.find("size");
  if (size == j.end() || !size->is_number_unsigned()) {
    // nlohmann stores non-negative literals as unsigned; anything else is not a valid size.
    return malformed(what, image, "the descriptor of " + d.digest + " has no valid size");
  }
  d.size = size->get<uint64_t>();
  return d;
}

Result<Manifest> parseManifest(const json& j, std::string media_type, std::string_view image) {
  constexpr std::string_view kWhat = "image manifest";
  Manifest m;
  m.media_type = std::move(media_type);
  auto config = j.find("config");
  if (config == j.end()) return malformed(kWhat, image, "it has no config");
  Result<Descriptor> config_desc = parseDescriptor(*config, kWhat, image);
  if (!config_desc) return std::move(config_desc).error();
  m.config = std::move(*config_desc);
  auto layers = j.find("layers");
  if (layers == j.end() || !layers->is_array()) {
    return malformed(kWhat, image, "it has no layers array");
  }
  for (const json& layer : *layers) {
    Result<Descriptor> d = parseDescriptor(layer, kWhat, image);
    if (!d) return std::move(d).error();
    m.layers.push_back(std::move(*d));
  }
  return m;
}

Result<Index> parseIndex(const json& j, std::string media_type, std::string_view image) {
  constexpr std::string_view kWhat = "image index";
  Index index;
  index.media_type = std::move(media_type);
  auto manifests = j.find("manifests");
  if (manifests == j.end() || !manifests->is_array()) {
    return malformed(kWhat, image, "it has no manifests array");
  }
  for (const json& entry : *manifests) {
    Result<Descriptor> d = parseDescriptor(entry, kWhat, image);
    if (!d) return std::move(d).error();
    IndexEntry e{std::move(*d), {}};
    if (auto platform = entry.find("platform"); platform != entry.end() && platform->is_object()) {
      for (auto [field, out] : {std::pair{"os", &e.platform.os},
                                {"architecture", &e.platform.architecture},
                                {"variant", &e.platform.variant}}) {
        Result<const std::string*> value = optionalString(*platform, field, kWhat, image);
        if (!value) return std::move(value).error();
        if (*value != nullptr) *out = **value;
      }
    }
    index.manifests.push_back(std::move(e));
  }
  return index;
}

Result<std::vector<std::string>> stringArray(const json& config, const char* field,
                                             std::string_view image) {
  std::vector<std::string> out;
  auto it = config.find(field);
  if (it == config.end() || it->is_null()) return out;
  if (!it->is_array()) {
    return malformed("image config", image, std::string(field) + " is not an array of strings");
  }
  for (const json& item : *it) {
    if (!item.is_string()) {
      return malformed("image config", image, std::string(field) + " is not an array of strings");
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

}  // namespace

std::string Platform::str() const {
  std::string out = (os.empty() ? "?" : os) + "/" + (architecture.empty() ? "?" : architecture);
  if (!variant.empty()) out += "/" + variant;
  return out;
}

Result<ManifestDocument> parseManifestDocument(std::string_view body, std::string_view content_type,
                                               std::string_view image) {
  const json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return malformed("image manifest", image, "it is not a JSON object");
  }
  std::string type;
  if (auto field = j.find("mediaType"); field != j.end() && field->is_string()) {
    type = field->get<std::string>();
  } else {
    type = std::string(withoutParameters(content_type));
  }
  if (type == mt::kDockerSchema1 || type == mt::kDockerSchema1Signed) {
    return unsupported(image,
                       "Docker image manifest schema 1 (push the image with a schema 2 or OCI "
                       "manifest)");
  }
  auto version = j.find("schemaVersion");
  if (version == j.end() || !version->is_number_integer()) {
    return malformed("image manifest", image, "it has no schemaVersion");
  }
  if (version->get<int64_t>() == 1) {
    return unsupported(image,
                       "Docker image manifest schema 1 (push the image with a schema 2 or OCI "
                       "manifest)");
  }
  if (version->get<int64_t>() != 2) {
    return unsupported(image, "manifest schemaVersion " + std::to_string(version->get<int64_t>()));
  }
  // Registries may answer with a generic type for documents without mediaType (allowed by the
  // OCI spec); their fields tell which kind they are.
  if (type.empty() || type == "application/json" || type == "application/octet-stream" ||
      type == "text/plain") {
    if (j.contains("manifests")) {
      type = std::string(mt::kOciIndex);
    } else if (j.contains("config") && j.contains("layers")) {
      type = std::string(mt::kOciManifest);
    }
  }
  if (type == mt::kOciManifest || type == mt::kDockerManifest) {
    Result<Manifest> m = parseManifest(j, std::move(type), image);
    if (!m) return std::move(m).error();
    return ManifestDocument(std::move(*m));
  }
  if (type == mt::kOciIndex || type == mt::kDockerManifestList) {
    Result<Index> index = parseIndex(j, std::move(type), image);
    if (!index) return std::move(index).error();
    return ManifestDocument(std::move(*index));
  }
  return unsupported(image, "manifest type '" + shown(type) + "'");
}

Result<Descriptor> selectPlatform(const Index& index, std::string_view os,
                                  std::string_view architecture, std::string_view image) {
  std::string available;
  for (const IndexEntry& entry : index.manifests) {
    const std::string& type = entry.manifest.media_type;
    const bool is_manifest = type == mt::kOciManifest || type == mt::kDockerManifest;
    if (is_manifest && entry.platform.os == os && entry.platform.architecture == architecture) {
      return entry.manifest;
    }
    if (!available.empty()) available += ", ";
    available += entry.platform.str();
  }
  return makeError(ErrorCode::kInvalidParameter,
                   "The source image " + std::string(image) + " has no image for " +
                       std::string(os) + "/" + std::string(architecture) +
                       " (it has: " + (available.empty() ? "none" : available) + ").");
}

Result<LayerCompression> layerCompression(std::string_view type, std::string_view image) {
  if (type == mt::kOciLayer) return LayerCompression::kNone;
  if (type == mt::kOciLayerGzip || type == mt::kDockerLayerGzip) return LayerCompression::kGzip;
  if (type == mt::kOciLayerZstd) {
    return unsupported(image, "zstd-compressed layers (push the image with gzip layers)");
  }
  if (type.find("nondistributable") != std::string_view::npos ||
      type.find("foreign") != std::string_view::npos) {
    return unsupported(image, "non-distributable layer type '" + shown(type) + "'");
  }
  return unsupported(image, "layer type '" + shown(type) + "'");
}

Result<void> checkConfigMediaType(std::string_view type, std::string_view image) {
  if (type == mt::kOciConfig || type == mt::kDockerConfig) return {};
  return unsupported(image, "config type '" + shown(type) + "' (not a container image)");
}

Result<ConfigDocument> parseImageConfig(std::string_view body, std::string_view image) {
  constexpr std::string_view kWhat = "image config";
  const json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return malformed(kWhat, image, "it is not a JSON object");
  ConfigDocument doc;
  for (auto [field, out] : {std::pair{"os", &doc.platform.os},
                            {"architecture", &doc.platform.architecture},
                            {"variant", &doc.platform.variant}}) {
    Result<const std::string*> value = optionalString(j, field, kWhat, image);
    if (!value) return std::move(value).error();
    if (*value != nullptr) *out = **value;
  }
  auto config = j.find("config");
  if (config == j.end() || config->is_null()) return doc;
  if (!config->is_object()) return malformed(kWhat, image, "config is not an object");
  for (auto [field, out] : {std::pair{"Entrypoint", &doc.config.entrypoint},
                            {"Cmd", &doc.config.cmd},
                            {"Env", &doc.config.env}}) {
    Result<std::vector<std::string>> values = stringArray(*config, field, image);
    if (!values) return std::move(values).error();
    *out = std::move(*values);
  }
  Result<const std::string*> dir = optionalString(*config, "WorkingDir", kWhat, image);
  if (!dir) return std::move(dir).error();
  if (*dir != nullptr) doc.config.working_dir = **dir;
  return doc;
}

}  // namespace hearth::codestore::oci
