#include "control/destination.h"

#include <string>
#include <vector>

#include "control/function_name.h"

namespace hearth::control {
namespace {

constexpr std::string_view kLambdaPrefix = "arn:aws:lambda:";
constexpr std::string_view kSqsPrefix = "arn:aws:sqs:";

Error invalid(std::string_view arn, std::string_view why) {
  return makeError(ErrorCode::kInvalidParameter,
                   "The destination ARN " + std::string(arn) + " is invalid: " + std::string(why));
}

}  // namespace

Result<queue::Destination> parseDestinationArn(std::string_view arn, std::string_view region,
                                               std::string_view account_id, DestinationUse use) {
  queue::Destination d;
  d.arn = std::string(arn);
  if (arn.starts_with(kLambdaPrefix)) {
    if (use == DestinationUse::kDeadLetterConfig) {
      return invalid(arn, "a DeadLetterConfig target must be an SQS queue (arn:aws:sqs:...).");
    }
    Result<FunctionRef> ref = parseFunctionRef(arn, {}, account_id, region);
    if (!ref) {
      return invalid(arn,
                     ref.error().code == ErrorCode::kNotFound
                         ? "it must name a function of this account in " + std::string(region) + "."
                         : ref.error().message);
    }
    d.kind = queue::Destination::Kind::kFunction;
    d.function = queue::FunctionTarget{std::string(account_id), ref->name, ref->qualifier};
    return d;
  }
  if (arn.starts_with(kSqsPrefix)) {
    // arn:aws:sqs:<region>:<account>:<queue>
    std::vector<std::string_view> parts = splitColons(arn);
    if (parts.size() != 6) return invalid(arn, "expected arn:aws:sqs:<region>:<account>:<queue>.");
    if (parts[3] != region || parts[4] != account_id) {
      return invalid(arn, "it must name a queue of this account in " + std::string(region) + ".");
    }
    if (!queue::isValidQueueName(parts[5])) {
      return invalid(arn, "a queue name is 1 to 80 characters of A-Z, a-z, 0-9, - and _.");
    }
    d.kind = queue::Destination::Kind::kDeadLetterQueue;
    d.account_id = std::string(account_id);
    d.queue = std::string(parts[5]);
    return d;
  }
  if (arn.starts_with("arn:aws:sns:") || arn.starts_with("arn:aws:events:") ||
      arn.starts_with("arn:aws:s3:")) {
    return makeError(ErrorCode::kUnsupported,
                     "Destination " + std::string(arn) +
                         " is not supported: Hearth delivers to Lambda functions "
                         "(arn:aws:lambda:...) and to its built-in dead-letter store "
                         "(arn:aws:sqs:<region>:<account>:<queue>).");
  }
  return invalid(arn, "expected a Lambda function or SQS queue ARN.");
}

}  // namespace hearth::control
