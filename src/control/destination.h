// Destination ARNs of asynchronous invocation, as the control plane accepts them and the poller
// delivers to them (queue::Destination):
//   arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]  another function, which gets
//       the invocation record as an asynchronous event;
//   arn:aws:sqs:<region>:<account>:<queue>  a queue of the account's built-in dead-letter store
//       (Hearth has no SQS; the SQS-shaped ARN keeps Lambda configurations working unchanged).
// Both must name the caller's own account and this deployment's region. SNS topics, EventBridge
// buses and S3 buckets are refused with a message saying what Hearth delivers to.
//
// Thread-safety: pure functions.
#pragma once

#include <string_view>

#include "common/result.h"
#include "queue/policy.h"

namespace hearth::control {

enum class DestinationUse {
  kEventInvokeConfig,  // DestinationConfig.OnSuccess / OnFailure: a function or a queue
  kDeadLetterConfig,   // a function's DeadLetterConfig.TargetArn: a queue only, as in Lambda
};

// Parses `arn` for a caller in `account_id`, in `region`. Errors: kInvalidParameter (malformed,
// another account or region, a function as a DeadLetterConfig target), kUnsupported (a service
// Hearth does not deliver to).
Result<queue::Destination> parseDestinationArn(std::string_view arn, std::string_view region,
                                               std::string_view account_id, DestinationUse use);

}  // namespace hearth::control
