// Lambda's invocation record: the JSON document a destination receives about one asynchronous
// invocation's outcome (and what Hearth's dead-letter store keeps). Shape, as Lambda sends it:
//
//   {"version": "1.0",
//    "timestamp": "2026-12-02T10:00:00.123Z",
//    "requestContext": {"requestId": "<id>", "functionArn": "arn:...:function:f:$LATEST",
//                       "condition": "RetriesExhausted", "approximateInvokeCount": 3},
//    "requestPayload": <the event, as JSON when it parses, else as a string>,
//    "responseContext": {"statusCode": 200, "executedVersion": "$LATEST",
//                        "functionError": "Unhandled"},
//    "responsePayload": <the function's response or error, JSON when it parses>}
//
// responseContext/responsePayload are present only when the function ran. Conditions: Success,
// RetriesExhausted, EventAgeExceeded (Lambda's), and FunctionNotFound (Hearth's: the function
// was deleted while its events waited). Records larger than kMaxAsyncPayloadBytes drop their
// payloads (a "payloadsOmitted": true member says so), so a record always fits a destination.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/time_format.h"

namespace hearth::queue {

inline constexpr std::string_view kConditionSuccess = "Success";
inline constexpr std::string_view kConditionRetriesExhausted = "RetriesExhausted";
inline constexpr std::string_view kConditionEventAgeExceeded = "EventAgeExceeded";
inline constexpr std::string_view kConditionFunctionNotFound = "FunctionNotFound";

struct InvocationOutcome {
  SystemTime timestamp{};
  std::string_view request_id;
  std::string_view function_arn;
  std::string_view condition;
  uint32_t invoke_count = 0;  // attempts made
  std::string_view request_payload;
  struct Response {
    std::string_view executed_version;
    bool function_error = false;
    std::string_view payload;
  };
  std::optional<Response> response;  // the last attempt's, when the function ran
};

std::string invocationRecord(const InvocationOutcome& outcome);

}  // namespace hearth::queue
