#include "codestore/oci/image_reference.h"

#include <cstdint>
#include <string>

#include "codestore/oci/digest.h"

namespace hearth::codestore::oci {
namespace {

constexpr size_t kMaxUriBytes = 1024;
constexpr size_t kMaxRepositoryBytes = 255;
constexpr size_t kMaxTagBytes = 128;
constexpr size_t kMaxShownBytes = 256;

bool isLower(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool isAlnum(char c) { return isLower(c) || (c >= 'A' && c <= 'Z'); }
bool isDigit(char c) { return c >= '0' && c <= '9'; }

Error invalid(std::string_view uri, std::string_view why) {
  std::string shown(uri.substr(0, kMaxShownBytes));
  if (uri.size() > kMaxShownBytes) shown += "...";
  return makeError(ErrorCode::kInvalidParameter,
                   "ImageUri '" + shown + "' is not valid: " + std::string(why) + ".");
}

// A DNS name or IPv4 address: labels of letters, digits and inner hyphens, separated by dots.
bool isHostName(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  size_t start = 0;
  for (size_t i = 0; i <= host.size(); ++i) {
    if (i < host.size() && host[i] != '.') continue;
    std::string_view label = host.substr(start, i - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!isAlnum(c) && c != '-') return false;
    }
    start = i + 1;
  }
  return true;
}

// "[" hex digits, ':' and '.' "]": the shape of an IPv6 literal; the resolver judges the rest.
bool isIpv6Literal(std::string_view host) {
  if (host.size() < 4 || host.front() != '[' || host.back() != ']') return false;
  for (char c : host.substr(1, host.size() - 2)) {
    const bool hex = isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!hex && c != ':' && c != '.') return false;
  }
  return true;
}

// Validates "host[:port]"; returns why not, or an empty string.
std::string checkRegistry(std::string_view registry) {
  std::string_view host = registry;
  std::string_view port;
  if (registry.starts_with('[')) {
    const size_t close = registry.find(']');
    if (close == std::string_view::npos) return "the registry's IPv6 address lacks its ']'";
    host = registry.substr(0, close + 1);
    std::string_view rest = registry.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return "the registry's IPv6 address must be followed by :port";
      port = rest.substr(1);
      if (port.empty()) return "the registry's port is empty";
    }
    if (!isIpv6Literal(host)) return "the registry's IPv6 address is malformed";
  } else {
    const size_t colon = registry.find(':');
    if (colon != std::string_view::npos) {
      host = registry.substr(0, colon);
      port = registry.substr(colon + 1);
      if (port.empty()) return "the registry's port is empty";
    }
    if (!isHostName(host)) return "the registry host '" + std::string(host) + "' is not valid";
  }
  if (!port.empty()) {
    if (port.size() > 5) return "the registry's port is out of range";
    uint32_t value = 0;
    for (char c : port) {
      if (!isDigit(c)) return "the registry's port is not a number";
      value = value * 10 + static_cast<uint32_t>(c - '0');
    }
    if (value == 0 || value > 65535) return "the registry's port is out of range";
  }
  return {};
}

// One path component: [a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)*.
bool isComponent(std::string_view c) {
  if (c.empty() || !isLower(c.front()) || !isLower(c.back())) return false;
  for (size_t i = 0; i < c.size();) {
    if (isLower(c[i])) {
      ++i;
      continue;
    }
    // A separator run, which the checks above and below keep between two alphanumerics.
    size_t j = i;
    while (j < c.size() && !isLower(c[j])) ++j;
    std::string_view sep = c.substr(i, j - i);
    const bool dashes = sep.find_first_not_of('-') == std::string_view::npos;
    if (sep != "." && sep != "_" && sep != "__" && !dashes) return false;
    i = j;
  }
  return true;
}

bool isTag(std::string_view tag) {
  if (tag.empty() || tag.size() > kMaxTagBytes) return false;
  if (!isAlnum(tag.front()) && tag.front() != '_') return false;
  for (char c : tag) {
    if (!isAlnum(c) && c != '_' && c != '.' && c != '-') return false;
  }
  return true;
}

// The first path component names a registry if it looks like a host, as Docker decides.
bool looksLikeRegistry(std::string_view first) {
  return first.find_first_of(".:[") != std::string_view::npos || first == "localhost";
}

}  // namespace

std::string ImageReference::str() const {
  std::string out = registry + "/" + repository;
  if (!tag.empty()) out += ":" + tag;
  if (!digest.empty()) out += "@" + digest;
  return out;
}

Result<ImageReference> parseImageUri(std::string_view uri) {
  if (uri.empty()) return invalid(uri, "it is empty");
  if (uri.size() > kMaxUriBytes) {
    return invalid(uri, "it is longer than " + std::to_string(kMaxUriBytes) + " characters");
  }
  for (char c : uri) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return invalid(uri, "it contains a space or control character");
  }
  if (uri.find("://") != std::string_view::npos) {
    return invalid(uri, "write registry/repository[:tag][@digest], without a scheme");
  }

  ImageReference ref;
  std::string_view name = uri;
  if (const size_t at = uri.find('@'); at != std::string_view::npos) {
    ref.digest = std::string(uri.substr(at + 1));
    name = uri.substr(0, at);
    if (!isSha256Digest(ref.digest)) {
      return invalid(uri, "the digest must be sha256: followed by 64 lowercase hex digits");
    }
  }

  const size_t slash = name.find('/');
  if (slash == std::string_view::npos || !looksLikeRegistry(name.substr(0, slash))) {
    return invalid(uri,
                   "it must start with a registry host, as in "
                   "registry.example.com:5000/team/app:latest");
  }
  ref.registry = std::string(name.substr(0, slash));
  if (std::string why = checkRegistry(ref.registry); !why.empty()) return invalid(uri, why);

  std::string_view path = name.substr(slash + 1);
  if (const size_t colon = path.rfind(':'); colon != std::string_view::npos) {
    ref.tag = std::string(path.substr(colon + 1));
    path = path.substr(0, colon);
    if (!isTag(ref.tag)) {
      return invalid(uri,
                     "the tag must be 1 to 128 letters, digits, '_', '.' or '-', not starting "
                     "with '.' or '-'");
    }
  }
  if (path.empty()) return invalid(uri, "the repository is empty");
  if (path.size() > kMaxRepositoryBytes) {
    return invalid(uri, "the repository is longer than 255 characters");
  }
  size_t start = 0;
  for (size_t i = 0; i <= path.size(); ++i) {
    if (i < path.size() && path[i] != '/') continue;
    if (!isComponent(path.substr(start, i - start))) {
      return invalid(uri,
                     "the repository must be '/'-separated components of lowercase letters and "
                     "digits, joined by '.', '_', '__' or dashes");
    }
    start = i + 1;
  }
  ref.repository = std::string(path);
  if (ref.tag.empty() && ref.digest.empty()) ref.tag = "latest";
  return ref;
}

}  // namespace hearth::codestore::oci
