// The closed list of failures that cross module boundaries, and the Error value that carries one.
//
// Every expected failure in Hearth is an Error with one of these codes. The API layer turns codes
// into Lambda exception names and HTTP statuses in exactly one place (src/api/error_mapping.cc);
// nothing else decides what a client sees.
#pragma once

#include <string>
#include <string_view>

namespace hearth {

enum class ErrorCode {
  kInvalidParameter,       // a request field is out of range or malformed
  kInvalidRequestContent,  // the request body is not valid JSON / not the expected shape
  kInvalidZipFile,         // uploaded code is not a usable zip archive
  kNotFound,               // the named resource does not exist (for this account)
  kConflict,               // already exists, or an update is in progress
  kPreconditionFailed,     // RevisionId mismatch
  kRequestTooLarge,        // invoke payload over the synchronous limit
  kEntityTooLarge,         // CreateFunction / UpdateFunctionCode body over the upload limit
  kUnsupportedMediaType,   // content type we cannot accept
  kTooManyRequests,        // concurrency or capacity exhausted; Error::reason says which
  kUnrecognizedClient,     // unknown access key
  kInvalidSignature,       // SigV4 verification failed, or the request date is off
  kCodeStorageExceeded,    // account code storage quota exhausted
  kUnknownOperation,       // no route for this method and path
  kUnsupported,            // a valid request for a feature Hearth does not offer (yet)
  kIo,                     // a host I/O failure (disk, socket) we could not recover from
  kStorageFull,            // the data directory has no space left: new work is refused
  kSandbox,                // creating or running an execution environment failed
  kCorrupt,                // stored or fetched data failed its MAC, tag or digest: never used
  kInternal,               // a bug: an invariant did not hold
};

// Stable text for a code, for logs and tests ("NotFound", "Io", ...).
std::string_view errorCodeName(ErrorCode code);

struct Error {
  ErrorCode code;
  std::string message;
  // For kTooManyRequests: Lambda's Reason (e.g.
  // "ReservedFunctionConcurrentInvocationLimitExceeded").
  std::string reason;

  // Renders "Code: message" for logs.
  std::string toString() const;
};

// Shorthand constructors: Error{code, message} without naming the struct fields.
inline Error makeError(ErrorCode code, std::string message, std::string reason = {}) {
  return Error{code, std::move(message), std::move(reason)};
}

// An error for a failed syscall: "<what>: <strerror(err)> (errno <err>)", code kIo unless given.
Error errnoError(std::string_view what, int err, ErrorCode code = ErrorCode::kIo);

}  // namespace hearth
