// Resolving the {FunctionName} of Lambda's API: a name, a full ARN or a partial ARN, each with an
// optional ":qualifier", plus the ?Qualifier= parameter.
//
//   my-function                                         my-function:$LATEST    my-function:1
//   123456789012:function:my-function[:qualifier]
//   arn:aws:lambda:us-east-1:123456789012:function:my-function[:qualifier]
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace hearth::control {

inline constexpr size_t kMaxFunctionNameLength = 64;
// How every kNotFound for a missing function begins ("Function not found: <name>").
inline constexpr std::string_view kFunctionNotFoundPrefix = "Function not found: ";

struct FunctionRef {
  std::string name;
  std::string qualifier;  // empty when none was given
};

// Parses `input` (already percent-decoded) for a caller in `account_id`/`region`, merging the
// ?Qualifier= parameter `query_qualifier` (empty if absent). Errors:
//   kInvalidParameter: malformed name or ARN, or two different qualifiers;
//   kNotFound: an ARN naming another account or region (it cannot exist for this caller).
Result<FunctionRef> parseFunctionRef(std::string_view input, std::string_view query_qualifier,
                                     std::string_view account_id, std::string_view region);

// The ':'-separated fields of an ARN (or any string): "a::b" gives {"a", "", "b"}.
std::vector<std::string_view> splitColons(std::string_view s);

// True for a valid bare function name: [a-zA-Z0-9-_]{1,64}.
bool isValidFunctionName(std::string_view name);

// "arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]".
std::string functionArn(std::string_view region, std::string_view account_id, std::string_view name,
                        std::string_view qualifier = {});

}  // namespace hearth::control
