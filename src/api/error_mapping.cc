#include "api/error_mapping.h"

#include <nlohmann/json.hpp>
#include <string>

#include "common/log.h"

namespace hearth::api {
namespace {

using boost::beast::http::status;

constexpr std::string_view kInternalMessage = "An internal error occurred.";
// A throttle without a more specific reason is the account-wide limit.
constexpr std::string_view kDefaultThrottleReason = "ConcurrentInvocationLimitExceeded";

}  // namespace

ErrorShape errorShape(ErrorCode code) {
  // No default: a new ErrorCode fails to compile (-Wswitch -Werror) until it is mapped here.
  switch (code) {
    case ErrorCode::kInvalidParameter:
      return {"InvalidParameterValueException", status::bad_request, false, false};
    case ErrorCode::kInvalidRequestContent:
      return {"InvalidRequestContentException", status::bad_request, false, false};
    // Lambda answers a zip it cannot read with InvalidParameterValueException ("Could not unzip
    // uploaded file..."), not the modeled-but-unused InvalidZipFileException.
    case ErrorCode::kInvalidZipFile:
      return {"InvalidParameterValueException", status::bad_request, false, false};
    case ErrorCode::kNotFound:
      return {"ResourceNotFoundException", status::not_found, true, false};
    case ErrorCode::kConflict:
      return {"ResourceConflictException", status::conflict, false, false};
    case ErrorCode::kPreconditionFailed:
      return {"PreconditionFailedException", status::precondition_failed, false, false};
    case ErrorCode::kRequestTooLarge:
      return {"RequestTooLargeException", status::payload_too_large, false, false};
    case ErrorCode::kEntityTooLarge:
      return {"RequestEntityTooLargeException", status::payload_too_large, false, false};
    case ErrorCode::kUnsupportedMediaType:
      return {"UnsupportedMediaTypeException", status::unsupported_media_type, false, false};
    case ErrorCode::kTooManyRequests:
      return {"TooManyRequestsException", status::too_many_requests, false, false};
    case ErrorCode::kUnrecognizedClient:
      return {"UnrecognizedClientException", status::forbidden, false, false};
    case ErrorCode::kInvalidSignature:
      return {"InvalidSignatureException", status::forbidden, false, false};
    case ErrorCode::kCodeStorageExceeded:
      return {"CodeStorageExceededException", status::bad_request, false, false};
    // Not in Lambda's model; botocore and JS v3 take the name from the header and raise a
    // generic client error carrying it.
    case ErrorCode::kUnknownOperation:
      return {"UnknownOperationException", status::not_found, false, false};
    // A well-formed request for a feature Hearth lacks: presented as Lambda presents the
    // parameters it does not accept, so every SDK already has a typed exception for it. The
    // message says what is missing.
    case ErrorCode::kUnsupported:
      return {"InvalidParameterValueException", status::bad_request, false, false};
    // Nothing was accepted; the client may retry once space is freed (botocore's standard
    // retry mode retries a 503). The message says why, and names no host path.
    case ErrorCode::kStorageFull:
      return {"ServiceException", status::service_unavailable, true, true};
    // Stored code failed its authentication: the function is not run. The message names the
    // function and the chunk, never a host path, and is shown as is.
    case ErrorCode::kCorrupt:
      return {"ServiceException", status::internal_server_error, true, true};
    case ErrorCode::kIo:
    case ErrorCode::kSandbox:
    case ErrorCode::kInternal:
      return {"ServiceException", status::internal_server_error, true, true};
  }
  return {"ServiceException", status::internal_server_error, true, true};
}

http::Response errorResponse(const Error& e, std::string_view request_id) {
  const ErrorShape shape = errorShape(e.code);
  std::string message = e.message;
  if (shape.service_fault) {
    LOG_ERROR("request {}: {}", request_id, e.toString());
    if (e.code != ErrorCode::kSandbox && e.code != ErrorCode::kStorageFull &&
        e.code != ErrorCode::kCorrupt) {
      message = std::string(kInternalMessage) + " RequestId: " + std::string(request_id);
    }
  }

  nlohmann::json body = nlohmann::json::object();
  body["Type"] = shape.service_fault ? "Service" : "User";
  body[shape.capitalized_message ? "Message" : "message"] = std::move(message);

  http::Response res{shape.status, 11};
  res.set("X-Amzn-ErrorType", shape.exception);
  res.set("x-amzn-RequestId", request_id);
  res.set(boost::beast::http::field::content_type, "application/json");
  if (e.code == ErrorCode::kTooManyRequests) {
    body["Reason"] = e.reason.empty() ? std::string(kDefaultThrottleReason) : e.reason;
    res.set(boost::beast::http::field::retry_after, kRetryAfterSeconds);
  }
  // Messages may carry client-supplied bytes that are not UTF-8; replace rather than throw.
  res.body() = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return res;
}

}  // namespace hearth::api
