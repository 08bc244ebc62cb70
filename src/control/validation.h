// Lambda's range checks for numeric request fields, worded as Lambda words them:
//   1 validation error detected: Value '0' at 'batchSize' failed to satisfy constraint: Member
//   must have value greater than or equal to 1
// Shared by every control-plane service so that each limit is reported the same way.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace hearth::control {

inline Error rangeError(std::string_view field, int64_t value, std::string_view constraint) {
  return makeError(ErrorCode::kInvalidParameter,
                   "1 validation error detected: Value '" + std::to_string(value) + "' at '" +
                       std::string(field) + "' failed to satisfy constraint: Member must have " +
                       std::string(constraint));
}

// `value` when lo <= value <= hi; otherwise kInvalidParameter naming the bound it breaks.
inline Result<int64_t> inRange(std::string_view field, int64_t value, int64_t lo, int64_t hi) {
  if (value < lo) {
    return rangeError(field, value, "value greater than or equal to " + std::to_string(lo));
  }
  if (value > hi) {
    return rangeError(field, value, "value less than or equal to " + std::to_string(hi));
  }
  return value;
}

}  // namespace hearth::control
