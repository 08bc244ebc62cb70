// Buffer recycling for hearth-init's steady state: buffers are reused between invocations
// (no allocation per invoke), but one that grew for a large payload is given back, so a single
// 6 MB response does not stay in init's idle RSS.
#pragma once

#include <cstddef>
#include <string>

namespace hearth::init {

// Capacity a drained buffer may keep.
inline constexpr size_t kRetainBytes = 1 << 20;

// Empties `buf`, keeping its allocation only if it is at most kRetainBytes.
inline void recycle(std::string& buf) {
  if (buf.capacity() > kRetainBytes) {
    std::string().swap(buf);
  } else {
    buf.clear();
  }
}

}  // namespace hearth::init
