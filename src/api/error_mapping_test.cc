// Every ErrorCode through errorResponse(), checked the way botocore parses it
// (shared/refs/lambda-api.md §2): the exception name from X-Amzn-ErrorType, the message from body
// "message" or else "Message", plus the modeled Type/Reason members and Retry-After.
#include "api/error_mapping.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>

namespace hearth::api {
namespace {

using boost::beast::http::status;
using nlohmann::json;

// The message as botocore's BaseJSONParser._do_error_parse reads it.
std::string botocoreMessage(const json& body) {
  if (body.contains("message")) return body["message"].get<std::string>();
  if (body.contains("Message")) return body["Message"].get<std::string>();
  return {};
}

// Every enumerator: errorCodeName() knows each one and answers "Unknown" past the last.
std::vector<ErrorCode> allCodes() {
  std::vector<ErrorCode> codes;
  // SAFETY: ErrorCode is an enum class (underlying type int), so every int is a valid value;
  // errorCodeName() answers "Unknown" for the first one past the last enumerator.
  for (int i = 0; errorCodeName(static_cast<ErrorCode>(i)) != "Unknown"; ++i) {
    codes.push_back(static_cast<ErrorCode>(i));
  }
  return codes;
}

TEST(ErrorMappingTest, EveryCodeGivesAReplyBotocoreParses) {
  const std::vector<ErrorCode> codes = allCodes();
  ASSERT_EQ(codes.size(), static_cast<size_t>(ErrorCode::kInternal) + 1);
  for (ErrorCode code : codes) {
    SCOPED_TRACE(std::string(errorCodeName(code)));
    const ErrorShape shape = errorShape(code);
    http::Response res = errorResponse(makeError(code, "detail for the client"), "req-1");

    EXPECT_EQ(res.result(), shape.status);
    EXPECT_GE(res.result_int(), 400u);
    EXPECT_EQ(res["X-Amzn-ErrorType"], shape.exception);
    EXPECT_TRUE(std::string(shape.exception).ends_with("Exception"));
    // botocore cuts the header at ':' and '#'; the name must survive that intact.
    EXPECT_EQ(std::string(shape.exception).find_first_of(":#"), std::string::npos);
    EXPECT_EQ(res["x-amzn-RequestId"], "req-1");
    EXPECT_EQ(res["Content-Type"], "application/json");

    json body = json::parse(res.body(), nullptr, false);
    ASSERT_TRUE(body.is_object()) << res.body();
    EXPECT_EQ(body["Type"], res.result_int() >= 500 ? "Service" : "User");
    // Exactly one of message/Message, the one the model names.
    EXPECT_EQ(body.contains("Message"), shape.capitalized_message);
    EXPECT_NE(body.contains("message"), shape.capitalized_message);
    const std::string message = botocoreMessage(body);
    if (shape.service_fault && code != ErrorCode::kSandbox && code != ErrorCode::kStorageFull &&
        code != ErrorCode::kCorrupt) {
      EXPECT_EQ(message.find("detail"), std::string::npos) << "platform detail leaked";
      EXPECT_NE(message.find("req-1"), std::string::npos);
    } else {
      EXPECT_EQ(message, "detail for the client");
    }
    EXPECT_EQ(body.contains("Reason"), code == ErrorCode::kTooManyRequests);
    EXPECT_EQ(res.count("Retry-After") == 1, code == ErrorCode::kTooManyRequests);
  }
}

TEST(ErrorMappingTest, NamesAndStatusesAreLambdas) {
  struct Expected {
    ErrorCode code;
    std::string_view name;
    status st;
  };
  const Expected table[] = {
      {ErrorCode::kInvalidParameter, "InvalidParameterValueException", status::bad_request},
      {ErrorCode::kInvalidRequestContent, "InvalidRequestContentException", status::bad_request},
      {ErrorCode::kInvalidZipFile, "InvalidParameterValueException", status::bad_request},
      {ErrorCode::kNotFound, "ResourceNotFoundException", status::not_found},
      {ErrorCode::kConflict, "ResourceConflictException", status::conflict},
      {ErrorCode::kPreconditionFailed, "PreconditionFailedException", status::precondition_failed},
      {ErrorCode::kRequestTooLarge, "RequestTooLargeException", status::payload_too_large},
      {ErrorCode::kEntityTooLarge, "RequestEntityTooLargeException", status::payload_too_large},
      {ErrorCode::kUnsupportedMediaType, "UnsupportedMediaTypeException",
       status::unsupported_media_type},
      {ErrorCode::kTooManyRequests, "TooManyRequestsException", status::too_many_requests},
      {ErrorCode::kUnrecognizedClient, "UnrecognizedClientException", status::forbidden},
      {ErrorCode::kInvalidSignature, "InvalidSignatureException", status::forbidden},
      {ErrorCode::kCodeStorageExceeded, "CodeStorageExceededException", status::bad_request},
      {ErrorCode::kUnknownOperation, "UnknownOperationException", status::not_found},
      {ErrorCode::kUnsupported, "InvalidParameterValueException", status::bad_request},
      {ErrorCode::kIo, "ServiceException", status::internal_server_error},
      {ErrorCode::kStorageFull, "ServiceException", status::service_unavailable},
      {ErrorCode::kSandbox, "ServiceException", status::internal_server_error},
      {ErrorCode::kCorrupt, "ServiceException", status::internal_server_error},
      {ErrorCode::kInternal, "ServiceException", status::internal_server_error},
  };
  std::set<ErrorCode> covered;
  for (const Expected& e : table) {
    SCOPED_TRACE(std::string(errorCodeName(e.code)));
    EXPECT_EQ(errorShape(e.code).exception, e.name);
    EXPECT_EQ(errorShape(e.code).status, e.st);
    covered.insert(e.code);
  }
  EXPECT_EQ(covered.size(), allCodes().size());
}

TEST(ErrorMappingTest, ThrottleCarriesReasonAndRetryAfter) {
  http::Response res = errorResponse(makeError(ErrorCode::kTooManyRequests, "Rate Exceeded.",
                                               "ReservedFunctionConcurrentInvocationLimitExceeded"),
                                     "r");
  json body = json::parse(res.body());
  EXPECT_EQ(body["Reason"], "ReservedFunctionConcurrentInvocationLimitExceeded");
  EXPECT_EQ(body["message"], "Rate Exceeded.");
  EXPECT_EQ(res["Retry-After"], kRetryAfterSeconds);

  // Without a reason the account-wide limit is named, so the member is never empty.
  json fallback = json::parse(
      errorResponse(makeError(ErrorCode::kTooManyRequests, "Rate Exceeded."), "r").body());
  EXPECT_EQ(fallback["Reason"], "ConcurrentInvocationLimitExceeded");
}

TEST(ErrorMappingTest, NonUtf8MessageBytesAreReplacedNotThrown) {
  http::Response res =
      errorResponse(makeError(ErrorCode::kInvalidParameter, "bad name '\xff\xfe'"), "r");
  json body = json::parse(res.body(), nullptr, false);
  ASSERT_TRUE(body.is_object());
  EXPECT_TRUE(body["message"].get<std::string>().starts_with("bad name '"));
}

}  // namespace
}  // namespace hearth::api
