// ImageReference: a function's Code.ImageUri, parsed into registry, repository, tag and digest.
//
// Grammar (the distribution project's reference grammar, with the registry required, since
// Hearth has no default registry):
//
//   uri        := registry "/" repository [ ":" tag ] [ "@" digest ]
//   registry   := host [ ":" port ]          host: DNS labels, an IPv4 address or "[" IPv6 "]";
//                                            the first component must contain '.' or ':' or be
//                                            "localhost", so that "team/app" is refused
//   repository := component ( "/" component )*   component: [a-z0-9]+ ( ( "." | "_" | "__" |
//                                                "-"+ ) [a-z0-9]+ )*; at most 255 characters
//   tag        := [A-Za-z0-9_] [A-Za-z0-9_.-]{0,127}
//   digest     := "sha256:" 64 lowercase hex digits (the only algorithm Hearth verifies)
//
// With neither tag nor digest the tag is "latest". With both, the digest decides what is
// pulled; the tag is kept for display. No scheme ("http://") is accepted.
//
// Thread-safety: pure functions and a value type.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace hearth::codestore::oci {

struct ImageReference {
  std::string registry;    // "host:port" or "host" as written ("[::1]:5000" for IPv6)
  std::string repository;  // "team/app"
  std::string tag;         // empty if pinned by digest only
  std::string digest;      // "sha256:<64 hex>" or empty

  // The canonical form "registry/repository[:tag][@digest]"; parseImageUri(str()) == *this.
  std::string str() const;

  bool operator==(const ImageReference&) const = default;
};

// Parses an ImageUri. kInvalidParameter naming what is wrong ("ImageUri '<uri>' is not valid:
// <why>").
Result<ImageReference> parseImageUri(std::string_view uri);

}  // namespace hearth::codestore::oci
