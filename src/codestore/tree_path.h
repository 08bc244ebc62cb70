// Names inside a code tree: the one place that says what a canonical entry path is.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace hearth::codestore {

// True for "a", "a/b.c": non-empty, relative, '/'-separated segments that are neither empty,
// "." nor "..", without NUL, at most 4096 bytes with segments of at most 255.
bool isCanonicalTreePath(std::string_view path);

// The canonical form of an unpacker's name: "." and empty segments dropped. kInvalidParameter
// ("<what>: <why>") for an absolute name, a ".." segment, NUL, invalid UTF-8, over-long names, or
// nothing left.
Result<std::string> canonicalTreePath(std::string_view name, std::string_view what);

// The '/'-separated segments of `path`, empty ones included ("a//b" → "a", "", "b").
std::vector<std::string_view> pathSegments(std::string_view path);

// The directory part of a canonical path ("" for a top-level entry).
std::string_view parentOf(std::string_view path);

}  // namespace hearth::codestore
