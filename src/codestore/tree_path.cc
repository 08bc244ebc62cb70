#include "codestore/tree_path.h"

#include "common/encoding.h"

namespace hearth::codestore {
namespace {

constexpr size_t kMaxPathBytes = 4096;
constexpr size_t kMaxSegmentBytes = 255;

}  // namespace

std::vector<std::string_view> pathSegments(std::string_view path) {
  std::vector<std::string_view> segments;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    segments.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return segments;
}

bool isCanonicalTreePath(std::string_view path) {
  if (path.empty() || path.size() > kMaxPathBytes || path.front() == '/') return false;
  if (path.find('\0') != std::string_view::npos) return false;
  for (std::string_view seg : pathSegments(path)) {
    if (seg.empty() || seg == "." || seg == ".." || seg.size() > kMaxSegmentBytes) return false;
  }
  return true;
}

Result<std::string> canonicalTreePath(std::string_view name, std::string_view what) {
  auto refuse = [&](std::string_view why) {
    return makeError(
        ErrorCode::kInvalidParameter,
        std::string(what) + " '" + std::string(name.substr(0, 200)) + "': " + std::string(why));
  };
  if (name.find('\0') != std::string_view::npos) return refuse("name contains NUL");
  // Manifests are JSON: a name must be text. (A zip from a non-UTF-8 system names its entries
  // in another charset; the upload is refused rather than stored under altered names.)
  if (!isValidUtf8(name)) return refuse("name is not valid UTF-8");
  if (!name.empty() && name.front() == '/') return refuse("absolute path");
  std::string out;
  for (std::string_view seg : pathSegments(name)) {
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") return refuse("path contains '..'");
    if (seg.size() > kMaxSegmentBytes) return refuse("name segment longer than 255 bytes");
    if (!out.empty()) out.push_back('/');
    out += seg;
  }
  if (out.empty()) return refuse("empty name");
  if (out.size() > kMaxPathBytes) return refuse("path longer than 4096 bytes");
  return out;
}

std::string_view parentOf(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : path.substr(0, slash);
}

}  // namespace hearth::codestore
