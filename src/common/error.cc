#include "common/error.h"

#include <cstring>

namespace hearth {

std::string_view errorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidParameter:
      return "InvalidParameter";
    case ErrorCode::kInvalidRequestContent:
      return "InvalidRequestContent";
    case ErrorCode::kInvalidZipFile:
      return "InvalidZipFile";
    case ErrorCode::kNotFound:
      return "NotFound";
    case ErrorCode::kConflict:
      return "Conflict";
    case ErrorCode::kPreconditionFailed:
      return "PreconditionFailed";
    case ErrorCode::kRequestTooLarge:
      return "RequestTooLarge";
    case ErrorCode::kEntityTooLarge:
      return "EntityTooLarge";
    case ErrorCode::kUnsupportedMediaType:
      return "UnsupportedMediaType";
    case ErrorCode::kTooManyRequests:
      return "TooManyRequests";
    case ErrorCode::kUnrecognizedClient:
      return "UnrecognizedClient";
    case ErrorCode::kInvalidSignature:
      return "InvalidSignature";
    case ErrorCode::kCodeStorageExceeded:
      return "CodeStorageExceeded";
    case ErrorCode::kUnknownOperation:
      return "UnknownOperation";
    case ErrorCode::kUnsupported:
      return "Unsupported";
    case ErrorCode::kIo:
      return "Io";
    case ErrorCode::kStorageFull:
      return "StorageFull";
    case ErrorCode::kCorrupt:
      return "Corrupt";
    case ErrorCode::kSandbox:
      return "Sandbox";
    case ErrorCode::kInternal:
      return "Internal";
  }
  return "Unknown";
}

std::string Error::toString() const {
  std::string out(errorCodeName(code));
  out += ": ";
  out += message;
  return out;
}

Error errnoError(std::string_view what, int err, ErrorCode code) {
  std::string msg(what);
  msg += ": ";
  msg += std::strerror(err);
  msg += " (errno ";
  msg += std::to_string(err);
  msg += ")";
  return Error{code, std::move(msg), {}};
}

}  // namespace hearth
