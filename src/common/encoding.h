// Text encodings used on the API: hex, base64, URI percent-encoding (RFC 3986), and UTF-8
// validation.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace hearth {

std::string hexEncode(std::string_view bytes);
inline std::string hexEncode(std::span<const unsigned char> bytes) {
  return hexEncode(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

// Lowercase or uppercase hex digits, two per byte; nullopt on anything else.
std::optional<std::string> hexDecode(std::string_view text);

std::string base64Encode(std::string_view bytes);
inline std::string base64Encode(std::span<const unsigned char> bytes) {
  return base64Encode(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}
// Standard alphabet with padding; whitespace is not allowed. nullopt on malformed input.
std::optional<std::string> base64Decode(std::string_view text);

// Percent-encodes every byte except RFC 3986 unreserved characters (A-Z a-z 0-9 - . _ ~);
// '/' is kept too when keep_slash is set.
std::string uriEncode(std::string_view s, bool keep_slash);
// Decodes %XX escapes ('+' is left alone). nullopt on a malformed escape.
std::optional<std::string> uriDecode(std::string_view s);

// True if `s` is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, at most U+10FFFF),
// i.e. it can be a JSON string as it is.
bool isValidUtf8(std::string_view s);

}  // namespace hearth
