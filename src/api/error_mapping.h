// The one table that decides what a client sees for a failure: ErrorCode → Lambda exception name,
// HTTP status and body shape (shared/refs/lambda-api.md §2), and the reply built from it.
//
// Wire shape, as botocore and the JS SDK v3 parse it:
//   HTTP/1.1 <status>
//   X-Amzn-ErrorType: <ExceptionName>
//   x-amzn-RequestId: <request id>
//   Content-Type: application/json
//   {"Type":"User","message":"..."}          ("Message" for the exceptions modeled that way;
//                                             "Type":"Service" for 5xx; TooManyRequests adds
//                                             "Reason" and a Retry-After header)
//
// Failures of the platform itself (kIo, kInternal) are logged with their detail here and reach
// the client only as "An internal error occurred." plus the request id: their messages can name
// host paths. kSandbox messages name the failing step and kStorageFull messages say that the data
// directory is full; neither holds secrets, so both are passed on.
//
// Thread-safety: pure functions, callable from any thread.
#pragma once

#include <string_view>

#include <boost/beast/http/status.hpp>

#include "common/error.h"
#include "http/message.h"

namespace hearth::api {

// How one ErrorCode is presented.
struct ErrorShape {
  std::string_view exception;  // X-Amzn-ErrorType, e.g. "ResourceNotFoundException"
  boost::beast::http::status status;
  bool capitalized_message;  // body member "Message" instead of "message"
  bool service_fault;        // "Type":"Service" (and the detail stays in our logs)
};

// The shape for `code`. Total: every ErrorCode has one.
ErrorShape errorShape(ErrorCode code);

// Seconds a throttled client is told to wait (Retry-After) on TooManyRequestsException.
inline constexpr std::string_view kRetryAfterSeconds = "1";

// The complete error reply for `e`. Logs service faults (with `request_id`) at error level.
http::Response errorResponse(const Error& e, std::string_view request_id);

}  // namespace hearth::api
