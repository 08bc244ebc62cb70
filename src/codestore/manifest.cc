#include "codestore/manifest.h"

#include <cstring>
#include <nlohmann/json.hpp>

#include "codestore/tree_path.h"
#include "common/encoding.h"

namespace hearth::codestore {
namespace {

using nlohmann::json;

constexpr int kManifestFormat = 1;

template <size_t N>
std::string hex(const std::array<uint8_t, N>& a) {
  return hexEncode(std::string_view(reinterpret_cast<const char*>(a.data()), N));
}

template <size_t N>
bool unhex(const json& j, std::array<uint8_t, N>& out) {
  if (!j.is_string()) return false;
  std::optional<std::string> bytes = hexDecode(j.get_ref<const std::string&>());
  if (!bytes || bytes->size() != N) return false;
  std::memcpy(out.data(), bytes->data(), N);
  return true;
}

bool isStringArray(const json& j) {
  if (!j.is_array()) return false;
  for (const json& s : j) {
    if (!s.is_string()) return false;
  }
  return true;
}

json encodeImage(const ImageSettings& s) {
  return {{"digest", s.digest},
          {"entrypoint", s.entrypoint},
          {"cmd", s.cmd},
          {"env", s.env},
          {"working_dir", s.working_dir}};
}

std::optional<ImageSettings> decodeImage(const json& j) {
  if (!j.is_object() || !j["digest"].is_string() || !isStringArray(j["entrypoint"]) ||
      !isStringArray(j["cmd"]) || !isStringArray(j["env"]) || !j["working_dir"].is_string()) {
    return std::nullopt;
  }
  return ImageSettings{j["digest"], j["entrypoint"], j["cmd"], j["env"], j["working_dir"]};
}

}  // namespace

std::string encodeManifest(const Manifest& m) {
  json chunks = json::array();
  for (const ChunkRef& c : m.chunks) chunks.push_back({hex(c.id), hex(c.key), c.size});
  json entries = json::array();
  for (const TreeEntry& e : m.entries) {
    switch (e.type) {
      case EntryType::kDirectory:
        entries.push_back({"d", e.path});
        break;
      case EntryType::kSymlink:
        entries.push_back({"l", e.path, e.target});
        break;
      case EntryType::kFile: {
        json extents = json::array();
        for (const Extent& x : e.extents) extents.push_back({x.chunk, x.offset, x.length});
        entries.push_back({"f", e.path, e.executable, e.size, hex(e.sha256), std::move(extents)});
        break;
      }
    }
  }
  json j = {{"format", kManifestFormat},
            {"scope", m.scope},
            {"file_bytes", m.file_bytes},
            {"chunks", std::move(chunks)},
            {"entries", std::move(entries)}};
  if (m.image) j["image"] = encodeImage(*m.image);
  return j.dump();
}

Result<Manifest> decodeManifest(std::string_view text) {
  auto corrupt = [](std::string_view why) {
    return makeError(ErrorCode::kCorrupt, "manifest is malformed: " + std::string(why));
  };
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j["format"].is_number_integer() || j["format"] != kManifestFormat) {
    return corrupt("not a format-1 manifest");
  }
  if (!j["scope"].is_string() || !j["file_bytes"].is_number_unsigned() || !j["chunks"].is_array() ||
      !j["entries"].is_array()) {
    return corrupt("missing fields");
  }
  Manifest m;
  m.scope = j["scope"];
  m.file_bytes = j["file_bytes"];
  for (const json& c : j["chunks"]) {
    ChunkRef ref;
    if (!c.is_array() || c.size() != 3 || !unhex(c[0], ref.id) || !unhex(c[1], ref.key) ||
        !c[2].is_number_unsigned() || c[2] > UINT32_MAX) {
      return corrupt("bad chunk");
    }
    ref.size = c[2];
    m.chunks.push_back(ref);
  }
  uint64_t file_bytes = 0;
  for (const json& e : j["entries"]) {
    if (!e.is_array() || e.size() < 2 || !e[0].is_string() || !e[1].is_string()) {
      return corrupt("bad entry");
    }
    TreeEntry entry;
    entry.path = e[1];
    if (!isCanonicalTreePath(entry.path)) return corrupt("non-canonical path");
    if (!m.entries.empty() && !(m.entries.back().path < entry.path)) {
      return corrupt("entries not sorted: " + entry.path);
    }
    const std::string& type = e[0].get_ref<const std::string&>();
    if (type == "d" && e.size() == 2) {
      entry.type = EntryType::kDirectory;
    } else if (type == "l" && e.size() == 3 && e[2].is_string()) {
      entry.type = EntryType::kSymlink;
      entry.target = e[2];
    } else if (type == "f" && e.size() == 6 && e[2].is_boolean() && e[3].is_number_unsigned() &&
               unhex(e[4], entry.sha256) && e[5].is_array()) {
      entry.type = EntryType::kFile;
      entry.executable = e[2];
      entry.size = e[3];
      uint64_t sum = 0;
      for (const json& x : e[5]) {
        if (!x.is_array() || x.size() != 3 || !x[0].is_number_unsigned() ||
            !x[1].is_number_unsigned() || !x[2].is_number_unsigned()) {
          return corrupt("bad extent in " + entry.path);
        }
        uint64_t chunk = x[0], offset = x[1], length = x[2];
        if (chunk >= m.chunks.size() || offset + length > m.chunks[chunk].size || length == 0) {
          return corrupt("extent outside its chunk in " + entry.path);
        }
        entry.extents.push_back({static_cast<uint32_t>(chunk), static_cast<uint32_t>(offset),
                                 static_cast<uint32_t>(length)});
        sum += length;
      }
      if (sum != entry.size) return corrupt("extents do not add up in " + entry.path);
      file_bytes += entry.size;
    } else {
      return corrupt("bad entry " + entry.path);
    }
    m.entries.push_back(std::move(entry));
  }
  if (file_bytes != m.file_bytes) return corrupt("file sizes do not add up");
  if (j.contains("image")) {
    m.image = decodeImage(j["image"]);
    if (!m.image) return corrupt("bad image settings");
  }
  return m;
}

}  // namespace hearth::codestore
